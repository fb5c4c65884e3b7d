"""``manage.py import_corpus --project NAME --format FMT [--annotator USERNAME] PATH``: all or
nothing. With ``--annotator`` the corpus goes into that user's own layer (a project it creates
is in independent mode)."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation.models import AnnotationMode

from annotation.selectors.projects import project_get
from annotation.services.corpus_io import CorpusImportError, corpus_import
from annotation.services.layers import project_mode_update
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
        parser.add_argument("--annotator", default="",
                            help="import into this user's own layer (independent mode); the user "
                                 "becomes an annotator of the project if not a member")

    def handle(self, *args, path, project, fmt, quirks, annotator, **options):
        user = None
        if annotator:
            user = get_user_model().objects.filter(username=annotator).first()
            if user is None:
                raise CommandError(f"no user named {annotator!r}")
        try:
            with transaction.atomic():
                target = project_get(name=project)
                if target is None:
                    # an empty schema: the file's schema and the types in the data are added
                    target = project_create(name=project, schema=Schema())
                    if user is not None:
                        project_mode_update(project=target, mode=AnnotationMode.INDEPENDENT)
                report = corpus_import(project=target, path=path, fmt=fmt, annotator=user)
        except CorpusImportError as error:
            raise CommandError(str(error)) from error
        layer = f" ({annotator}'s layer)" if user is not None else ""
        self.stdout.write(f"Imported into {project}{layer}: {report.summary()}")
        if quirks:
            for quirk in report.quirks:
                self.stdout.write(f"  quirk: {quirk}")
            return
        for kind, examples in report.quirk_examples().items():
            for example in examples:
                self.stdout.write(f"  {kind}: {example}")
        if len(report.quirks) > sum(map(len, report.quirk_examples().values())):
            self.stdout.write("  (a few examples per kind; --quirks lists them all)")
