"""``xrsched audit verify|tail``: check the audit log's hash chain; read it without ``jq``."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import click

from xrsched.audit_read import RecordFilter, search
from xrsched.paths import default_state_dir

#: Exit statuses of ``verify``.
INTACT, BROKEN, UNREADABLE = 0, 1, 2
_COLUMNS = ("ts", "identity", "role", "method", "outcome", "duration_ms", "peer")


def default_audit_path() -> Path:
    """The server's default audit log (``audit.log`` in the state directory)."""
    return default_state_dir() / "audit.log"


@click.group()
def audit() -> None:
    """Check and read the server's audit log (JSON lines, hash-chained)."""


@audit.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The server's --audit-key file: also check every record's HMAC.",
)
@click.option(
    "--anchor",
    metavar="HASH",
    help="A record hash noted earlier (a previous verify, the server log): fail unless that record "
    "is still in the chain, which shows records cut off the end.",
)
def verify_command(files: tuple[Path, ...], key_path: Path | None, anchor: str | None) -> None:
    """Check the chain through FILES, oldest first (e.g. audit.log.2 audit.log.1 audit.log).

    Prints the first bad line as FILE:LINE and what is wrong. Exit 0 intact, 1 broken,
    2 a file or the key cannot be read.
    """
    from xrsched.audit_chain import AuditKeyError, read_key
    from xrsched.audit_verify import verify

    key = None
    if key_path is not None:
        try:
            key = read_key(key_path)
        except AuditKeyError as exc:
            _fail(str(exc))
    try:
        report = verify(list(files), key=key, anchor=anchor.strip().lower() if anchor else None)
    except OSError as exc:
        _fail(f"cannot read {exc.filename or 'a file'}: {exc.strerror or exc}")
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.problem is not None:
        click.echo(f"BROKEN {report.problem}")
        sys.exit(BROKEN)
    if report.records == 0:
        click.echo(f"intact: no chained records in {len(files)} file(s)")
        return
    first = "the chain's start" if report.first_seq == 1 else f"seq {report.first_seq}"
    click.echo(
        f"intact: {report.records} records in {len(files)} file(s), from {first} to seq {report.last_seq}"
        + (f" ({report.unchained} older unchained line(s) before them)" if report.unchained else "")
    )
    click.echo(f"last record hash: {report.last_hash}")


def _fail(message: str) -> None:
    click.echo(f"xrsched: {message}", err=True)
    sys.exit(UNREADABLE)


@audit.command("tail")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--identity", help="Only this caller: token:ops, or just ops.")
@click.option("--method", help="Only this method (a pattern with * is allowed: 'add_*').")
@click.option("--outcome", help="ok, error (anything but ok), or an exact outcome such as 403.")
@click.option("-n", "--lines", "count", type=click.IntRange(1, 100_000), default=20, show_default=True,
              help="How many records (the newest).")  # fmt: skip
@click.option("-f", "--follow", is_flag=True, help="Then print new matching records as they are written.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON lines, as written.")
def tail_command(
    file: Path | None,
    identity: str | None,
    method: str | None,
    outcome: str | None,
    count: int,
    follow: bool,
    as_json: bool,
) -> None:
    """Print the newest audit records (oldest of them first) as a table, or as JSON lines.

    FILE defaults to audit.log in the state directory. The log is read from its end, so this
    is quick on a large log; records of the rotated FILE.1 follow when FILE has too few.
    """
    path = file or default_audit_path()
    if not path.is_file():
        _fail(f"no audit log at {path}")
    wanted = RecordFilter(identity=identity, method=method, outcome=outcome)
    records: list[dict[str, Any]] = []
    before = None
    try:
        while len(records) < count:
            page = search(path, wanted, limit=min(500, count - len(records)), before=before)
            records += page.records
            if page.next is None:
                break
            before = page.next
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    show = _printer(as_json)
    for record in reversed(records):
        show(record)
    if follow:
        _follow(path, wanted, show)


def _printer(as_json: bool) -> Callable[[dict[str, Any]], None]:
    if as_json:
        return lambda record: click.echo(json.dumps(record, separators=(",", ":")))
    click.echo("  ".join(name.upper() for name in _COLUMNS))
    return lambda record: click.echo("  ".join(_cell(record.get(name)) for name in _COLUMNS))


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _follow(path: Path, wanted: RecordFilter, show: Callable[[dict[str, Any]], None]) -> None:
    """Print matching records as they are appended; after a rotation (the name now points at
    another file), finish the old file, then follow the new one from its start."""
    handle = open(path, "rb")  # noqa: SIM115 (swapped for the new file after a rotation)
    handle.seek(0, 2)
    pending = b""
    try:
        while True:
            data = handle.read()
            if data:
                pending = _show_lines(pending + data, wanted, show)
                continue
            if _rotated(path, handle):
                handle.close()
                handle = open(path, "rb")  # noqa: SIM115
                pending = b""
                continue
            time.sleep(0.2)
    except KeyboardInterrupt:
        return
    finally:
        handle.close()


def _rotated(path: Path, handle: BinaryIO) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False  # between logrotate's rename and the server's new file
    mine = os.fstat(handle.fileno())
    return (st.st_dev, st.st_ino) != (mine.st_dev, mine.st_ino)


def _show_lines(data: bytes, wanted: RecordFilter, show: Callable[[dict[str, Any]], None]) -> bytes:
    """Show the whole lines of ``data`` that match; return the unfinished rest."""
    cut = data.rfind(b"\n") + 1
    for line in data[:cut].splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and wanted.matches(record):
            show(record)
    return data[cut:]
