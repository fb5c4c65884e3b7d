"""ClinicalTrials.gov API v2 study JSON: eligibility criteria to ``NCTxxxx_inc`` / ``NCTxxxx_exc``.

Accepted shapes: one study object, a list of studies, or ``{"studies": [...]}``
(a page of ``/api/v2/studies``), in a ``.json`` file or a folder of them.
``protocolSection.eligibilityModule.eligibilityCriteria`` is CommonMark: its
backslash escapes (``BMI \\> 35``, ``\\[ie, ...\\]``, ``vital signs\\*``) are
undone first, so the stored text reads as ClinicalTrials.gov shows it. It is then
split as in :mod:`mlcore.corpus.text`; criteria without any inclusion/exclusion
heading become a single document named after the NCT id. Metadata: ``nct_id``,
``section`` (``inclusion`` / ``exclusion``), ``brief_title`` and, where there are
any, ``subheadings``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from .errors import CorpusFormatError, IssueSink, ReadIssue
from .model import Document
from .text import criteria_document, criteria_documents

# CommonMark: a backslash before ASCII punctuation makes it literal
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescape_markdown(text: str) -> str:
    """``text`` without CommonMark backslash escapes (``\\>`` becomes ``>``, ``\\\\`` becomes ``\\``)."""
    return _ESCAPE.sub(r"\1", text)


def _get(study: dict, dotted: str):
    value = study
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(dotted)
        value = value[key]
    return value


def studies_in(data) -> list:
    """The study objects of any accepted top-level shape."""
    if isinstance(data, dict) and isinstance(data.get("studies"), list):
        return data["studies"]
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and "protocolSection" in data:
        return [data]
    raise ValueError('expected a study, a list of studies or {"studies": [...]}')


def study_documents(study: dict, *, file: str = "", sink: IssueSink | None = None) -> list[Document]:
    """The criteria documents of one study; ``KeyError(field)`` when a required field is missing."""
    nct_id = _get(study, "protocolSection.identificationModule.nctId")
    criteria = _get(study, "protocolSection.eligibilityModule.eligibilityCriteria")
    if not isinstance(criteria, str) or not criteria.strip():
        raise KeyError("protocolSection.eligibilityModule.eligibilityCriteria")
    criteria = unescape_markdown(criteria)
    metadata = {"nct_id": nct_id}
    title = study["protocolSection"].get("identificationModule", {}).get("briefTitle")
    if title:
        metadata["brief_title"] = title
    documents = criteria_documents(criteria, nct_id, metadata, file=file, sink=sink)
    return documents or [criteria_document(nct_id, criteria, metadata)]


def read_ctgov(path: str | Path, *, issues: list[ReadIssue] | None = None,
               strict: bool = True) -> Iterator[Document]:
    """Documents of the studies in a ``.json`` file or a folder of them (sorted, read lazily)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if not p.name.startswith("."))
    elif path.is_file():
        files = [path]
    else:
        raise CorpusFormatError(str(path), None, "no such file or folder")
    return _iter_studies(files, IssueSink(issues, strict))


def _load(file: Path):
    try:
        return studies_in(json.loads(file.read_bytes().decode("utf-8")))
    except UnicodeDecodeError:
        raise CorpusFormatError(str(file), None, "not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(str(file), exc.lineno, f"invalid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise CorpusFormatError(str(file), None, str(exc)) from None


def _iter_studies(files: list[Path], sink: IssueSink) -> Iterator[Document]:
    for file in files:
        try:
            studies = _load(file)
        except CorpusFormatError as exc:
            sink.error(exc.file, exc.line, exc.reason)
            continue
        for index, study in enumerate(studies, start=1):
            try:
                documents = study_documents(study, file=str(file), sink=sink)
            except (KeyError, TypeError, AttributeError) as exc:
                field = exc.args[0] if isinstance(exc, KeyError) else "protocolSection"
                nct = _nct_or_none(study)
                sink.error(str(file), None,
                           f"study {index}{f' ({nct})' if nct else ''}: missing or empty {field}")
                continue
            yield from documents


def _nct_or_none(study) -> str | None:
    try:
        return _get(study, "protocolSection.identificationModule.nctId")
    except KeyError:
        return None
