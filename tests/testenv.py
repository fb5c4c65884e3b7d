"""Test-wide environment, loaded as a plugin (`-p tests.testenv`) before Django's settings."""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("DJANGO_DEBUG", "1")
if "ELIGO_VAR_DIR" not in os.environ:
    _var_dir = tempfile.mkdtemp(prefix="eligo-test-var-")
    os.environ["ELIGO_VAR_DIR"] = _var_dir
    atexit.register(shutil.rmtree, _var_dir, ignore_errors=True)
