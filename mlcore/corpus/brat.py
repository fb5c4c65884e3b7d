"""brat standoff: a folder (or ``.zip``) of ``NAME.txt`` / ``NAME.ann`` pairs plus ``annotation.conf``.

Reading is streaming (one document at a time, sorted by path) and keeps what
the files say: ``.txt`` is decoded as UTF-8 with no newline translation, so a CR
of CRLF counts as one character exactly as brat's offsets do, and ids (``T1``,
``R3``, ``A2``, ``#1``) are kept. brat gives equivalence lines (``*\\tOR T1 T2``)
no id; they get ``*1``, ``*2`` ... in file order and are written back as ``*``.

Strictness (see :mod:`mlcore.corpus.errors`): Chia's known quirks are tolerated
and reported as :class:`ReadIssue` into ``issues``; a real error raises
:class:`CorpusFormatError` unless ``strict=False``, which skips the bad line (or
the whole document, for undecodable text) and reports it instead.

Tolerated quirks:
- a line that does not start with ``ID<TAB>`` right after a ``T`` line is the
  rest of that T's text field when joining it makes the field match the text at
  the offsets ("repaired"), otherwise a stray line ("skipped");
- a T text field that disagrees with the text at its offsets: the offsets are
  the truth and are kept ("repaired"); whitespace differences (CR, line breaks,
  runs of blanks) do not count as disagreement;
- relations, events, groups, attributes, notes and normalizations naming an unknown id
  ("skipped");
- a document whose whole text is ``NA`` gets no sentences ("skipped");
- a ``.txt`` without ``.ann`` is read unannotated ("repaired").
Blank ``.ann`` lines, empty files and the trailing tab brat itself writes after
relation arguments are normal and not reported.
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import CorpusFormatError, IssueSink, ReadIssue
from .model import (
    Attribute,
    Document,
    Entity,
    EntityType,
    Event,
    EventType,
    Fragment,
    Group,
    Normalization,
    Note,
    Relation,
    RelationType,
    Schema,
)
from .splitting import split_lines

NAME_PATTERN = re.compile(r"(NCT\d+)_(inc|exc)")
SECTIONS = {"inc": "inclusion", "exc": "exclusion"}
_RECORD = re.compile(r"([^\t\s]+)\t(.*)")
_FRAGMENT = re.compile(r"(\d+) (\d+)")
_BRAT_ID = {kind: re.compile(re.escape(kind) + r"\d+") for kind in ("T", "R", "E", "A", "N", "#")}
CONF_FILES = ("annotation.conf", "visual.conf", "kb_shortcuts.conf")


def metadata_from_name(name: str) -> dict:
    """Chia-style names ``NCT00050349_exc`` give ``{"nct_id": ..., "section": "exclusion"}``."""
    match = NAME_PATTERN.fullmatch(name)
    if not match:
        return {}
    return {"nct_id": match.group(1), "section": SECTIONS[match.group(2)]}


# --- sources: a folder or a zip -------------------------------------------------------


@dataclass
class _Pair:
    key: str  # path without suffix, relative to the corpus root
    txt: str | None = None
    ann: str | None = None

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name


class _Source:
    """Files of a brat corpus by relative POSIX path, from a folder or a zip archive."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise CorpusFormatError(str(self.path), None, "no such file or folder")
        self.is_zip = self.path.is_file()
        if self.is_zip:
            if not zipfile.is_zipfile(self.path):
                raise CorpusFormatError(str(self.path), None, "not a folder or a .zip archive")
            with zipfile.ZipFile(self.path) as archive:
                self.names = [i.filename for i in archive.infolist() if not i.is_dir()]
            for name in self.names:
                _check_member(str(self.path), name)
        else:
            self.names = sorted(
                p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
            )
        self.names = [n for n in self.names if not _is_junk(n)]

    def label(self, name: str) -> str:
        return f"{self.path}!{name}" if self.is_zip else str(self.path / name)

    def pairs(self) -> list[_Pair]:
        pairs: dict[str, _Pair] = {}
        for name in self.names:
            stem, dot, suffix = name.rpartition(".")
            if dot and suffix in ("txt", "ann"):
                setattr(pairs.setdefault(stem, _Pair(stem)), suffix, name)
        return [pairs[k] for k in sorted(pairs)]

    def open_reader(self):
        if not self.is_zip:
            return lambda name: (self.path / name).read_bytes(), None
        archive = zipfile.ZipFile(self.path)
        return archive.read, archive


def _check_member(archive: str, name: str) -> None:
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"[A-Za-z]:", posix) or ".." in posix.split("/"):
        raise CorpusFormatError(archive, None, f"unsafe member path in archive: {name!r}")


def _is_junk(name: str) -> bool:
    """macOS/hidden files that archivers add (``__MACOSX/``, ``._x.txt``, ``.DS_Store``)."""
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CorpusFormatError(file, line, f"not UTF-8 (byte {exc.start})") from None


# --- reading -----------------------------------------------------------------------------


def read_brat(path: str | Path, *, issues: list[ReadIssue] | None = None,
              strict: bool = True) -> Iterator[Document]:
    """Documents of a brat folder or ``.zip``, one at a time, sorted by relative path.

    The folder listing (and, for a zip, the check that no member path is absolute
    or climbs out with ``..``) happens at call time; each document is read when
    the iterator reaches it.
    """
    source = _Source(path)
    sink = IssueSink(issues, strict)
    pairs = source.pairs()
    _check_unique_names(source, pairs)
    return _iter_documents(source, pairs, sink, _original_names(source))


def _check_unique_names(source: _Source, pairs: list[_Pair]) -> None:
    seen: dict[str, str] = {}
    for pair in pairs:
        if pair.name in seen:
            raise CorpusFormatError(
                source.label(pair.key), None,
                f"two documents named {pair.name!r} (also {source.label(seen[pair.name])})",
            )
        seen[pair.name] = pair.key


def _iter_documents(source: _Source, pairs: list[_Pair], sink: IssueSink,
                    names: dict[str, str]) -> Iterator[Document]:
    read, archive = source.open_reader()
    try:
        for pair in pairs:
            document = _read_pair(source, pair, read, sink)
            if document is not None:
                if names:
                    _restore_names(document, names)
                yield document
    finally:
        if archive is not None:
            archive.close()


def _read_pair(source: _Source, pair: _Pair, read, sink: IssueSink) -> Document | None:
    if pair.txt is None:
        sink.error(source.label(pair.ann), None, "annotation file without its .txt")
        return None
    txt_file = source.label(pair.txt)
    try:
        text = _decode(read(pair.txt), txt_file)
        ann_text = ""
        if pair.ann is None:
            sink.quirk(txt_file, None, "no .ann file: read as unannotated", "repaired")
        else:
            ann_text = _decode(read(pair.ann), source.label(pair.ann))
    except CorpusFormatError as exc:
        sink.error(exc.file, exc.line, exc.reason)
        return None
    document = Document(name=pair.name, text=text, metadata=metadata_from_name(pair.name))
    if text.strip() == "NA":
        sink.quirk(txt_file, 1, "document text is just 'NA': no sentences", "skipped")
    else:
        document.sentences = split_lines(text)
    if pair.ann is not None:
        AnnParser(document, source.label(pair.ann), sink).parse(ann_text)
    return document


@dataclass
class _Record:
    id: str
    body: str
    line: int
    extra: list[tuple[int, str]] = field(default_factory=list)  # following non-record lines


def _norm(text: str) -> str:
    return " ".join(text.split())


class AnnParser:
    """Fills a document's annotations from the text of its ``.ann`` file."""

    def __init__(self, document: Document, file: str, sink: IssueSink):
        self.document, self.file, self.sink = document, file, sink
        self.ids: set[str] = set()
        self.groups = 0

    def parse(self, ann_text: str) -> None:
        records = self._records(ann_text)
        for record in records:
            if record.id.startswith("T"):
                self._entity(record)
        entity_ids = set(self.ids)
        event_records = [r for r in records if r.id.startswith("E")]
        event_ids = {r.id for r in event_records if _BRAT_ID["E"].fullmatch(r.id)}
        for record in event_records:
            self._event(record, entity_ids, event_ids)
        event_ids = self._drop_dangling_events(entity_ids)
        ends = entity_ids | event_ids
        for record in records:
            kind = record.id[0]
            if kind == "R":
                self._relation(record, ends)
            elif kind == "*":
                self._group(record, entity_ids)
        targets = ends | {r.id for r in self.document.relations}
        for record in records:
            kind = record.id[0]
            if kind in "AM":
                self._attribute(record, targets)
            elif kind == "#":
                self._note(record, targets)
            elif kind == "N":
                self._normalization(record, ends)
            elif kind not in "TRE*":
                self._stray(record.extra)
                self.sink.error(self.file, record.line, f"unknown annotation id {record.id!r}")

    def _records(self, ann_text: str) -> list[_Record]:
        records: list[_Record] = []
        orphans: list[tuple[int, str]] = []
        for number, line in enumerate(ann_text.split("\n"), start=1):
            line = line.rstrip("\r")
            match = _RECORD.match(line)
            if match:
                records.append(_Record(match.group(1), match.group(2), number))
            elif not line.strip():
                continue
            elif records:
                records[-1].extra.append((number, line))
            else:
                orphans.append((number, line))
        self._stray(orphans)
        return records

    def _stray(self, lines: list[tuple[int, str]]) -> None:
        for number, line in lines:
            self.sink.quirk(self.file, number, f"stray line {line[:40]!r}", "skipped")

    def _claim(self, record: _Record, id_: str) -> bool:
        if id_ in self.ids:
            self.sink.error(self.file, record.line, f"duplicate id {id_!r}")
            return False
        self.ids.add(id_)
        return True

    def _entity(self, record: _Record) -> None:
        label, _, text_field = record.body.partition("\t")
        type_, _, offsets = label.partition(" ")
        fragments = self._fragments(record, offsets)
        if not type_ or fragments is None or not self._claim(record, record.id):
            self._stray(record.extra)
            return
        entity = Entity(record.id, type_, fragments)
        self.document.entities.append(entity)
        self._check_text_field(record, entity, text_field)

    def _fragments(self, record: _Record, offsets: str) -> tuple[Fragment, ...] | None:
        fragments = []
        size = len(self.document.text)
        for piece in offsets.split(";"):
            match = _FRAGMENT.fullmatch(piece.strip())
            if not match:
                self.sink.error(self.file, record.line, f"{record.id}: bad offsets {offsets!r}")
                return None
            start, end = int(match.group(1)), int(match.group(2))
            if start == end:
                self.sink.error(self.file, record.line,
                                f"{record.id}: zero-width span {start}-{end} (brat needs at least one "
                                "character)")
                return None
            if not 0 <= start < end <= size:
                self.sink.error(
                    self.file, record.line,
                    f"{record.id}: offsets {start}-{end} out of range (text has {size} characters)",
                )
                return None
            fragments.append(Fragment(start, end))
        return tuple(fragments)

    def _check_text_field(self, record: _Record, entity: Entity, text_field: str) -> None:
        """Join continuation lines that complete the text field; report what disagrees."""
        expected = _norm(entity.text(self.document.text))
        joined, used = text_field, 0
        for count in range(1, len(record.extra) + 1):
            candidate = "\n".join([text_field] + [line for _, line in record.extra[:count]])
            if expected.startswith(_norm(candidate)):
                joined, used = candidate, count
        for number, _ in record.extra[:used]:
            self.sink.quirk(self.file, number, f"{record.id}: text field continued on this line (joined)",
                            "repaired")
        self._stray(record.extra[used:])
        if _norm(joined) != expected:
            self.sink.quirk(
                self.file, record.line,
                f"{record.id}: text field {_norm(joined)[:40]!r} disagrees with the text at its "
                f"offsets {expected[:40]!r}; offsets kept",
                "repaired",
            )

    def _relation(self, record: _Record, ends: set[str]) -> None:
        self._stray(record.extra)
        label = record.body.partition("\t")[0].split()
        args = [a.partition(":") for a in label[1:]]
        if len(label) != 3 or any(not sep or not role or not value for role, sep, value in args):
            self.sink.error(self.file, record.line, f"{record.id}: bad relation {record.body!r}")
            return
        if [role for role, _, _ in args] == ["Arg2", "Arg1"]:  # named roles: order does not matter
            args.reverse()
        (head_role, _, head), (tail_role, _, tail) = args
        unknown = [i for i in (head, tail) if i not in ends]
        if unknown:
            self.sink.quirk(self.file, record.line, f"{record.id}: unknown id {unknown[0]!r}", "skipped")
            return
        if self._claim(record, record.id):
            self.document.relations.append(
                Relation(record.id, label[0], head, tail, head_role, tail_role))

    def _event(self, record: _Record, entity_ids: set[str], event_ids: set[str]) -> None:
        """``E1<TAB>Type:T3 Theme:T1 Cause:E2``: the trigger, then role:id arguments."""
        self._stray(record.extra)
        parts = [p.partition(":") for p in record.body.partition("\t")[0].split()]
        if (not _BRAT_ID["E"].fullmatch(record.id) or not parts
                or any(not sep or not role or not value for role, sep, value in parts)):
            self.sink.error(self.file, record.line, f"{record.id}: bad event {record.body!r}")
            return
        (type_, _, trigger), arguments = parts[0], [(role, value) for role, _, value in parts[1:]]
        if trigger not in entity_ids:
            self.sink.quirk(self.file, record.line, f"{record.id}: unknown trigger {trigger!r}", "skipped")
            return
        unknown = [v for _, v in arguments if v not in entity_ids and v not in event_ids]
        if unknown:
            self.sink.quirk(self.file, record.line, f"{record.id}: unknown id {unknown[0]!r}", "skipped")
            return
        if self._claim(record, record.id):
            self.document.events.append(Event(record.id, type_, trigger, tuple(arguments)))

    def _drop_dangling_events(self, entity_ids: set[str]) -> set[str]:
        """Events whose argument is an event that was skipped go too; the ids that remain."""
        while True:
            kept = {e.id for e in self.document.events}
            dangling = [e for e in self.document.events
                        if any(v not in entity_ids and v not in kept for _, v in e.arguments)]
            if not dangling:
                return kept
            for event in dangling:
                self.sink.quirk(self.file, None, f"{event.id}: argument of a skipped event", "skipped")
                self.document.events.remove(event)

    def _normalization(self, record: _Record, targets: set[str]) -> None:
        """``N1<TAB>Reference T1 UMLS:C0011849<TAB>diabetes`` (the text is optional)."""
        self._stray(record.extra)
        label, _, text = record.body.partition("\t")
        parts = label.split()
        resource, sep, reference = parts[2].partition(":") if len(parts) == 3 else ("", "", "")
        if not _BRAT_ID["N"].fullmatch(record.id) or not (resource and sep and reference):
            self.sink.error(self.file, record.line, f"{record.id}: bad normalization {record.body!r}")
            return
        if parts[1] not in targets:
            self.sink.quirk(self.file, record.line, f"{record.id}: unknown id {parts[1]!r}", "skipped")
            return
        if self._claim(record, record.id):
            self.document.normalizations.append(
                Normalization(record.id, parts[1], resource, reference, text.strip(), parts[0]))

    def _group(self, record: _Record, entity_ids: set[str]) -> None:
        self._stray(record.extra)
        label = record.body.partition("\t")[0].split()
        if len(label) < 3:
            self.sink.error(self.file, record.line, f"bad equivalence line {record.body!r}")
            return
        unknown = [i for i in label[1:] if i not in entity_ids]
        if unknown:
            self.sink.quirk(self.file, record.line, f"group: unknown id {unknown[0]!r}", "skipped")
            return
        self.groups += 1
        group_id = f"*{self.groups}" if record.id == "*" else record.id
        if self._claim(record, group_id):
            self.document.groups.append(Group(group_id, label[0], tuple(label[1:])))

    def _attribute(self, record: _Record, targets: set[str]) -> None:
        self._stray(record.extra)
        label = record.body.partition("\t")[0].split()
        if len(label) not in (2, 3):
            self.sink.error(self.file, record.line, f"{record.id}: bad attribute {record.body!r}")
            return
        if label[1] not in targets:
            self.sink.quirk(self.file, record.line, f"{record.id}: unknown id {label[1]!r}", "skipped")
            return
        if self._claim(record, record.id):
            value = label[2] if len(label) == 3 else None
            self.document.attributes.append(Attribute(record.id, label[0], label[1], value))

    def _note(self, record: _Record, targets: set[str]) -> None:
        label, _, text = record.body.partition("\t")
        parts = label.split()
        if len(parts) != 2:
            self.sink.error(self.file, record.line, f"{record.id}: bad note {record.body!r}")
            return
        if parts[1] not in targets:
            self.sink.quirk(self.file, record.line, f"{record.id}: unknown id {parts[1]!r}", "skipped")
            return
        if self._claim(record, record.id):
            text = "\n".join([text] + [line for _, line in record.extra])
            self.document.notes.append(Note(record.id, parts[0], parts[1], text))


# --- annotation.conf ---------------------------------------------------------------------

# Eligo's type names may hold what brat cannot (``Temporal constraint``): the writer puts a
# brat-safe name in the files and one comment line per renamed name in annotation.conf,
# ``# eligo-name<TAB>Temporal_constraint<TAB>Temporal constraint``, which brat ignores and
# the reader uses to give every name back as it was.
NAME_COMMENT = "# eligo-name"
_UNSAFE = re.compile(r"[^\w.\-]")
_SEPARATOR = re.compile(r"-+")  # brat's menu separator lines


def _conf_name(source: _Source) -> str | None:
    """The corpus's annotation.conf: the shallowest one."""
    confs = [n for n in source.names if PurePosixPath(n).name == "annotation.conf"]
    return min(confs, key=lambda n: (n.count("/"), n)) if confs else None


def _original_names(source: _Source) -> dict[str, str]:
    conf = _conf_name(source)
    if conf is None:
        return {}
    read, archive = source.open_reader()
    try:
        return parse_name_comments(_decode(read(conf), source.label(conf)))
    finally:
        if archive is not None:
            archive.close()


def parse_name_comments(text: str) -> dict[str, str]:
    """brat-safe name -> original name, from the writer's ``# eligo-name`` comment lines."""
    names = {}
    for line in text.splitlines():
        parts = line.rstrip("\r").split("\t")
        if len(parts) == 3 and parts[0] == NAME_COMMENT and parts[1] and parts[2]:
            names[parts[1]] = parts[2]
    return names


def _restore_names(document: Document, names: dict[str, str]) -> None:
    def name(value):
        return names.get(value, value) if value is not None else None

    for entity in document.entities:
        entity.type = name(entity.type)
    for relation in document.relations:
        relation.type, relation.head_role, relation.tail_role = (
            name(relation.type), name(relation.head_role), name(relation.tail_role))
    for event in document.events:
        event.type = name(event.type)
        event.arguments = tuple((name(role), value) for role, value in event.arguments)
    for group in document.groups:
        group.type = name(group.type)
    for attribute in document.attributes:
        attribute.name, attribute.value = name(attribute.name), name(attribute.value)
    for note in document.notes:
        note.type = name(note.type)
    for normalization in document.normalizations:
        normalization.type = name(normalization.type)


def read_brat_schema(path: str | Path) -> Schema | None:
    """The schema declared by the corpus's ``annotation.conf`` (shallowest one), or None.

    Colors come from ``visual.conf`` (``bgColor``) and keys from ``kb_shortcuts.conf``
    next to it, when present.
    """
    source = _Source(path)
    conf = _conf_name(source)
    if conf is None:
        return None
    folder = conf[: -len("annotation.conf")]
    read, archive = source.open_reader()
    try:
        text = _decode(read(conf), source.label(conf))
        schema = parse_annotation_conf(text, file=source.label(conf))
        colors = _read_optional(source, read, folder + "visual.conf", _parse_visual_conf)
        keys = _read_optional(source, read, folder + "kb_shortcuts.conf", _parse_shortcuts)
    finally:
        if archive is not None:
            archive.close()
    names = parse_name_comments(text)
    for entity_type in schema.entity_types:
        safe = next((k for k, v in names.items() if v == entity_type.name), entity_type.name)
        entity_type.color = colors.get(safe, "")
        entity_type.key = keys.get(safe, "")
    return schema


def _read_optional(source: _Source, read, name: str, parse) -> dict:
    if name not in source.names:
        return {}
    return parse(_decode(read(name), source.label(name)))


def _conf_sections(text: str) -> dict[str, list[tuple[int, str]]]:
    """Lines by section, with their line numbers; ``[spans]`` is brat's alias of ``[entities]``."""
    sections: dict[str, list[tuple[int, str]]] = {}
    current = sections.setdefault("", [])
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        header = re.fullmatch(r"\s*\[(\w+)\]\s*", line)
        if header:
            name = "entities" if header.group(1) == "spans" else header.group(1)
            current = sections.setdefault(name, [])
        else:
            current.append((number, line))
    return sections


def _macros(sections: dict[str, list[tuple[int, str]]]) -> dict[str, str]:
    """brat macro lines such as ``<POG>=Person|Organization|GPE``, from any section."""
    macros = {}
    for lines in sections.values():
        for _, line in lines:
            match = re.fullmatch(r"\s*(<[^>\s]+>)\s*=\s*(.*?)\s*", line)
            if match:
                macros[match.group(1)] = match.group(2)
    return macros


def _unique(values) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def parse_annotation_conf(text: str, file: str = "annotation.conf") -> Schema:
    """Entity, relation, event, attribute and group (``symmetric-transitive`` relation) types.

    Abstract categories (``!Life``), special lines (``<OVERLAP>``) and macros are not types
    and are left out (macros are expanded). What real configurations do is accepted: a type
    named twice in one argument list counts once, a relation type declared on several lines
    allows the arguments of all of them, role names other than ``Arg1``/``Arg2`` are kept,
    and ``[spans]`` is read as ``[entities]``. Names renamed by Eligo's writer come back
    under their original names (see ``NAME_COMMENT``).
    """
    sections = _conf_sections(text)
    macros = _macros(sections)
    schema = Schema()
    for _, line in sections.get("entities", []):
        name = line.split()[0]
        if not name.startswith(("!", "<")) and not _SEPARATOR.fullmatch(name) \
                and name not in schema.entity_names:
            schema.entity_types.append(EntityType(name))
    for number, line in sections.get("relations", []):
        _conf_relation(schema, line, macros, file, number)
    for _, line in sections.get("events", []):
        _conf_event(schema, line, macros)
    for _, line in sections.get("attributes", []):
        _conf_attribute(schema, line, macros)
    names = parse_name_comments(text)
    return _schema_with_names(schema, names) if names else schema


def _conf_args(rest: str, macros: dict[str, str]) -> list[tuple[str, str]]:
    args = []
    for part in re.split(r",\s*", rest.strip()):
        key, sep, value = part.strip().partition(":")
        if sep:
            for macro, expansion in macros.items():
                value = value.replace(macro, expansion)
            args.append((key.strip(), value.strip()))
    return args


def _conf_relation(schema: Schema, line: str, macros, file: str, number: int) -> None:
    name, rest = (re.split(r"\s+", line.strip(), maxsplit=1) + [""])[:2]
    if name.startswith(("<", "!")):
        return
    args = _conf_args(rest, macros)
    options = dict((k, v) for k, v in args if k.startswith("<"))
    roles = [(k, v) for k, v in args if not k.startswith("<")]
    if "symmetric-transitive" in options.get("<REL-TYPE>", ""):
        if name not in schema.group_types:
            schema.group_types.append(name)
        return
    if len(roles) != 2:
        raise CorpusFormatError(file, number, f"relation {name!r} needs two arguments, "
                                              f"found {len(roles)}")
    (head_role, heads), (tail_role, tails) = roles
    heads, tails = _conf_types(heads), _conf_types(tails)
    known = next((t for t in schema.relation_types if t.name == name), None)
    if known is None:
        schema.relation_types.append(RelationType(name, heads, tails, head_role, tail_role))
    else:
        known.heads = _union(known.heads, heads)
        known.tails = _union(known.tails, tails)


def _union(known: tuple[str, ...], more: tuple[str, ...]) -> tuple[str, ...]:
    """Allowed types of two declarations together; empty (any type) wins."""
    return () if not known or not more else _unique(known + more)


def _conf_event(schema: Schema, line: str, macros) -> None:
    name, rest = (re.split(r"\s+", line.strip(), maxsplit=1) + [""])[:2]
    if name.startswith(("<", "!")) or _SEPARATOR.fullmatch(name) or name in schema.event_names:
        return
    arguments = tuple((role, _unique(v for v in value.split("|") if v))
                      for role, value in _conf_args(rest, macros) if not role.startswith("<"))
    schema.event_types.append(EventType(name, arguments))


def _conf_attribute(schema: Schema, line: str, macros) -> None:
    name, rest = (re.split(r"\s+", line.strip(), maxsplit=1) + [""])[:2]
    if name.startswith(("!", "<")) or name in schema.attribute_types:
        return
    schema.attribute_types.append(name)
    args = dict(_conf_args(rest, macros))
    if args.get("Arg"):
        schema.attribute_args[name] = args["Arg"]
    values = _unique(v for v in args.get("Value", "").split("|") if v)
    if values:
        schema.attribute_values[name] = list(values)


def _conf_types(value: str) -> tuple[str, ...]:
    if not value or value.startswith("<"):
        return ()
    return _unique(v for v in value.split("|") if v)


def _schema_with_names(schema: Schema, names: dict[str, str]) -> Schema:
    def name(value: str) -> str:
        return names.get(value, value)

    return Schema(
        entity_types=[EntityType(name(t.name), t.color, t.key) for t in schema.entity_types],
        relation_types=[RelationType(name(t.name), tuple(map(name, t.heads)), tuple(map(name, t.tails)),
                                     name(t.head_role), name(t.tail_role))
                        for t in schema.relation_types],
        attribute_types=[name(a) for a in schema.attribute_types],
        group_types=[name(g) for g in schema.group_types],
        event_types=[EventType(name(t.name), tuple((name(role), tuple(map(name, types)))
                                                   for role, types in t.arguments))
                     for t in schema.event_types],
        attribute_values={name(a): [name(v) for v in values] for a, values in schema.attribute_values.items()},
        attribute_args={name(a): arg for a, arg in schema.attribute_args.items()},
    )


def _parse_visual_conf(text: str) -> dict[str, str]:
    colors = {}
    for _, line in _conf_sections(text).get("drawing", []):
        parts = line.split(None, 1)
        match = re.search(r"bgColor:([^,\s]+)", parts[1]) if len(parts) == 2 else None
        if match:
            colors[parts[0]] = match.group(1)
    return colors


def _parse_shortcuts(text: str) -> dict[str, str]:
    keys = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            keys[parts[1]] = parts[0]
    return keys


class BratNames:
    """Original name -> brat-safe name, for writing: characters brat cannot carry in a type
    name (anything but letters, digits, ``_``, ``-`` and ``.``) become ``_``, and a clash
    with another name gets ``_2``, ``_3``...; names that are already safe stay as they are."""

    def __init__(self, reserved=()):
        self.safe: dict[str, str] = {}
        self.taken: set[str] = set()
        for name in reserved:
            if not _UNSAFE.search(name) and name:
                self.safe[name] = name
                self.taken.add(name)

    def __call__(self, name: str) -> str:
        if name not in self.safe:
            base = _UNSAFE.sub("_", name) or "_"
            candidate, n = base, 1
            while candidate in self.taken:
                n += 1
                candidate = f"{base}_{n}"
            self.safe[name] = candidate
            self.taken.add(candidate)
        return self.safe[name]

    def renamed(self) -> list[tuple[str, str]]:
        return [(safe, name) for name, safe in self.safe.items() if safe != name]


def schema_names(schema: Schema) -> list[str]:
    """Every name of a schema that goes into brat's files."""
    names = [*schema.entity_names, *schema.relation_names, *schema.group_types, *schema.event_names,
             *schema.attribute_types]
    names += [role for t in schema.relation_types for role in (t.head_role, t.tail_role)]
    names += [role for t in schema.event_types for role, _ in t.arguments]
    names += [v for values in schema.attribute_values.values() for v in values]
    return names


def render_annotation_conf(schema: Schema, names: BratNames | None = None) -> str:
    """brat ``annotation.conf`` text for ``schema`` (overlapping entities allowed).

    Event types are declared in ``[events]`` only (their triggers are entities of that
    type in Eligo); renamed names are listed in ``# eligo-name`` comments first.
    """
    names = names or BratNames(schema_names(schema))

    def types(values) -> str:
        return "|".join(v if v.startswith("<") else names(v) for v in values) or "<ANY>"

    events = set(schema.event_names)
    lines = ["[entities]", *(names(t) for t in schema.entity_names if t not in events), "", "[relations]"]
    for relation in schema.relation_types:
        lines.append(f"{names(relation.name)}\t{names(relation.head_role)}:{types(relation.heads)}, "
                     f"{names(relation.tail_role)}:{types(relation.tails)}")
    for group in schema.group_types:
        lines.append(f"{names(group)}\tArg1:<ANY>, Arg2:<ANY>, <REL-TYPE>:symmetric-transitive")
    lines += ["<OVERLAP>\tArg1:<ANY>, Arg2:<ANY>, <OVL-TYPE>:<ANY>", "", "[events]"]
    for event in schema.event_types:
        arguments = ", ".join(f"{_role_name(names, role)}:{types(values)}" for role, values in event.arguments)
        lines.append(f"{names(event.name)}\t{arguments}".rstrip())
    lines += ["", "[attributes]"]
    for name in schema.attribute_types:
        spec = f"{names(name)}\tArg:{schema.attribute_args.get(name) or '<ENTITY>'}"
        values = schema.attribute_values.get(name)
        if values:
            spec += ", Value:" + "|".join(names(v) for v in values)
        lines.append(spec)
    comments = [f"{NAME_COMMENT}\t{safe}\t{name}" for safe, name in names.renamed()]
    if comments:
        comments = ["# Eligo's names that brat cannot carry, as brat-safe name and original name:",
                    *comments, ""]
    return "\n".join(comments + lines) + "\n"


def _role_name(names: BratNames, role: str) -> str:
    """An event role keeps its quantifier (``Theme+``) outside the renaming."""
    match = re.fullmatch(r"(.*?)([?*+]|\{\d+(?:-\d+)?\})?", role)
    return names(match.group(1)) + (match.group(2) or "")


def render_visual_conf(schema: Schema, names: BratNames | None = None) -> str:
    names = names or BratNames(schema_names(schema))
    lines = ["[labels]", *(f"{safe} | {name}" for safe, name in names.renamed()), "", "[drawing]"]
    lines += [f"{names(t.name)}\tbgColor:{t.color}" for t in schema.entity_types if t.color]
    return "\n".join(lines) + "\n"


def render_shortcuts(schema: Schema, names: BratNames | None = None) -> str:
    names = names or BratNames(schema_names(schema))
    return "".join(f"{t.key}\t{names(t.name)}\n" for t in schema.entity_types if t.key)


# --- writing -----------------------------------------------------------------------------


def write_brat(documents: Iterable[Document], out_dir: str | Path, *,
               schema: Schema | None = None) -> int:
    """Write ``NAME.txt`` (byte-identical text), ``NAME.ann`` and the conf files; return the count.

    The written ``annotation.conf`` declares ``schema`` plus every type the
    documents use that it lacks, so brat shows no undeclared-type errors. Ids that
    are not brat ids of the right kind (``T7``, ``R2``, ``E1``, ``A1``, ``N1``, ``#3``) are
    renumbered, with references following. Names brat cannot carry are written
    brat-safe, and the mapping back goes into annotation.conf (see ``BratNames``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    declared = _copy_schema(schema or Schema())
    brat_names = BratNames(schema_names(declared))
    names: set[str] = set()
    count = 0
    for document in documents:
        _check_name(document.name, names)
        with open(out / f"{document.name}.txt", "w", encoding="utf-8", newline="") as handle:
            handle.write(document.text)
        with open(out / f"{document.name}.ann", "w", encoding="utf-8", newline="") as handle:
            handle.write(render_ann(document, brat_names))
        declared.extend_from_documents([document])
        count += 1
    conf = render_annotation_conf(declared, brat_names)
    (out / "annotation.conf").write_text(conf, encoding="utf-8")
    if any(t.color for t in declared.entity_types) or brat_names.renamed():
        (out / "visual.conf").write_text(render_visual_conf(declared, brat_names), encoding="utf-8")
    if any(t.key for t in declared.entity_types):
        (out / "kb_shortcuts.conf").write_text(render_shortcuts(declared, brat_names), encoding="utf-8")
    return count


def _copy_schema(schema: Schema) -> Schema:
    return Schema(
        entity_types=[EntityType(t.name, t.color, t.key) for t in schema.entity_types],
        relation_types=list(schema.relation_types),
        attribute_types=list(schema.attribute_types),
        group_types=list(schema.group_types),
        event_types=list(schema.event_types),
        attribute_values={k: list(v) for k, v in schema.attribute_values.items()},
        attribute_args=dict(schema.attribute_args),
    )


def _check_name(name: str, seen: set[str]) -> None:
    if not name or PurePosixPath(name).name != name or "\\" in name or name in (".", ".."):
        raise ValueError(f"document name {name!r} is not usable as a file name")
    if name in seen:
        raise ValueError(f"two documents named {name!r}")
    seen.add(name)


def _brat_ids(items, kind: str) -> list[str]:
    """The brat ids to write, in order: the items' own ids unless one is not a valid, unique brat id."""
    ids = [item.id for item in items]
    if all(_BRAT_ID[kind].fullmatch(i) for i in ids) and len(set(ids)) == len(ids):
        return ids
    return [f"{kind}{n}" for n in range(1, len(ids) + 1)]


def _field(text: str) -> str:
    return re.sub(r"[\t\r\n]", " ", text)


def render_ann(document: Document, names: BratNames | None = None) -> str:
    """The ``.ann`` text of a document; T text fields are rebuilt from the offsets."""
    names = names or BratNames()
    entity_ids = {e.id: new for e, new in zip(document.entities, _brat_ids(document.entities, "T"))}
    event_ids = {e.id: new for e, new in zip(document.events, _brat_ids(document.events, "E"))}
    ends = {**entity_ids, **event_ids}
    relation_ids = {r.id: new for r, new in zip(document.relations, _brat_ids(document.relations, "R"))}
    targets = {**ends, **relation_ids}
    lines = []
    for entity in document.entities:
        offsets = ";".join(f"{f.start} {f.end}" for f in entity.fragments)
        text = _field(entity.text(document.text))
        lines.append(f"{entity_ids[entity.id]}\t{names(entity.type)} {offsets}\t{text}")
    for event in document.events:
        arguments = "".join(f" {names(role)}:{ends[value]}" for role, value in event.arguments)
        lines.append(f"{event_ids[event.id]}\t{names(event.type)}:{entity_ids[event.trigger]}{arguments}")
    for relation in document.relations:
        lines.append(f"{relation_ids[relation.id]}\t{names(relation.type)} "
                     f"{names(relation.head_role)}:{ends[relation.head]} "
                     f"{names(relation.tail_role)}:{ends[relation.tail]}")
    for group in document.groups:
        lines.append(f"*\t{names(group.type)} " + " ".join(entity_ids[m] for m in group.members))
    for attribute, new_id in zip(document.attributes, _brat_ids(document.attributes, "A")):
        value = f" {names(attribute.value)}" if attribute.value is not None else ""
        lines.append(f"{new_id}\t{names(attribute.name)} {targets[attribute.target]}{value}")
    for norm, new_id in zip(document.normalizations, _brat_ids(document.normalizations, "N")):
        lines.append(f"{new_id}\t{names(norm.type)} {ends[norm.target]} "
                     f"{_token(norm.resource)}:{_token(norm.reference)}\t{_field(norm.text)}")
    for note, new_id in zip(document.notes, _brat_ids(document.notes, "#")):
        lines.append(f"{new_id}\t{names(note.type)} {targets[note.target]}\t{_field(note.text)}")
    return "".join(line + "\n" for line in lines)


def _token(value: str) -> str:
    """A normalization's resource or reference, which brat separates by blanks and ``:``."""
    return re.sub(r"\s", "_", value)
