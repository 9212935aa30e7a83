"""The one atomic file write: readers see the old file or the whole new one, never a part.

A new version of ``path`` is written to a hidden file beside it with a unique name (created
with ``O_EXCL``, so two writers never share one), with its permissions set before any data is
written; then it is flushed, fsynced, renamed over ``path`` and the directory is fsynced, so
that after a power cut the name holds one of the two complete versions. On any error the
temporary file is removed and the destination is left as it was. A process killed mid-write
leaves its hidden temporary file behind (nothing can remove it) but never a partial ``path``.

``durable=False`` skips the two fsyncs: still atomic for readers, but a file published just
before a power cut may be missing or empty (for outputs that can be made again).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from types import TracebackType

_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
#: Name length kept from the destination in the temporary name (file names stop at 255 bytes).
_KEPT_NAME = 200


def temp_path_beside(path: str | os.PathLike[str]) -> str:
    """A fresh hidden name in ``path``'s directory that ends with its name (tools look at extensions)."""
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".tmp-{secrets.token_hex(6)}-{name[:_KEPT_NAME]}")


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make a rename in ``directory`` durable. Some filesystems refuse to fsync a directory
    (EINVAL) or to open one for reading; the rename is then as durable as they allow."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(temp_path: str, path: str, *, durable: bool = True) -> None:
    """Rename a finished ``temp_path`` (written by someone else, e.g. a tool) over ``path``:
    fsync the file when it is a regular one, rename, fsync the directory (when ``durable``)."""
    if durable and os.path.isfile(temp_path):
        fd = os.open(temp_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(temp_path, path)
    if durable:
        fsync_directory(os.path.dirname(os.path.abspath(path)))


class _SyncOnClose(io.FileIO):
    """A file that reaches the disk (fsync) when closed, unless the write is being abandoned."""

    sync = True

    def close(self) -> None:
        try:
            if self.sync and not self.closed:
                os.fsync(self.fileno())
        finally:
            super().close()


def _create_beside(path: str, permissions: int | None) -> tuple[str, int]:
    """Create a new temporary file beside ``path``; ``permissions`` None follows the umask as
    ``open`` does, otherwise they are set exactly, before anything is written."""
    for _ in range(16):
        temp = temp_path_beside(path)
        try:
            fd = os.open(temp, _CREATE_NEW, 0o666 if permissions is None else 0o600)
        except FileExistsError:  # 48 random bits: only a hostile neighbour gets here
            continue
        if permissions is not None:
            try:
                os.fchmod(fd, permissions)
            except BaseException:
                os.close(fd)
                os.unlink(temp)
                raise
        return temp, fd
    raise FileExistsError(f"no free temporary name beside {path}")


class AtomicFile:
    """A new version of ``path`` being written (bytes); :meth:`commit` publishes it, :meth:`discard`
    drops it. As a context manager it commits when the block succeeds and discards otherwise.

    ``stream`` is the buffered binary file, for layers such as ``gzip`` or ``io.TextIOWrapper``;
    closing it is fine (``commit`` still publishes), writing after ``commit`` is not.
    """

    def __init__(self, path: str | os.PathLike[str], *, permissions: int | None = None, durable: bool = True) -> None:
        self.path = os.fspath(path)
        self.durable = durable
        self._done = True  # until the file exists, there is nothing to discard
        self.temp_path, fd = _create_beside(self.path, permissions)
        self._raw = _SyncOnClose(fd, "w")
        self._raw.sync = durable
        self._done = False
        self.stream = io.BufferedWriter(self._raw)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def __del__(self) -> None:
        # Never publish a file nobody committed: it may be incomplete.
        if not getattr(self, "_done", True):
            with contextlib.suppress(Exception):  # may run at interpreter shutdown
                self.discard()

    @property
    def done(self) -> bool:
        """Whether the file was published or discarded."""
        return self._done

    def write(self, data: bytes) -> int:
        """Write ``data`` to the new version."""
        return self.stream.write(data)

    def commit(self) -> None:
        """Flush, fsync, rename over ``path``, fsync the directory; once (later calls do nothing).
        On any error the temporary file is removed and the error raised."""
        if self._done:
            return
        self._done = True
        try:
            self.stream.close()  # flushes, then fsyncs and closes the file (when durable)
            os.replace(self.temp_path, self.path)
        except BaseException:
            self._remove_temp()
            raise
        if self.durable:
            fsync_directory(os.path.dirname(os.path.abspath(self.path)))

    def discard(self) -> None:
        """Throw the new version away, leaving ``path`` as it was."""
        if self._done:
            return
        self._done = True
        self._remove_temp()

    def _remove_temp(self) -> None:
        self._raw.sync = False
        for stream in (self.stream, self._raw):
            with contextlib.suppress(Exception):  # a failing flush must not stop the clean-up
                stream.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, permissions: int | None = None, durable: bool = True
) -> None:
    """Replace ``path`` with ``data`` atomically (see the module docstring for the guarantees)."""
    with AtomicFile(path, permissions=permissions, durable=durable) as new:
        new.write(data)
