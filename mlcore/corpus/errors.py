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

import re
from dataclasses import dataclass
from typing import Literal

Action = Literal["skipped", "repaired"]

# What a quirk dropped or changed, for import reports grouped by kind: (kind, what its reason
# says, a label for people). A reader may also name the kind itself (``IssueSink.quirk(kind=)``).
KINDS = (
    ("event", re.compile(r"^event .* not supported"), "events dropped"),
    ("normalization", re.compile(r"^normalization .* not supported"), "normalizations dropped"),
    ("unknown_id", re.compile(r"unknown id"), "annotations naming an unknown id dropped"),
    ("stray_line", re.compile(r"^stray line"), "stray lines dropped"),
    ("text_field_joined", re.compile(r"text field continued"), "text fields joined across lines"),
    ("text_field_mismatch", re.compile(r"disagrees with the text"),
     "text fields that disagree with their offsets (offsets kept)"),
    ("undeclared_type", re.compile(r"is not declared: added"), "undeclared types added to the schema"),
    ("no_annotations_file", re.compile(r"no \.ann file"), "texts without a .ann file"),
    ("na_document", re.compile(r"'NA'"), "documents whose text is just NA (no sentences)"),
    ("preamble", re.compile(r"before the first criteria heading"), "text before the criteria headings left out"),
)
KIND_LABELS = {kind: label for kind, _, label in KINDS} | {
    "error_skipped": "errors skipped (lenient reading)", "other": "other quirks",
}


def issue_kind(reason: str) -> str:
    """The kind of a quirk from its reason (``other`` when no rule matches)."""
    return next((kind for kind, pattern, _ in KINDS if pattern.search(reason)), "other")


@dataclass(frozen=True)
class ReadIssue:
    """One tolerated irregularity: where it was, what it was, what the reader did.

    ``kind`` groups issues in reports (see :data:`KINDS`); derived from ``reason`` when empty.
    """

    file: str
    line: int | None
    reason: str
    action: Action
    kind: str = ""

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", issue_kind(self.reason))

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

    def quirk(self, file: str, line: int | None, reason: str, action: Action, *, kind: str = "") -> None:
        self.issues.append(ReadIssue(str(file), line, reason, action, kind))

    def error(self, file: str, line: int | None, reason: str) -> None:
        if self.strict:
            raise CorpusFormatError(file, line, reason)
        self.issues.append(ReadIssue(str(file), line, reason, "skipped", "error_skipped"))
