"""``manage.py import_corpus --project NAME --format FMT PATH [--new-types ask|add|refuse]``:
all or nothing. Types the project lacks are added only with ``--new-types add`` (or a project
set to ``add``, or a project this command creates); otherwise the command lists what it would
add, with the keys, and imports nothing."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation.selectors.projects import project_get
from annotation.models import NewTypes
from annotation.services.corpus_io import CorpusImportError, NewTypesPending, corpus_import
from annotation.services.imports import import_policy
from annotation.services.projects import project_create
from mlcore.corpus.formats import READ_FORMATS
from mlcore.corpus.model import Schema


class Command(BaseCommand):
    help = "Import a corpus into a project (created if missing); nothing is kept on error."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--project", required=True)
        parser.add_argument("--format", dest="fmt", required=True, choices=READ_FORMATS)
        parser.add_argument("--quirks", action="store_true", help="list every tolerated quirk")
        parser.add_argument("--new-types", choices=NewTypes.values, default=None,
                            help="types the project lacks: ask (list them, import nothing), add, "
                                 "refuse; default: the project's setting")

    def handle(self, *args, path, project, fmt, quirks, new_types, **options):
        try:
            with transaction.atomic():
                target = project_get(name=project)
                if target is None:
                    # an empty schema: the file's schema and the types in the data are added
                    target = project_create(name=project, schema=Schema())
                    new_types = new_types or NewTypes.ADD
                report = corpus_import(project=target, path=path, fmt=fmt,
                                       new_types=import_policy(project=target, requested=new_types))
        except NewTypesPending as pending:
            for added in pending.additions:
                self.stderr.write(f"  would add {added['kind']} type {added['name']} "
                                  f"(key {added['key'] or 'none'})")
            hint = "" if pending.refused else " (rerun with --new-types add to add them)"
            raise CommandError(f"{pending}{hint}") from pending
        except CorpusImportError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Imported into {project}: {report.summary()}")
        if quirks:
            for quirk in report.quirks:
                self.stdout.write(f"  quirk: {quirk}")
            return
        for kind, examples in report.quirk_examples().items():
            for example in examples:
                self.stdout.write(f"  {kind}: {example}")
        if len(report.quirks) > sum(map(len, report.quirk_examples().values())):
            self.stdout.write("  (a few examples per kind; --quirks lists them all)")
