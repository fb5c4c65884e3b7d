"""Errors and tolerated quirks reported by the corpus readers.

Two kinds of trouble, kept apart on purpose:

- A *quirk* is something a reader knows how to handle without guessing at
  annotations (a stray line in a ``.ann`` file, a brat text field that disagrees
  with its offsets, a relation pointing at an id that does not exist). It is
  recorded as a :class:`ReadIssue` with what was done (``"skipped"`` or
  ``"repaired"``) and never stops reading.
- A *real error* means the file cannot be trusted (offsets out of range, a
  garbled annotation line, bytes that are not UTF-8). Readers raise
  :class:`CorpusFormatError` naming the file and line, unless called with
  ``strict=False``, in which case the offending line or document is skipped and
  reported as a ``ReadIssue`` instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["skipped", "repaired"]


@dataclass(frozen=True)
class ReadIssue:
    """One tolerated irregularity: where it was, what it was, what the reader did."""

    file: str
    line: int | None
    reason: str
    action: Action

    def __str__(self) -> str:
        return f"{_where(self.file, self.line)}: {self.reason} ({self.action})"


class CorpusFormatError(ValueError):
    """A file that cannot be read; ``str()`` is ``FILE:LINE: REASON`` (``FILE: REASON`` without a line)."""

    def __init__(self, file: str, line: int | None, reason: str):
        self.file = str(file)
        self.line = line
        self.reason = reason
        super().__init__(f"{_where(self.file, line)}: {reason}")


def _where(file: str, line: int | None) -> str:
    return f"{file}:{line}" if line is not None else f"{file}"


class IssueSink:
    """Collects quirks and decides what a real error does (raise, or skip and report).

    Readers call :meth:`quirk` for tolerated irregularities and :meth:`error` for
    real ones; ``error`` raises in strict mode and otherwise records the issue as
    ``skipped`` and returns, so the reader can drop the line or document.
    """

    def __init__(self, issues: list[ReadIssue] | None, strict: bool):
        self.issues = issues if issues is not None else []
        self.strict = strict

    def quirk(self, file: str, line: int | None, reason: str, action: Action) -> None:
        self.issues.append(ReadIssue(str(file), line, reason, action))

    def error(self, file: str, line: int | None, reason: str) -> None:
        if self.strict:
            raise CorpusFormatError(file, line, reason)
        self.issues.append(ReadIssue(str(file), line, reason, "skipped"))
