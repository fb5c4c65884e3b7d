"""``manage.py retrain --project NAME [--wait]``: queue a training run, optionally wait for it."""
import json
import time

from django.core.management.base import BaseCommand, CommandError

from annotation.models import TrainingRun, TrainingRunStatus
from annotation.selectors.projects import project_get
from annotation.services.training import TrainingRunInProgress, training_run_start, training_runs_mark_lost


class Command(BaseCommand):
    help = ("Queue a training run on the project's done and reviewed sentences. With --wait, "
            "print the new model version's dev metrics as JSON; exit non-zero if the run failed.")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--wait", action="store_true", help="wait for the run to end")
        parser.add_argument("--timeout", type=float, default=0, help="seconds to wait (0: no limit)")
        parser.add_argument("--poll", type=float, default=1.0, help="seconds between checks")

    def handle(self, *args, project, wait, timeout, poll, **options):
        project_obj = project_get(name=project)
        if project_obj is None:
            raise CommandError(f"No project named {project!r}.")
        try:
            run = training_run_start(project=project_obj)
        except TrainingRunInProgress as exc:
            raise CommandError(f"A run is in progress (run {exc.run.pk if exc.run else '?'}).") from None
        if not wait:
            self.stdout.write(json.dumps({"run": run.pk, "status": run.status}))
            return
        run = self._wait(run, timeout, poll)
        if run.status != TrainingRunStatus.SUCCEEDED:
            raise CommandError(f"Run {run.pk} ended {run.status}: {run.error}")
        self.stdout.write(json.dumps(run.model_version.dev_metrics, indent=2))

    def _wait(self, run: TrainingRun, timeout: float, poll: float) -> TrainingRun:
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            training_runs_mark_lost(project=run.project)
            run.refresh_from_db()
            if not run.is_active:
                return run
            if deadline is not None and time.monotonic() > deadline:
                raise CommandError(f"Run {run.pk} still {run.status} after {timeout:.0f} s.")
            time.sleep(poll)
