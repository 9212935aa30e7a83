"""Targets, the things tasks produce; ``LocalTarget`` is a file written atomically.

A write goes through :class:`xrsched.atomicfile.AtomicFile`: a hidden temporary file in the
destination's directory, flushed and fsynced, renamed over the destination only when the file
is closed without error, so readers see the old file or the whole new one, never a partial
one. An exception inside ``with target.open("w")`` discards the temporary file.

``LocalTarget(path, durable=False)`` skips the two fsyncs (the file's and its directory's), as
Luigi's ``LocalTarget`` does: writes stay atomic for readers, but after a power cut a file
published just before may be missing or empty although its task was reported done. Each fsync
costs from about 0.1 ms to several ms depending on the disk, so it is for scratch outputs and
many small files that can be made again.
"""

from __future__ import annotations

import abc
import builtins
import contextlib
import gzip
import io
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from xrsched.atomicfile import AtomicFile, publish, temp_path_beside


class Target(abc.ABC):
    """Something a task produces; a task is complete when all its targets exist."""

    @abc.abstractmethod
    def exists(self) -> bool:
        """Whether the target has been produced."""


@dataclass(frozen=True)
class Format:
    """How a LocalTarget's bytes become what ``open`` returns (Luigi's ``luigi.format`` objects).

    ``binary`` says what a mode without ``b`` or ``t`` means; ``compression`` is None or "gzip".
    """

    name: str
    binary: bool = False
    encoding: str = "utf-8"
    compression: str | None = None


Text = UTF8 = Format("Text")
Nop = Format("Nop", binary=True)
Gzip = Format("Gzip", binary=True, compression="gzip")


class AtomicWriter:
    """A file being written under a temporary name; ``close()`` publishes it, ``abort()`` drops it.

    Used as a context manager, an exception inside the block aborts. Anything a file object
    offers (``write``, ``writelines``, ``flush``, ``tell``…) is forwarded to the open stream.
    """

    def __init__(self, path: str, *, binary: bool, file_format: Format = Text, durable: bool = True) -> None:
        self.path = path
        self.durable = durable
        self._file = AtomicFile(path, durable=durable)
        self.tmp_path = self._file.temp_path
        stream: Any = self._file.stream
        if file_format.compression == "gzip":
            stream = gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0)
        if not binary:
            stream = io.TextIOWrapper(stream, encoding=file_format.encoding)
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # Never publish a file nobody closed: it may be incomplete (abort before the layers'
        # own finalizers flush into the temporary file).
        if "_file" in self.__dict__ and not self._file.done:
            with contextlib.suppress(Exception):  # may run at interpreter shutdown
                self.abort()

    @property
    def closed(self) -> bool:
        """Whether the file was published or abandoned."""
        return self._file.done

    def write(self, data: Any) -> int:
        """Write ``data`` (str or bytes, depending on the mode)."""
        return self._stream.write(data)

    def writelines(self, lines: Iterable[Any]) -> None:
        """Write each of ``lines``."""
        self._stream.writelines(lines)

    def close(self) -> None:
        """Flush, fsync (when durable) and rename the file into place (once; later calls do nothing)."""
        if self._file.done:
            return
        try:
            self._stream.close()  # the format's layers first (gzip writes its trailer)
        except BaseException:
            self._file.discard()
            raise
        self._file.commit()

    def abort(self) -> None:
        """Throw the temporary file away, leaving the destination as it was."""
        if self._file.done:
            return
        with contextlib.suppress(Exception):  # a layer failing to flush must not stop the clean-up
            self._stream.close()
        self._file.discard()


class LocalTarget(Target):
    """A file (or directory) on the local filesystem, written atomically.

    ``format`` is ``Text``/``UTF8`` (the default: str unless the mode has ``b``), ``Nop``
    (bytes unless the mode has ``t``) or ``Gzip`` (compressed, bytes by default).
    ``durable=False`` publishes writes without fsync (atomic, but not safe from a power cut;
    see the module's docstring).
    """

    def __init__(self, path: str | os.PathLike[str], format: Format | None = None, *, durable: bool = True) -> None:
        self.path = os.fspath(path)
        self.format = format or Text
        self.durable = durable

    def __repr__(self) -> str:
        return f"LocalTarget({self.path!r})"

    def __fspath__(self) -> str:
        return self.path

    def exists(self) -> bool:
        """Whether the file or directory is there."""
        return os.path.exists(self.path)

    def open(self, mode: str = "r") -> Any:
        """A file object: ``r``/``rb``/``rt`` read, ``w``/``wb``/``wt`` write atomically (an AtomicWriter)."""
        kind = mode.replace("b", "", 1).replace("t", "", 1)
        if kind not in ("r", "w") or ("b" in mode and "t" in mode):
            raise ValueError(f"unsupported mode {mode!r}: use r, rb, rt, w, wb or wt")
        binary = "b" in mode or ("t" not in mode and self.format.binary)
        if kind == "w":
            self.makedirs()
            return AtomicWriter(self.path, binary=binary, file_format=self.format, durable=self.durable)
        opener: Any = gzip.open if self.format.compression == "gzip" else builtins.open
        if binary:
            return opener(self.path, "rb")
        return opener(self.path, "rt", encoding=self.format.encoding)

    def makedirs(self) -> None:
        """Create the directories the file will live in."""
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)

    def remove(self) -> None:
        """Delete the file, or the directory tree; FileNotFoundError if absent."""
        if os.path.isdir(self.path) and not os.path.islink(self.path):
            shutil.rmtree(self.path)
        else:
            os.unlink(self.path)

    def move(self, new_path: str | os.PathLike[str], raise_if_exists: bool = False) -> None:
        """Rename the file to ``new_path`` (creating its directories); this target keeps its path."""
        destination = os.fspath(new_path)
        if raise_if_exists and os.path.exists(destination):
            raise FileExistsError(destination)
        os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
        os.replace(self.path, destination)

    @contextlib.contextmanager
    def temporary_path(self) -> Iterator[str]:
        """A path for tools that write the output themselves; renamed into place if the block succeeds.

        The path is a hidden sibling that ends with the target's name, so extensions still
        tell tools the format. If the block raises, whatever was written there is removed.
        """
        self.makedirs()
        tmp = temp_path_beside(self.path)
        try:
            yield tmp
        except BaseException:
            if os.path.isdir(tmp) and not os.path.islink(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            raise
        if not os.path.lexists(tmp):
            raise FileNotFoundError(f"nothing was written to the temporary path of {self.path}")
        publish(tmp, self.path, durable=self.durable)
