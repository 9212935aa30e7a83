"""docs/api.rst is generated from the code and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_api_docs_are_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_api_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_api_docs_cover_every_method_with_its_role():
    from xrsched.core import PUBLIC_METHODS

    text = (ROOT / "docs" / "api.rst").read_text()
    for name in PUBLIC_METHODS:
        assert f"\n{name}\n{'-' * len(name)}\n" in text, name
    assert "Role: ``operator``" in text and "Role: ``admin``" in text
