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
  (see :func:`_continues`) is prose and goes through :func:`split_prose`.
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


def split_criteria(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """Criteria of a bulleted/numbered list or of prose paragraphs in ``text[start:end]``."""
    blocks: list[list] = []  # [start, end, bulleted]
    previous = None
    for line_start, line_end in line_spans(text, start, end):
        line = text[line_start:line_end]
        if not line.strip():
            previous = None
            continue
        marker = bullet_length(line)
        if marker:
            blocks.append([line_start + marker, line_end, True])
        elif previous is not None and _continues(previous, line, blocks[-1][2]):
            blocks[-1][1] = line_end
        else:
            blocks.append([line_start, line_end, False])
        previous = line
    sentences = []
    for block_start, block_end, bulleted in blocks:
        if bulleted:
            s, e = trim(text, block_start, block_end)
            if s < e:
                sentences.append(Sentence(s, e))
        else:
            sentences.extend(split_prose(text, block_start, block_end))
    return sentences
