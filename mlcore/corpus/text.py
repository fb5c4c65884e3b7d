"""Plain text input: criteria lists and protocols' eligibility sections.

A ``.txt`` file is read in one of two ways:

- **protocol section**: when a line is a heading such as ``Inclusion Criteria:``
  or ``EXCLUSION CRITERIA`` (case-insensitive, colon optional, markdown ``**``/``#``
  ignored), or opens with one followed by a criterion (``Exclusion
  Criteria:Patients with ...``), the text under the inclusion headings becomes
  document ``<name>_inc`` and the text under the exclusion headings ``<name>_exc``.
  Sub-headings (``For parent participants:``, ``Radiological Inclusion
  Criteria:``, ``Part A``) stay in the text but are not sentences; they are
  listed in ``metadata["subheadings"]``.
  Sentences come from :func:`~mlcore.corpus.splitting.split_criteria`: a bullet
  (``-``, ``*``, ``•``, ``1.``, ``a)`` ...) starts a criterion and is not part of
  its span; unbulleted paragraphs are split into sentences by pysbd. Text
  before the first heading is reported and left out.
- **one criterion per line** otherwise: one document per file, named after the
  file (``read_text(..., name=)`` gives the name a user knows when the file was saved
  under another, e.g. an upload), every non-blank line a sentence; if some lines start with bullets the
  criteria splitter is used instead, so the bullets stay out of the spans.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .errors import CorpusFormatError, IssueSink, ReadIssue
from .model import Document
from .splitting import bullet_length, criteria_and_subheadings, line_spans, split_criteria, split_lines

_PREFIX = r"(?:(?:key|main|general|additional|other)\s+)?"
_HEADING = re.compile(
    _PREFIX + r"(inclusion|exclusion)"
    r"(?:(?:\s+criteri(?:a|on))?(?:\s*\([^)]{0,40}\))?\s*:?"
    r"|\s+criteri(?:a|on)\b[^:]{0,40}:)",
    re.IGNORECASE,
)
# "Radiological Inclusion Criteria:": a heading whose words say more than its kind
_QUALIFIED_HEADING = re.compile(
    r"(?:[\w/&,.'()-]+\s+){1,4}?(inclusion|exclusion)\s+criteri(?:a|on)\s*:", re.IGNORECASE)
# "Exclusion Criteria:Patients with ...": the first criterion on the heading's line
_INLINE_HEADING = re.compile(
    r"[ \t]*(?:#+[ \t]*)?(?:[*_]{1,3}(?!\s))?" + _PREFIX + r"(inclusion|exclusion)\s+criteri(?:a|on)"
    r"(?:\s*\([^)]{0,40}\))?[*_]{0,3}[ \t]*:[*_]{0,3}[ \t]*(?=\S)",
    re.IGNORECASE,
)
_GENERAL_HEADING = re.compile(r"eligibility(?:\s+criteria)?\s*:?", re.IGNORECASE)
_BLANK_LINES = re.compile(r"(?:[ \t]*\r?\n)+")
SUFFIX = {"inclusion": "inc", "exclusion": "exc"}


def _cleaned(line: str) -> str:
    return line.strip().lstrip("#").strip().strip("*_").strip()


def heading_kind(line: str) -> str | None:
    """``"inclusion"`` / ``"exclusion"`` when ``line`` is a criteria heading, else None.

    The heading may be the whole line (``Inclusion Criteria:``, ``**Key
    Exclusion Criteria**``, ``Radiological Inclusion Criteria:``) or open it,
    followed by the first criterion (``Exclusion Criteria:Patients with ...``).
    """
    match = _heading(line)
    return match[0] if match else None


def _heading(line: str) -> tuple[str, int, bool] | None:
    """``(kind, where the body starts in line, whether the line stays in the body)`` of a heading."""
    cleaned = _cleaned(line)
    match = _HEADING.fullmatch(cleaned) or _QUALIFIED_HEADING.fullmatch(cleaned)
    if match:
        kept = match.re is _QUALIFIED_HEADING or bool(re.search(r"criteri(?:a|on)\b\s*[^\s:(]", cleaned, re.I))
        return match.group(1).lower(), 0 if kept else len(line), kept
    match = _INLINE_HEADING.match(line)
    if match:
        return match.group(1).lower(), match.end(), False
    return None


def find_sections(text: str) -> tuple[list[tuple[str, int, int]], tuple[int, int]]:
    """Criteria sections ``(kind, body_start, body_end)`` and the span of text before the first heading.

    A general heading (``Eligibility Criteria:``) opens an inclusion section when
    the text also has an exclusion heading, and is otherwise ignored.
    """
    headings, general = [], []
    for start, end in line_spans(text):
        found = _heading(text[start:end])
        if found:
            kind, body_offset, _ = found
            headings.append((kind, start, start + body_offset))
        elif _GENERAL_HEADING.fullmatch(_cleaned(text[start:end])):
            general.append(("inclusion", start, end))
    if general and any(kind == "exclusion" for kind, _, _ in headings):
        headings = sorted(headings + general[:1], key=lambda heading: heading[1])
    sections = []
    for index, (kind, _, body_start) in enumerate(headings):
        body_end = headings[index + 1][1] if index + 1 < len(headings) else len(text)
        sections.append((kind, body_start, body_end))
    preamble = (0, headings[0][1] if headings else len(text))
    return sections, preamble


def _clean_body(body: str) -> str:
    """Drop blank lines at both ends of a section body; keep indentation."""
    match = _BLANK_LINES.match(body)
    return body[match.end():].rstrip() if match else body.rstrip()


def criteria_document(name: str, text: str, metadata: dict) -> Document:
    """A document of criteria; its sub-heading lines stay in the text, out of the sentences.

    They are listed in ``metadata["subheadings"]`` as ``{"start", "end", "text"}``.
    """
    sentences, subheadings = criteria_and_subheadings(text)
    metadata = dict(metadata)
    if subheadings:
        metadata["subheadings"] = [{"start": s.start, "end": s.end, "text": text[s.start:s.end]}
                                   for s in subheadings]
    return Document(name=name, text=text, sentences=sentences, metadata=metadata)


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
    return [criteria_document(f"{name}_{SUFFIX[kind]}", "\n".join(bodies[kind]),
                              {**metadata, "section": kind})
            for kind in ("inclusion", "exclusion") if kind in bodies]


def line_document(text: str, name: str, metadata: dict | None = None) -> Document:
    """One document, a sentence per line (criteria splitter when lines carry bullets)."""
    bulleted = any(bullet_length(text[s:e]) for s, e in line_spans(text))
    sentences = split_criteria(text) if bulleted else split_lines(text)
    return Document(name=name, text=text, sentences=sentences, metadata=dict(metadata or {}))


def read_text(path: str | Path, *, issues: list[ReadIssue] | None = None,
              strict: bool = True, name: str | None = None) -> Iterator[Document]:
    """Documents from a ``.txt`` file or a folder of them (sorted by path, read lazily).

    Documents are named after their file's stem; ``name`` replaces a single file's own
    name (an upload stored under a random one keeps the name its user gave it).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if not p.name.startswith("."))
        stems = [file.stem for file in files]
    elif path.is_file():
        files, stems = [path], [Path(name).stem if name else path.stem]
    else:
        raise CorpusFormatError(str(path), None, "no such file or folder")
    return _iter_text(files, stems, IssueSink(issues, strict))


def _iter_text(files: list[Path], stems: list[str], sink: IssueSink) -> Iterator[Document]:
    for file, stem in zip(files, stems):
        data = file.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            sink.error(str(file), data.count(b"\n", 0, exc.start) + 1, f"not UTF-8 (byte {exc.start})")
            continue
        documents = criteria_documents(text, stem, {}, file=str(file), sink=sink)
        yield from documents or [line_document(text, stem)]
