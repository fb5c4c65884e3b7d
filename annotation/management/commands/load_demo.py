"""``manage.py load_demo``: the demo project and users; running it again changes nothing."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from annotation import demo_data
from annotation.models import Project, Role
from annotation.services.corpus_io import corpus_import_documents
from annotation.services.projects import membership_set, project_create

PROJECT = "demo"
PASSWORD = "eligo-demo"
USERS = {"manager": Role.MANAGER, "reviewer": Role.REVIEWER, "annotator": Role.ANNOTATOR}


class Command(BaseCommand):
    help = "Create the demo project (documents, schema) and the demo users (password eligo-demo)."

    @transaction.atomic
    def handle(self, *args, **options):
        users = {name: _user(name) for name in (*USERS, "admin")}
        project = Project.objects.filter(name=PROJECT).first()
        if project is None:
            project = project_create(name=PROJECT, title="Demo: eligibility criteria")
        for name, role in USERS.items():
            membership_set(project=project, user=users[name], role=role)
        present = set(project.documents.values_list("name", flat=True))
        missing = [d for d in demo_data.demo_documents() if d.name not in present]
        report = corpus_import_documents(project=project, documents=missing, file="demo_data")
        self.stdout.write(
            f"Demo project {PROJECT!r}: {report.summary()} added "
            f"({len(present)} documents were already there). "
            f"Users {', '.join(USERS)} and superuser admin, password {PASSWORD!r}."
        )


def _user(username: str):
    """The user, created with the demo password only the first time (so nothing changes later)."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        is_admin = username == "admin"
        user = User(username=username, is_staff=is_admin, is_superuser=is_admin)
        user.set_password(PASSWORD)
        user.save()
    return user
