"""The static allow-list: what a scan lists, what it skips, and the ETag rule."""

from __future__ import annotations

import os
from pathlib import Path

from xrsched.dashboard.staticfiles import STATIC_DIR, StaticFiles


def make_tree(root: Path, outside: Path) -> Path:
    static = root / "static"
    (static / "vendor").mkdir(parents=True)
    (static / "index.html").write_text("<!DOCTYPE html><title>x</title>")
    (static / "app.js").write_text("console.log(1);\n")
    (static / "vendor" / "lib.js").write_text("// lib\n")
    (static / "vendor" / "LICENSE").write_text("licence text\n")
    (static / ".hidden.js").write_text("secret\n")
    (static / "notes.py").write_text("print(1)\n")
    (outside / "secret.js").write_text("the server's secret\n")
    (outside / "dir").mkdir()
    (outside / "dir" / "inner.js").write_text("inner\n")
    os.symlink(outside / "secret.js", static / "linked.js")
    os.symlink(outside / "dir", static / "linkdir")
    return static


def test_scan_lists_plain_files_of_known_types_and_nothing_else(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    files = StaticFiles.scan(make_tree(tmp_path, outside))
    assert files.names() == ["app.js", "index.html", "vendor/lib.js"]
    assert files.get("linked.js") is None
    assert files.get("linkdir/inner.js") is None
    assert files.get("../outside/secret.js") is None
    assert files.get("vendor/LICENSE") is None


def test_types_and_etags(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    files = StaticFiles.scan(make_tree(tmp_path, outside))
    js, html = files.get("app.js"), files.get("index.html")
    assert js.content_type == "text/javascript; charset=utf-8"
    assert html.content_type == "text/html; charset=utf-8"
    assert js.body == b"console.log(1);\n"
    assert js.etag.startswith('"') and js.etag != html.etag
    assert js.matches(js.etag)
    assert js.matches(f'"nope", W/{js.etag}')
    assert js.matches("*")
    assert not js.matches(html.etag)
    assert not js.matches(None)


def test_a_missing_directory_serves_nothing(tmp_path):
    assert StaticFiles.scan(tmp_path / "absent").names() == []


def test_the_package_ships_an_index_page():
    files = StaticFiles.scan(STATIC_DIR)
    assert "index.html" in files.names()
    page = files.get("index.html").body.decode()
    assert "<script>" not in page and "style=" not in page  # the CSP forbids inline code
