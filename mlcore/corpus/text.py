"""Plain text input: criteria lists and protocols' eligibility sections.

A ``.txt`` file is read in one of two ways:

- **protocol section**: when a line is a heading such as ``Inclusion Criteria:``
  or ``EXCLUSION CRITERIA`` (case-insensitive, colon optional, markdown ``**``/``#``
  ignored), the text under the inclusion headings becomes document
  ``<name>_inc`` and the text under the exclusion headings ``<name>_exc``.
  Sentences come from :func:`~mlcore.corpus.splitting.split_criteria`: a bullet
  (``-``, ``*``, ``•``, ``1.``, ``a)`` ...) starts a criterion and is not part of
  its span; unbulleted paragraphs are split into sentences by pysbd. Text
  before the first heading is reported and left out.
- **one criterion per line** otherwise: one document per file, named after the
  file, every non-blank line a sentence; if some lines start with bullets the
  criteria splitter is used instead, so the bullets stay out of the spans.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .errors import CorpusFormatError, IssueSink, ReadIssue
from .model import Document
from .splitting import bullet_length, line_spans, split_criteria, split_lines

_HEADING = re.compile(
    r"(?:(?:key|main|general|additional|other)\s+)?(inclusion|exclusion)"
    r"(?:(?:\s+criteri(?:a|on))?(?:\s*\([^)]{0,40}\))?\s*:?"
    r"|\s+criteri(?:a|on)\b[^:]{0,40}:)",
    re.IGNORECASE,
)
_BLANK_LINES = re.compile(r"(?:[ \t]*\r?\n)+")
SUFFIX = {"inclusion": "inc", "exclusion": "exc"}


def heading_kind(line: str) -> str | None:
    """``"inclusion"`` / ``"exclusion"`` when ``line`` is a criteria heading, else None."""
    cleaned = line.strip().lstrip("#").strip().strip("*_").strip()
    match = _HEADING.fullmatch(cleaned)
    return match.group(1).lower() if match else None


def find_sections(text: str) -> tuple[list[tuple[str, int, int]], tuple[int, int]]:
    """Criteria sections ``(kind, body_start, body_end)`` and the span of text before the first heading."""
    headings = []
    for start, end in line_spans(text):
        kind = heading_kind(text[start:end])
        if kind:
            headings.append((kind, start, end))
    sections = []
    for index, (kind, _, heading_end) in enumerate(headings):
        body_end = headings[index + 1][1] if index + 1 < len(headings) else len(text)
        sections.append((kind, heading_end, body_end))
    preamble = (0, headings[0][1] if headings else len(text))
    return sections, preamble


def _clean_body(body: str) -> str:
    """Drop the rest of the heading line and blank lines at both ends; keep indentation."""
    body = body.split("\n", 1)[1] if "\n" in body else ""
    match = _BLANK_LINES.match(body)
    return body[match.end():].rstrip() if match else body.rstrip()


def criteria_documents(text: str, name: str, metadata: dict, *, file: str = "",
                       sink: IssueSink | None = None) -> list[Document]:
    """``<name>_inc`` / ``<name>_exc`` from a text with criteria headings; [] when it has none."""
    sections, preamble = find_sections(text)
    if not sections:
        return []
    if sink is not None and text[preamble[0]:preamble[1]].strip():
        sink.quirk(file, 1, "text before the first criteria heading left out", "skipped")
    bodies: dict[str, list[str]] = {}
    for kind, start, end in sections:
        body = _clean_body(text[start:end])
        if body:
            bodies.setdefault(kind, []).append(body)
    documents = []
    for kind in ("inclusion", "exclusion"):
        if kind in bodies:
            body = "\n".join(bodies[kind])
            documents.append(Document(
                name=f"{name}_{SUFFIX[kind]}", text=body, sentences=split_criteria(body),
                metadata={**metadata, "section": kind},
            ))
    return documents


def line_document(text: str, name: str, metadata: dict | None = None) -> Document:
    """One document, a sentence per line (criteria splitter when lines carry bullets)."""
    bulleted = any(bullet_length(text[s:e]) for s, e in line_spans(text))
    sentences = split_criteria(text) if bulleted else split_lines(text)
    return Document(name=name, text=text, sentences=sentences, metadata=dict(metadata or {}))


def read_text(path: str | Path, *, issues: list[ReadIssue] | None = None,
              strict: bool = True) -> Iterator[Document]:
    """Documents from a ``.txt`` file or a folder of them (sorted by path, read lazily)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if not p.name.startswith("."))
    elif path.is_file():
        files = [path]
    else:
        raise CorpusFormatError(str(path), None, "no such file or folder")
    return _iter_text(files, IssueSink(issues, strict))


def _iter_text(files: list[Path], sink: IssueSink) -> Iterator[Document]:
    for file in files:
        data = file.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            sink.error(str(file), data.count(b"\n", 0, exc.start) + 1, f"not UTF-8 (byte {exc.start})")
            continue
        documents = criteria_documents(text, file.stem, {}, file=str(file), sink=sink)
        yield from documents or [line_document(text, file.stem)]
