"""The dashboard's files are package data: a build (what a wheel or a non-editable install
holds) carries every servable file of ``xrsched/dashboard/static``, and the server finds them there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from xrsched.dashboard.staticfiles import STATIC_DIR, StaticFiles

ROOT = Path(__file__).resolve().parents[2]
_PROBE = (
    "import json, xrsched; from xrsched.dashboard.staticfiles import StaticFiles, STATIC_DIR; "
    "print(json.dumps([xrsched.__file__, str(STATIC_DIR), StaticFiles.scan().names()]))"
)


def test_a_build_holds_every_static_file_and_serves_them_from_there(tmp_path, env):
    build = tmp_path / "build-lib"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "--build-lib", str(build)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    probe = subprocess.run(
        [sys.executable, "-S", "-c", _PROBE],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(build)},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    module, static_dir, names = json.loads(probe.stdout)
    assert module.startswith(str(build)) and static_dir.startswith(str(build))
    assert "index.html" in names
    assert names == StaticFiles.scan(STATIC_DIR).names()
