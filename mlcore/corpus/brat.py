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
- relations, groups, attributes and notes naming an unknown id ("skipped");
- events (``E``) and normalizations (``N``), which Eligo does not model ("skipped");
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
    Fragment,
    Group,
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
_BRAT_ID = {"T": re.compile(r"T\d+"), "R": re.compile(r"R\d+"), "A": re.compile(r"A\d+"),
            "#": re.compile(r"#\d+")}
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
    return _iter_documents(source, pairs, sink)


def _check_unique_names(source: _Source, pairs: list[_Pair]) -> None:
    seen: dict[str, str] = {}
    for pair in pairs:
        if pair.name in seen:
            raise CorpusFormatError(
                source.label(pair.key), None,
                f"two documents named {pair.name!r} (also {source.label(seen[pair.name])})",
            )
        seen[pair.name] = pair.key


def _iter_documents(source: _Source, pairs: list[_Pair], sink: IssueSink) -> Iterator[Document]:
    read, archive = source.open_reader()
    try:
        for pair in pairs:
            document = _read_pair(source, pair, read, sink)
            if document is not None:
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
        for record in records:
            kind = record.id[0]
            if kind == "R":
                self._relation(record, entity_ids)
            elif kind == "*":
                self._group(record, entity_ids)
        targets = entity_ids | {r.id for r in self.document.relations}
        for record in records:
            kind = record.id[0]
            if kind in "AM":
                self._attribute(record, targets)
            elif kind == "#":
                self._note(record, targets)
            elif kind in "EN":
                self._stray(record.extra)
                what = "event" if kind == "E" else "normalization"
                self.sink.quirk(self.file, record.line, f"{what} {record.id} not supported", "skipped")
            elif kind not in "TR*":
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

    def _relation(self, record: _Record, entity_ids: set[str]) -> None:
        self._stray(record.extra)
        label = record.body.partition("\t")[0].split()
        args = [a.partition(":") for a in label[1:]]
        if len(label) != 3 or any(not sep or not value for _, sep, value in args):
            self.sink.error(self.file, record.line, f"{record.id}: bad relation {record.body!r}")
            return
        if [role for role, _, _ in args] == ["Arg2", "Arg1"]:  # named roles: order does not matter
            args.reverse()
        (_, _, head), (_, _, tail) = args
        unknown = [i for i in (head, tail) if i not in entity_ids]
        if unknown:
            self.sink.quirk(self.file, record.line, f"{record.id}: unknown id {unknown[0]!r}", "skipped")
            return
        if self._claim(record, record.id):
            self.document.relations.append(Relation(record.id, label[0], head, tail))

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


def read_brat_schema(path: str | Path) -> Schema | None:
    """The schema declared by the corpus's ``annotation.conf`` (shallowest one), or None.

    Colors come from ``visual.conf`` (``bgColor``) and keys from ``kb_shortcuts.conf``
    next to it, when present.
    """
    source = _Source(path)
    confs = [n for n in source.names if PurePosixPath(n).name == "annotation.conf"]
    if not confs:
        return None
    conf = min(confs, key=lambda n: (n.count("/"), n))
    folder = conf[: -len("annotation.conf")]
    read, archive = source.open_reader()
    try:
        schema = parse_annotation_conf(_decode(read(conf), source.label(conf)))
        colors = _read_optional(source, read, folder + "visual.conf", _parse_visual_conf)
        keys = _read_optional(source, read, folder + "kb_shortcuts.conf", _parse_shortcuts)
    finally:
        if archive is not None:
            archive.close()
    for entity_type in schema.entity_types:
        entity_type.color = colors.get(entity_type.name, "")
        entity_type.key = keys.get(entity_type.name, "")
    return schema


def _read_optional(source: _Source, read, name: str, parse) -> dict:
    if name not in source.names:
        return {}
    return parse(_decode(read(name), source.label(name)))


def _conf_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = sections.setdefault("", [])
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        header = re.fullmatch(r"\s*\[(\w+)\]\s*", line)
        if header:
            current = sections.setdefault(header.group(1), [])
        else:
            current.append(line)
    return sections


def parse_annotation_conf(text: str) -> Schema:
    """Entity, relation, attribute and group (``symmetric-transitive`` relation) types.

    Abstract entity categories (``!CONCEPTS``) and special lines (``<OVERLAP>``,
    macros) are not types and are left out.
    """
    sections = _conf_sections(text)
    schema = Schema()
    for line in sections.get("entities", []):
        name = line.split()[0]
        if not name.startswith(("!", "<")) and name not in schema.entity_names:
            schema.entity_types.append(EntityType(name))
    for line in sections.get("relations", []):
        name, rest = (re.split(r"\s+", line.strip(), maxsplit=1) + [""])[:2]
        if name.startswith("<"):
            continue
        args = dict(_conf_arg(part) for part in re.split(r",\s*", rest.strip()) if ":" in part)
        if "symmetric-transitive" in args.get("<REL-TYPE>", ""):
            schema.group_types.append(name)
        else:
            schema.relation_types.append(
                RelationType(name, _conf_types(args.get("Arg1", "")), _conf_types(args.get("Arg2", "")))
            )
    for line in sections.get("attributes", []):
        name = line.split()[0]
        if not name.startswith(("!", "<")):
            schema.attribute_types.append(name)
    return schema


def _conf_arg(part: str) -> tuple[str, str]:
    key, _, value = part.strip().partition(":")
    return key.strip(), value.strip()


def _conf_types(value: str) -> tuple[str, ...]:
    if not value or value.startswith("<"):
        return ()
    return tuple(v for v in value.split("|") if v)


def _parse_visual_conf(text: str) -> dict[str, str]:
    colors = {}
    for line in _conf_sections(text).get("drawing", []):
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


def render_annotation_conf(schema: Schema) -> str:
    """brat ``annotation.conf`` text for ``schema`` (overlapping entities allowed)."""
    lines = ["[entities]", *schema.entity_names, "", "[relations]"]
    for relation in schema.relation_types:
        heads = "|".join(relation.heads) or "<ANY>"
        tails = "|".join(relation.tails) or "<ANY>"
        lines.append(f"{relation.name}\tArg1:{heads}, Arg2:{tails}")
    for group in schema.group_types:
        lines.append(f"{group}\tArg1:<ANY>, Arg2:<ANY>, <REL-TYPE>:symmetric-transitive")
    lines += ["<OVERLAP>\tArg1:<ANY>, Arg2:<ANY>, <OVL-TYPE>:<ANY>", "", "[events]", "", "[attributes]"]
    lines += [f"{name}\tArg:<ANY>" for name in schema.attribute_types]
    return "\n".join(lines) + "\n"


def render_visual_conf(schema: Schema) -> str:
    lines = ["[labels]", "", "[drawing]"]
    lines += [f"{t.name}\tbgColor:{t.color}" for t in schema.entity_types if t.color]
    return "\n".join(lines) + "\n"


def render_shortcuts(schema: Schema) -> str:
    return "".join(f"{t.key}\t{t.name}\n" for t in schema.entity_types if t.key)


# --- writing -----------------------------------------------------------------------------


def write_brat(documents: Iterable[Document], out_dir: str | Path, *,
               schema: Schema | None = None) -> int:
    """Write ``NAME.txt`` (byte-identical text), ``NAME.ann`` and the conf files; return the count.

    The written ``annotation.conf`` declares ``schema`` plus every type the
    documents use that it lacks, so brat shows no undeclared-type errors. Ids that
    are not brat ids of the right kind (``T7``, ``R2``, ``A1``, ``#3``) are
    renumbered, with references following.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    declared = Schema(
        entity_types=[EntityType(t.name, t.color, t.key) for t in (schema.entity_types if schema else [])],
        relation_types=list(schema.relation_types) if schema else [],
        attribute_types=list(schema.attribute_types) if schema else [],
        group_types=list(schema.group_types) if schema else [],
    )
    names: set[str] = set()
    count = 0
    for document in documents:
        _check_name(document.name, names)
        with open(out / f"{document.name}.txt", "w", encoding="utf-8", newline="") as handle:
            handle.write(document.text)
        with open(out / f"{document.name}.ann", "w", encoding="utf-8", newline="") as handle:
            handle.write(render_ann(document))
        declared.extend_from_documents([document])
        count += 1
    (out / "annotation.conf").write_text(render_annotation_conf(declared), encoding="utf-8")
    if any(t.color for t in declared.entity_types):
        (out / "visual.conf").write_text(render_visual_conf(declared), encoding="utf-8")
    if any(t.key for t in declared.entity_types):
        (out / "kb_shortcuts.conf").write_text(render_shortcuts(declared), encoding="utf-8")
    return count


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


def render_ann(document: Document) -> str:
    """The ``.ann`` text of a document; T text fields are rebuilt from the offsets."""
    entity_ids = {e.id: new for e, new in zip(document.entities, _brat_ids(document.entities, "T"))}
    relation_ids = {r.id: new for r, new in zip(document.relations, _brat_ids(document.relations, "R"))}
    targets = {**entity_ids, **relation_ids}
    lines = []
    for entity in document.entities:
        offsets = ";".join(f"{f.start} {f.end}" for f in entity.fragments)
        text = _field(entity.text(document.text))
        lines.append(f"{entity_ids[entity.id]}\t{entity.type} {offsets}\t{text}")
    for relation in document.relations:
        lines.append(f"{relation_ids[relation.id]}\t{relation.type} "
                     f"Arg1:{entity_ids[relation.head]} Arg2:{entity_ids[relation.tail]}")
    for group in document.groups:
        lines.append(f"*\t{group.type} " + " ".join(entity_ids[m] for m in group.members))
    for attribute, new_id in zip(document.attributes, _brat_ids(document.attributes, "A")):
        value = f" {attribute.value}" if attribute.value is not None else ""
        lines.append(f"{new_id}\t{attribute.name} {targets[attribute.target]}{value}")
    for note, new_id in zip(document.notes, _brat_ids(document.notes, "#")):
        lines.append(f"{new_id}\t{note.type} {targets[note.target]}\t{_field(note.text)}")
    return "".join(line + "\n" for line in lines)
