"""``manage.py agreement --project NAME [--json]``: inter-annotator agreement of a project."""
import json

from django.core.management.base import BaseCommand, CommandError

from annotation.selectors.agreement import agreement_report
from annotation.selectors.projects import project_get


def _figure(value) -> str:
    return "-" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = ("Inter-annotator agreement (strict/relaxed entity F1, strict relation F1, word-level "
            "Cohen's kappa), overall and per annotator pair; rules in docs/agreement.md.")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--json", dest="as_json", action="store_true",
                            help="print the whole report as JSON")

    def handle(self, *args, project, as_json: bool = False, **options):
        project_obj = project_get(name=project)
        if project_obj is None:
            raise CommandError(f"No project named {project!r}.")
        report = agreement_report(project=project_obj)
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        if len(report["annotators"]) < 2:
            raise CommandError("Agreement needs at least two annotators' layers in the project.")
        self.stdout.write("pair\tdocuments\tentity strict F1\tentity relaxed F1\t"
                          "relation F1\tkappa")
        for row in [{"annotators": ["overall"], **report}, *report["pairs"]]:
            self.stdout.write("\t".join([
                " / ".join(row["annotators"]), str(row["documents"]),
                _figure(row["entities"]["strict_f1"]), _figure(row["entities"]["relaxed_f1"]),
                _figure(row["relations"]["strict_f1"]), _figure(row["kappa"])]))
