"""Document names: the one rule for what a name may be, and a file-safe name for writers.

A document name becomes a file name in brat exports (``NAME.txt`` / ``NAME.ann``) and a
line in CoNLL exports, so it must be one plain file name on one line. Decided (see
docs/formats.md, "Document names"): importers and renames *refuse* a bad name with a clear
reason rather than silently changing it, because the name is how users find a document and
match it with their files. A name already stored before the rule existed is written under
:func:`document_file_name` so one bad name never breaks a whole export.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_NAME_LENGTH = 255  # Document.name's column


def document_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a document name (``"is empty"``...), or None when it is fine.

    Refused: empty or blank names, names longer than :data:`MAX_NAME_LENGTH`, path
    separators (``/``, ``\\``), ``.``/``..`` and other names starting with a dot (hidden
    files, which brat readers skip), and control characters (NUL, newline, tab...) or line
    and paragraph separators.
    """
    if not isinstance(name, str) or not name.strip():
        return "is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name:
        return "contains a path separator (/ or \\)"
    if name.startswith("."):
        return "starts with a dot (., .. and hidden file names are not allowed)"
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        return f"contains the control character U+{ord(bad):04X}"
    return None


def document_file_name(name: str) -> str:
    """``name`` when it is valid; otherwise a valid, stable stand-in with a short hash of it.

    Bad characters become ``_`` and leading dots are dropped; the hash keeps two different
    bad names from colliding with each other or with a valid name.
    """
    if document_name_problem(name) is None:
        return name
    cleaned = re.sub(r"[/\\]", "_", "".join(
        "_" if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in str(name)))
    cleaned = cleaned.lstrip(".").strip()[:MAX_NAME_LENGTH - 20] or "document"
    digest = hashlib.sha1(str(name).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{cleaned}-renamed-{digest}"
