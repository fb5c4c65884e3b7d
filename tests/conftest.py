"""Shared fixtures: a real Celery worker process on the configured broker."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _worker_env() -> dict:
    """The test process's environment, pointed at the *test* database the tests write to."""
    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
        env["DATABASE_URL"] = (
            f"postgres://{quote(db['USER'] or '')}{password}@{db['HOST'] or '127.0.0.1'}"
            f":{db['PORT'] or 5432}/{db['NAME']}"
        )
    env["ELIGO_VAR_DIR"] = str(settings.VAR_DIR)
    env["ELIGO_MODEL_DIR"] = str(settings.ELIGO_MODEL_DIR)
    env["DJANGO_DEBUG"] = "1"
    return env


class CeleryWorker:
    """A `celery worker` subprocess; ``kill()`` sends SIGKILL to the pool process tree."""

    def __init__(self, queues: str = "default,training,inference"):
        self.log_path = settings.VAR_DIR / f"worker-{time.time_ns()}.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", queues,
             "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"test-{time.time_ns()}@%h"],
            cwd=ROOT, env=_worker_env(), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def celery_worker_process(transactional_db):
    """Start a real worker on the configured broker (filesystem by default, Redis in CI)."""
    from webapp.celery import app

    app.control.purge()
    worker = CeleryWorker()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """MD5 hashing in tests: real hashing costs ~0.3 s per user on this CPU and proves nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
