"""Asking a running scheduler from the command line: one client, one error policy, three exit statuses.

Every operator command (``xrsched task``, ``tasks``, ``workers``, ``worker``, ``pause``...) calls
the scheduler through :func:`asking` and so fails the same way: 1 when the scheduler answered
no (no such task or worker, the token's role is too low, a value it refused), 2 when it could
not be asked (unreachable, TLS, a bad or unreadable token, a server error).
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from xrsched.client import RemoteScheduler

EXIT_OK, EXIT_REFUSED, EXIT_CANNOT_ASK = 0, 1, 2
#: Seconds to keep retrying a scheduler that does not answer.
PATIENCE = 10.0


class Refused(Exception):
    """The scheduler answered, but not with what the command was asked to do (exit status 1)."""


def fail(command: str, message: str, status: int) -> NoReturn:
    """Print ``xrsched COMMAND: message`` on stderr and exit with ``status``."""
    click.echo(f"xrsched {command}: {message}", err=True)
    sys.exit(status)


@contextmanager
def asking(
    command: str, scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None
) -> Iterator[RemoteScheduler]:
    """A connected client for the block; the block's client errors become one line and an exit status."""
    from xrsched.client import RemoteScheduler, TokenError
    from xrsched.client.errors import BadRequest, ClientError, Conflict, Forbidden, NoSuchMethod, NotFound
    from xrsched.client.retrying import Patience

    try:
        client = RemoteScheduler(scheduler_url, token, ca=ca, token_file=token_file, timeout=30.0)
    except (TokenError, ValueError) as exc:
        fail(command, str(exc), EXIT_CANNOT_ASK)
    client.patience = Patience(PATIENCE)  # one line while it retries, not one per retry
    try:
        with client:
            yield client
    except Refused as exc:
        fail(command, str(exc), EXIT_REFUSED)
    except Forbidden as exc:
        fail(command, f"refused by the scheduler: {exc.message}", EXIT_REFUSED)
    except NoSuchMethod as exc:
        fail(command, f"the scheduler at {scheduler_url} is too old for this command: {exc.message}", EXIT_CANNOT_ASK)
    except (NotFound, Conflict, BadRequest) as exc:
        fail(command, exc.message, EXIT_REFUSED)
    except ClientError as exc:
        hint = " (use --ca FILE or XRSCHED_CA)" if ca is None and "certificate verif" in str(exc) else ""
        fail(command, f"cannot ask the scheduler at {scheduler_url}: {exc}{hint}", EXIT_CANNOT_ASK)


def when(stamp: float | None) -> str:
    """A time from the scheduler as UTC, to the second (``-`` when there is none)."""
    if stamp is None:
        return "-"
    return _dt.datetime.fromtimestamp(stamp, _dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return lines


def print_json(value: Any) -> None:
    """``--json`` output: the scheduler's reply as it came, indented, keys sorted."""
    click.echo(json.dumps(value, indent=2, sort_keys=True))
