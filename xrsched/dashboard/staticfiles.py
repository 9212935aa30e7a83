"""The dashboard's files, read once at start into an allow-list: nothing else can be served.

Requests never reach the file system: a name is looked up in a dictionary built from the
``static/`` directory when the server starts, so ``..``, encoded slashes, absolute paths and
symbolic links (skipped while scanning) lead nowhere. Only regular files with a known type and
a plain name are listed; each is held in memory with its ETag (the files are small).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("xrsched.server")

#: The package's own files (installed as package data).
STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 3
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


@dataclass(frozen=True)
class StaticFile:
    """One servable file: its bytes, type and validator."""

    name: str
    body: bytes
    content_type: str
    etag: str

    def matches(self, if_none_match: str | None) -> bool:
        """Whether an ``If-None-Match`` header names this version (weak comparison, ``*`` too)."""
        if not if_none_match:
            return False
        for tag in if_none_match.split(","):
            tag = tag.strip()
            if tag == "*" or tag.removeprefix("W/") == self.etag:
                return True
        return False


class StaticFiles:
    """The allow-list: relative names (``app.js``, ``vendor/x.js``) to :class:`StaticFile`."""

    def __init__(self, files: dict[str, StaticFile]) -> None:
        self._files = dict(files)

    @classmethod
    def scan(cls, directory: Path = STATIC_DIR) -> StaticFiles:
        """Read every servable file under ``directory`` (no symlinks, no hidden names)."""
        files: dict[str, StaticFile] = {}
        _scan(Path(directory), "", files, 0)
        if INDEX not in files:
            log.warning("dashboard: %s has no %s; GET / answers 404", directory, INDEX)
        return cls(files)

    def names(self) -> list[str]:
        """The servable names, sorted."""
        return sorted(self._files)

    def get(self, name: str) -> StaticFile | None:
        """The file listed under exactly ``name``, or None."""
        return self._files.get(name)


def _scan(directory: Path, prefix: str, files: dict[str, StaticFile], depth: int) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        log.warning("dashboard: cannot list %s: %s", directory, exc)
        return
    for entry in entries:
        if not _NAME.fullmatch(entry.name) or entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            if depth < MAX_DEPTH:
                _scan(Path(entry.path), f"{prefix}{entry.name}/", files, depth + 1)
            continue
        content_type = CONTENT_TYPES.get(os.path.splitext(entry.name)[1].lower())
        if content_type is None:
            continue  # a licence text or README beside a vendored file: not served
        body = _read_regular(Path(entry.path))
        if body is not None:
            digest = hashlib.sha256(body).hexdigest()[:32]
            name = prefix + entry.name
            files[name] = StaticFile(name=name, body=body, content_type=content_type, etag=f'"{digest}"')


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file no bigger than MAX_FILE_BYTES, opened without following links."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        log.warning("dashboard: cannot read %s: %s", path, exc)
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            log.warning("dashboard: %s is not a regular file under %d bytes; not served", path, MAX_FILE_BYTES)
            return None
        return handle.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]
