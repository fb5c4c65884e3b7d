"""``manage.py export_corpus --project NAME --format FMT --out PATH [--status done,reviewed]
[--layer USERNAME]``."""
from django.core.management.base import BaseCommand, CommandError

from annotation.models import SentenceStatus
from annotation.selectors.layers import layer_annotator_get
from annotation.selectors.projects import project_get
from annotation.services.corpus_io import corpus_export
from mlcore.corpus.formats import WRITE_FORMATS


class Command(BaseCommand):
    help = "Export a project's documents (brat folder, JSONL file or CoNLL file)."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--format", dest="fmt", required=True, choices=WRITE_FORMATS)
        parser.add_argument("--out", required=True)
        parser.add_argument(
            "--status", default="",
            help="comma-separated sentence statuses whose annotations are kept (default: all)",
        )
        parser.add_argument(
            "--layer", default="",
            help="export this annotator's own layer (default: the shared or curated layer)",
        )

    def handle(self, *args, project, fmt, out, status, layer, **options):
        target = project_get(name=project)
        if target is None:
            raise CommandError(f"no project named {project!r}")
        statuses = [s.strip() for s in status.split(",") if s.strip()] or None
        unknown = set(statuses or ()) - set(SentenceStatus.values)
        if unknown:
            raise CommandError(f"unknown status {', '.join(sorted(unknown))}; "
                               f"choose from {', '.join(SentenceStatus.values)}")
        annotator = None
        if layer:
            annotator = layer_annotator_get(project=target, username=layer)
            if annotator is None:
                raise CommandError(f"{layer!r} has no layer in {project}")
        stats = corpus_export(project=target, out=out, fmt=fmt, statuses=statuses,
                              layer=getattr(annotator, "pk", None))
        self.stdout.write(f"Exported {project} as {fmt} to {out}: "
                          + ", ".join(f"{k}={v}" for k, v in stats.items()))
        if fmt == "conll":
            self.stdout.write(f"entities dropped by flattening: {stats['entities_dropped']} "
                              f"(overlap {stats['dropped_overlap']}, cross-sentence "
                              f"{stats['dropped_cross_sentence']}; {stats['discontinuous_merged']} "
                              f"discontinuous merged); relations dropped: {stats['relations_dropped']}")
