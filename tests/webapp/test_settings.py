"""Settings from the environment and the local env file that ``make run`` writes.

After ``make run`` (here: its ``env`` target), every ``python manage.py ...`` command in the
README works as written, with nothing exported; without that file, with debug off and no
``DJANGO_SECRET_KEY``, the app refuses to start.
"""
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "django" / "brat_small"


def _bare_env(var_dir: Path) -> dict:
    """The environment of a fresh shell: none of Eligo's variables, a given var folder."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "ELIGO_", "DATABASE_", "CELERY_"))}
    return {**env, "ELIGO_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "webapp.settings"}


def _manage(var_dir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_bare_env(var_dir),
                          capture_output=True, text=True, timeout=timeout)


def _make_env(var_dir: Path) -> Path:
    subprocess.run(["make", "-s", "env", f"ELIGO_VAR_DIR={var_dir}"], cwd=ROOT, check=True,
                   env=_bare_env(var_dir), capture_output=True, timeout=60)
    return var_dir / "eligo.env"


def _readme_manage_commands() -> list[list[str]]:
    """Every ``python manage.py ...`` command the README shows (code blocks and inline code)."""
    text = (ROOT / "README.md").read_text()
    found = re.findall(r"python manage\.py ([^`\n#]+)", text)
    return [shlex.split(command.strip()) for command in dict.fromkeys(found)]


def test_without_env_file_or_secret_key_the_app_refuses_to_start(tmp_path):
    result = _manage(tmp_path, "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_make_env_writes_a_private_env_file_with_a_secret_key_and_keeps_it(tmp_path):
    path = _make_env(tmp_path)
    text = path.read_text()
    assert "DJANGO_DEBUG=1" in text
    key = re.search(r"^DJANGO_SECRET_KEY=(\S{40,})$", text, re.M).group(1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    _make_env(tmp_path)
    assert key in path.read_text(), "a second make run keeps the key (sessions survive restarts)"
    assert _manage(tmp_path, "check").returncode == 0


def test_the_environment_wins_over_the_env_file(tmp_path):
    _make_env(tmp_path)
    code = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    env = {**_bare_env(tmp_path), "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "from-the-environment"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split() == ["False", "from-the-environment"]


def test_every_readme_manage_command_loads_after_make_env(tmp_path):
    commands = _readme_manage_commands()
    assert {c[0] for c in commands} >= {"import_corpus", "export_corpus", "retrain", "review_queue",
                                       "load_demo"}
    _make_env(tmp_path)
    for command in commands:
        result = _manage(tmp_path, command[0], "--help")
        assert result.returncode == 0, (command, result.stderr[-2000:])
        for option in (a for a in command if a.startswith("--")):
            assert option in result.stdout, (command, option)


@pytest.mark.slow
def test_readme_commands_run_as_written_after_make_env(tmp_path):
    """migrate + load_demo (what make run does), then the README's commands themselves."""
    _make_env(tmp_path)
    for args in (["migrate", "--noinput"], ["load_demo"]):
        result = _manage(tmp_path, *args, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    queue = _manage(tmp_path, "review_queue", "--project", "demo", "--limit", "20")
    # the README runs it after `retrain --wait` (training is too slow for a test): before it,
    # the command says so instead of failing on the settings
    assert "The project has no active model version." in queue.stderr, queue.stderr[-2000:]
    imported = _manage(tmp_path, "import_corpus", "--project", "chia", "--format", "brat", str(FIXTURE))
    assert imported.returncode == 0 and "3 documents" in imported.stdout, imported.stderr[-2000:]
    out = tmp_path / "chia.jsonl"
    exported = _manage(tmp_path, "export_corpus", "--project", "chia", "--format", "jsonl", "--out",
                       str(out), "--status", "done,reviewed")
    assert exported.returncode == 0 and out.read_text().count("\n") == 4, exported.stderr[-2000:]
