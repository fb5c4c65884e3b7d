"""Sentence (criterion) splitting into ``[start, end)`` document offsets.

Three splitters, from strictest to loosest:

- :func:`split_lines` for line-structured text (Chia, brat, one criterion per
  line): every non-blank line is one sentence, trimmed of surrounding whitespace
  (a CR of CRLF included).
- :func:`split_prose` for running text: pysbd's rule-based splitter; line breaks
  count as plain spaces, so a hard-wrapped paragraph is split by sentences, not lines.
- :func:`split_criteria` for a protocol's criteria list: bullets (``-``, ``*``,
  ``•``, ``1.``, ``a)``, ``(ii)`` ...) start a criterion and are left out of its
  span; a line that neither starts with a bullet nor continues the line above
  (see :func:`_continues`) is prose and goes through :func:`split_prose`;
  a sub-heading line (:func:`is_subheading`) is no criterion at all
  (:func:`criteria_and_subheadings` returns where they are).
"""
from __future__ import annotations

import re
from functools import lru_cache

from .model import Sentence

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
BULLET = re.compile(
    r"[ \t]*(?:[-*+\u2022\u2023\u25e6\u25aa\u25cf\u00b7\u2013\u2014\u2043]"
    r"|\(?(?:\d{1,3}|[a-zA-Z]|[ivxlIVXL]{1,5})[.)])[ \t]+"
)
_SENTENCE_END = re.compile(r"[.:;!?)\]]\s*$")


def line_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of every line in ``text[start:end]``, line break excluded."""
    end = len(text) if end is None else end
    spans = []
    for match in _LINE.finditer(text, start, end):
        line = match.group().rstrip("\r\n")
        if match.start() == match.end():
            break
        spans.append((match.start(), match.start() + len(line)))
    return spans


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` past surrounding whitespace (CR included)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_lines(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """One sentence per non-blank line, trimmed."""
    sentences = []
    for line_start, line_end in line_spans(text, start, end):
        s, e = trim(text, line_start, line_end)
        if s < e:
            sentences.append(Sentence(s, e))
    return sentences


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split_prose(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """Sentences of running text in ``text[start:end]`` (document offsets), line breaks read as spaces."""
    end = len(text) if end is None else end
    start, end = trim(text, start, end)
    if start == end:
        return []
    chunk = text[start:end].replace("\r", " ").replace("\n", " ")
    sentences, cursor = [], 0
    for piece in _segmenter().segment(chunk):
        piece = piece.strip()
        if not piece:
            continue
        found = chunk.find(piece, cursor)
        if found < 0:  # pysbd changed the text: keep the rest as one sentence
            break
        sentences.append(Sentence(start + found, start + found + len(piece)))
        cursor = found + len(piece)
    rest = trim(text, start + cursor, end)
    if rest[0] < rest[1]:
        sentences.append(Sentence(*rest))
    return sentences


def bullet_length(line: str) -> int:
    """Length of the bullet marker (with its trailing blanks) opening ``line``, 0 if none."""
    match = BULLET.match(line)
    return match.end() if match else 0


def _continues(previous: str, line: str, previous_bulleted: bool) -> bool:
    """Whether ``line`` (unbulleted) carries on the criterion of the line just above it.

    True for an indented line under a bullet, and for a line that starts in
    lower case after a line that does not end like a sentence (hard wrapping).
    """
    if previous_bulleted and line[:1] in (" ", "\t"):
        return True
    stripped = line.lstrip()
    return bool(stripped[:1].islower()) and not _SENTENCE_END.search(previous)


_EMPTY_BULLET = re.compile(r"[ \t]*(?:[-*+\u2022]|\(?\d{1,3}[.)])[ \t]*")
_GROUP_LABEL = re.compile(
    r"(?:part|cohort|arm|group|stage|phase|step|stratum|population|panel)\s+[\w.-]{1,8}"
    r"(?:\s*[-\u2013:(].{0,60})?",
    re.IGNORECASE,
)


def is_subheading(line: str) -> bool:
    """Whether an unbulleted line labels the criteria below it rather than being one.

    A short line (at most 10 words, 80 characters) ending with a colon, such as
    ``For parent participants:`` or ``Radiological Inclusion Criteria:``, or a
    group label such as ``Part A``, ``Cohort 2 (expansion)``, ``Arm B:``.
    """
    cleaned = line.strip().strip("#").strip().strip("*_").strip()
    if not cleaned or bullet_length(line):
        return False
    if cleaned.endswith(":") and len(cleaned) <= 80 and len(cleaned.split()) <= 10:
        return True
    return bool(_GROUP_LABEL.fullmatch(cleaned))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def criteria_and_subheadings(text: str, start: int = 0,
                             end: int | None = None) -> tuple[list[Sentence], list[Sentence]]:
    """The criteria of ``text[start:end]`` and the spans of its sub-heading lines (no criteria).

    Besides the rules of :func:`split_criteria`'s module docstring: a line that is
    only a bullet marker is ignored; after a blank line, an unbulleted line
    indented at least as far as the text of the bulleted item above continues
    that item (a markdown list item of several paragraphs, e.g. a footnote).
    """
    blocks: list[list] = []  # [start, end, bulleted, content column]
    subheadings: list[Sentence] = []
    previous = None
    for line_start, line_end in line_spans(text, start, end):
        line = text[line_start:line_end]
        if not line.strip() or _EMPTY_BULLET.fullmatch(line):
            previous = None
            continue
        marker = bullet_length(line)
        if marker:
            blocks.append([line_start + marker, line_end, True, marker])
        elif previous is not None and _continues(previous, line, blocks[-1][2]):
            blocks[-1][1] = line_end
        elif previous is None and blocks and blocks[-1][2] and 0 < blocks[-1][3] <= _indent(line):
            blocks[-1][1] = line_end
        elif is_subheading(line):
            subheadings.append(Sentence(*trim(text, line_start, line_end)))
            blocks.append([line_start, line_start, False, 0])  # an empty block: nothing continues it
            previous = None
            continue
        else:
            blocks.append([line_start, line_end, False, 0])
        previous = line
    sentences = []
    for block_start, block_end, bulleted, _ in blocks:
        if bulleted:
            s, e = trim(text, block_start, block_end)
            if s < e:
                sentences.append(Sentence(s, e))
        else:
            sentences.extend(split_prose(text, block_start, block_end))
    return sentences, subheadings


def split_criteria(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """Criteria of a bulleted/numbered list or of prose paragraphs in ``text[start:end]``."""
    return criteria_and_subheadings(text, start, end)[0]
