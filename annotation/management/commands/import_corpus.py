"""``manage.py import_corpus --project NAME --format FMT PATH``: all or nothing."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation.selectors.projects import project_get
from annotation.services.corpus_io import CorpusImportError, corpus_import
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

    def handle(self, *args, path, project, fmt, quirks, **options):
        try:
            with transaction.atomic():
                target = project_get(name=project)
                if target is None:
                    # an empty schema: the file's schema and the types in the data are added
                    target = project_create(name=project, schema=Schema())
                report = corpus_import(project=target, path=path, fmt=fmt)
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
