"""``manage.py import_corpus --project NAME --format FMT [--annotator USERNAME]
[--new-types ask|add|refuse] PATH``: all or nothing. With ``--annotator`` the corpus goes into
that user's own layer (a project it creates is in independent mode). Types the project lacks are
added only with ``--new-types add`` (or a project set to ``add``, or a project this command
creates); otherwise the command lists what it would add, with the keys, and imports nothing."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation.models import AnnotationMode, NewTypes
from annotation.selectors.projects import project_get
from annotation.services.corpus_io import CorpusImportError, NewTypesPending, corpus_import
from annotation.services.imports import import_policy
from annotation.services.layers import project_mode_update
from annotation.services.projects import project_create
from mlcore.corpus.formats import READ_FORMATS
from mlcore.corpus.model import Schema


def _annotator_user(username: str):
    """The user ``--annotator`` names (None without it), or a CommandError."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


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
        parser.add_argument("--new-types", choices=NewTypes.values, default=None,
                            help="types the project lacks: ask (list them, import nothing), add, "
                                 "refuse; default: the project's setting")

    def handle(self, *args, path, project, fmt, quirks, annotator, new_types, **options):
        user = _annotator_user(annotator)
        try:
            with transaction.atomic():
                target = project_get(name=project)
                if target is None:
                    # an empty schema: the file's schema and the types in the data are added
                    target = project_create(name=project, schema=Schema())
                    new_types = new_types or NewTypes.ADD
                    if user is not None:
                        project_mode_update(project=target, mode=AnnotationMode.INDEPENDENT)
                report = corpus_import(project=target, path=path, fmt=fmt, annotator=user,
                                       new_types=import_policy(project=target, requested=new_types))
        except NewTypesPending as pending:
            for added in pending.additions:
                self.stderr.write(f"  would add {added['kind']} type {added['name']} "
                                  f"(key {added['key'] or 'none'})")
            hint = "" if pending.refused else " (rerun with --new-types add to add them)"
            raise CommandError(f"{pending}{hint}") from pending
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
