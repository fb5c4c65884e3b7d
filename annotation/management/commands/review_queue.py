"""``manage.py review_queue --project NAME --limit N``: the most uncertain sentences, as JSON lines."""
import json

from django.core.management.base import BaseCommand, CommandError

from annotation.selectors.projects import project_get
from annotation.selectors.review import review_queue
from annotation.selectors.training import model_version_active


class Command(BaseCommand):
    help = "Print the review queue (most uncertain first) of the active model as JSON lines."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--status", default=None, help="only sentences with this status")

    def handle(self, *args, project, limit, status, **options):
        project_obj = project_get(name=project)
        if project_obj is None:
            raise CommandError(f"No project named {project!r}.")
        if model_version_active(project_obj) is None:
            raise CommandError("The project has no active model version.")
        for row in review_queue(project=project_obj, status=status)[: max(0, limit)]:
            self.stdout.write(json.dumps({
                "sentence": row.sentence.id, "document": row.sentence.document.name,
                "score": row.score, "text": row.sentence.text,
            }))
