"""Deployment proof without a Docker engine: run docker-compose.yml's own commands locally.

Each eligo service's ``command`` (web: migrate + gunicorn; the training and inference
workers) is started as a subprocess against the local PostgreSQL (a throw-away database)
and Redis (db 14), with the compose file's environment adapted to loopback. Then one
import, one export and one retrain (a tiny random BERT) go through the HTTP API, served
by gunicorn and executed by the workers. Skipped when PostgreSQL or Redis is unreachable,
unless ``CI`` is set (then it fails).
"""
from __future__ import annotations

import io
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
FIXTURE = ROOT / "tests" / "fixtures" / "django" / "brat_small"
PG_ADMIN_URL = os.environ.get("ELIGO_DEPLOY_PG", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ELIGO_DEPLOY_REDIS", "redis://127.0.0.1:6379/14")
TINY = {"encoder_config": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                           "intermediate_size": 64, "max_position_embeddings": 64},
        "epochs": 1, "batch_size": 8, "lr": 5e-3, "num_threads": 1, "dev_fraction": 0.34,
        "auto_activate": True}

pytestmark = pytest.mark.slow


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"deployment test needs {reason} in CI")
    pytest.skip(f"deployment test skipped: {reason}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eligo_services(compose: dict) -> dict[str, str]:
    """The compose services built from this repository, by name -> command."""
    return {name: service["command"] for name, service in compose["services"].items()
            if service.get("build") == "."}


def local_command(command: str, port: int) -> list[str]:
    """The compose command, bound to a loopback port instead of 0.0.0.0:8000."""
    command = command.replace("0.0.0.0:8000", f"127.0.0.1:{port}").replace("--workers 3", "--workers 2")
    return shlex.split(command)


@pytest.fixture(scope="module")
def database_url():
    psycopg = pytest.importorskip("psycopg")
    name = f"eligo_deploy_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="module")
def redis_url():
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {REDIS_URL} ({exc.__class__.__name__})")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture(scope="module")
def stack(database_url, redis_url, tmp_path_factory):
    """Start every eligo service of docker-compose.yml; yields (base_url, env)."""
    compose = yaml.safe_load(COMPOSE.read_text())
    services = eligo_services(compose)
    assert {"web", "worker-training", "worker-inference"} <= set(services)
    var = tmp_path_factory.mktemp("deploy-var")
    port = _free_port()
    env = {**os.environ, **{k: str(v) for k, v in compose["x-eligo-env"].items()},
           "DATABASE_URL": database_url, "CELERY_BROKER_URL": redis_url,
           "CELERY_RESULT_BACKEND": redis_url, "DJANGO_SECRET_KEY": "deploy-test-" + "k" * 40,
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_DEBUG": "0",
           "ELIGO_VAR_DIR": str(var), "ELIGO_MODEL_DIR": str(var / "models"),
           "ELIGO_MEDIA_ROOT": str(var / "media"), "HF_HUB_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "DJANGO_SETTINGS_MODULE": "webapp.settings", "OMP_NUM_THREADS": "1",
           "ELIGO_IMPORT_ASYNC_BYTES": "1"}  # every import goes through the default queue
    processes = {}
    logs = {}
    try:
        for name, command in services.items():
            logs[name] = open(var / f"{name}.log", "w")
            processes[name] = subprocess.Popen(
                local_command(command, port), cwd=ROOT, env=env, stdout=logs[name],
                stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, processes, var)
        yield base, env, var
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        for log in logs.values():
            log.close()


def _wait_healthy(base: str, processes: dict, var: Path, timeout: float = 180) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited: {(var / f'{name}.log').read_text()[-3000:]}")
        try:
            response = requests.get(f"{base}/health/?workers=1", timeout=5)
            if response.status_code == 200 and response.json()["checks"]["workers"]["workers"] >= 2:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError(f"stack not healthy: {(var / 'web.log').read_text()[-3000:]}")


def _manage(env: dict, code: str) -> str:
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=120).stdout


def _brat_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in sorted(FIXTURE.iterdir()):
            archive.write(item, item.name)
    return buffer.getvalue()


def test_compose_services_run_import_export_and_retrain(stack):
    import requests

    base, env, var = stack
    _manage(env, "from django.contrib.auth import get_user_model as g; "
                 "g().objects.create_user('ops', password='deploy-pass-1', is_staff=True)")
    token = requests.post(f"{base}/api/auth/token/",
                          data={"username": "ops", "password": "deploy-pass-1"}, timeout=10).json()["token"]
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    assert api.post(f"{base}/api/projects/", json={"name": "deploy"}, timeout=10).status_code == 201

    imported = api.post(f"{base}/api/projects/deploy/imports/",
                        data={"format": "brat", "new_types": "add"}, files={"file": ("small.zip", _brat_zip())}, timeout=60)
    assert imported.status_code in (201, 202), imported.text
    job = _poll(api, f"{base}/api/projects/deploy/imports/{imported.json()['id']}/",
                lambda j: j["status"] in ("succeeded", "failed"), 120)
    assert job["status"] == "succeeded", job
    assert job["report"]["documents"] == 3

    export = api.get(f"{base}/api/projects/deploy/export/brat/", timeout=60)
    assert export.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    assert {"doc_a.txt", "doc_a.ann", "annotation.conf"} <= set(names)
    assert (zipfile.ZipFile(io.BytesIO(export.content)).read("doc_a.txt")
            == (FIXTURE / "doc_a.txt").read_bytes())

    assert api.put(f"{base}/api/projects/deploy/model-options/", json={"options": TINY},
                   timeout=10).status_code == 200
    run = api.post(f"{base}/api/projects/deploy/training-runs/", timeout=10)
    assert run.status_code == 201, run.text
    finished = _poll(api, f"{base}/api/projects/deploy/training-runs/{run.json()['id']}/",
                     lambda r: r["status"] not in ("queued", "running"), 400)
    assert finished["status"] == "succeeded", finished
    versions = api.get(f"{base}/api/projects/deploy/models/", timeout=10).json()["results"]
    assert versions[0]["number"] == 1 and versions[0]["is_active"]


def _poll(session, url: str, done, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = session.get(url, timeout=10).json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(1)


def test_compose_file_names_every_service_the_test_starts():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = eligo_services(compose)
    assert "gunicorn webapp.wsgi:application" in services["web"]
    assert "-Q training" in services["worker-training"]
    assert "inference" in services["worker-inference"] and "default" in services["worker-inference"]
    assert "127.0.0.1:" in " ".join(local_command(services["web"], 8123))
