"""Test-wide environment, loaded as a plugin (`-p tests.testenv`) before Django's settings."""
import os
import tempfile

os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("ELIGO_VAR_DIR", tempfile.mkdtemp(prefix="eligo-test-var-"))
