"""``xrsched token add|list|rotate|revoke``: manage the tokens file the server reads (DESIGN §3)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from xrsched.auth.roles import Role
from xrsched.auth.tokenfile import Expiry, TokenFileError, TokenRecord, as_utc, parse_expiry, read_tokens
from xrsched.auth.tokens import add_token, list_tokens, revoke_token, rotate_token
from xrsched.durations import format_duration, parse_duration
from xrsched.paths import DEFAULT_STATE_DIR_HELP, default_tokens_path

ROLE_NAMES = [r.label for r in Role.grantable()]


def tokens_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--tokens FILE`` option, with the same default as the server's."""
    return click.option(
        "--tokens",
        "tokens_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Tokens file (default: $XRSCHED_TOKENS, else tokens.toml in the state directory: "
        f"{DEFAULT_STATE_DIR_HELP}).",
    )(func)


def _path(tokens_path: Path | None) -> Path:
    return tokens_path if tokens_path is not None else default_tokens_path()


@contextlib.contextmanager
def _written(path: Path) -> Iterator[None]:
    """Around a change to the tokens file: a bad file, or one that cannot be written, becomes a
    one-line error naming it (exit 1), never a traceback."""
    try:
        yield
    except TokenFileError as exc:
        raise click.ClickException(exc.message) from None
    except OSError as exc:  # e.g. the directory cannot be made or the file not written
        raise click.ClickException(f"{exc.filename or path}: {exc.strerror or exc}") from None


def _expiry(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Expiry | None:
    if value is None:
        return None
    try:
        expires = parse_expiry(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; use e.g. 2027-01-31 or 2027-01-31T12:00:00Z") from None
    if as_utc(expires).timestamp() <= time.time():
        raise click.BadParameter(f"{value} is in the past")
    return expires


def _fmt(value: Expiry | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, _dt.datetime):
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


@click.group()
def token() -> None:
    """Manage API tokens (only their hashes are stored in the tokens file; see rotate for a new secret).

    A running server picks up changes within a second (or at once on SIGHUP).
    """


@token.command("add")
@click.option("--id", "token_id", required=True, help="Token id; also the HTTP Basic user name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLE_NAMES, case_sensitive=False),
    help="viewer: read-only; worker: run tasks; operator: control tasks and workers; admin: all.",
)
@click.option(
    "--expires",
    callback=_expiry,
    metavar="DATE",
    help="Expiry: a date (2027-01-31, i.e. midnight UTC) or an RFC 3339 date-time. Default: never.",
)
@tokens_option
def add_command(token_id: str, role: str, expires: Expiry | None, tokens_path: Path | None) -> None:
    """Add a token and print its secret (once, alone on stdout; it cannot be shown again)."""
    path = _path(tokens_path)
    with _written(path):
        secret = add_token(path, token_id, role, expires)
    click.echo(secret)
    click.echo(
        f"Added token {token_id!r} (role {role.lower()}) to {path}. Keep the secret above safe: "
        "it is not stored and cannot be shown again. Clients send it as "
        "'Authorization: Bearer <secret>' or as the HTTP Basic password with the id as user name. "
        "A running server accepts it at once.",
        err=True,
    )


@token.command("list")
@tokens_option
def list_command(tokens_path: Path | None) -> None:
    """List tokens (id, role, created, expires, expired, pending rotation) and certificate
    mappings; never hashes."""
    path = _path(tokens_path)
    try:
        records = list_tokens(path)
        certificates = read_tokens(path).certificates
    except TokenFileError as exc:
        raise click.ClickException(exc.message) from None
    now = time.time()
    rows = [("ID", "ROLE", "CREATED", "EXPIRES", "EXPIRED", "ROTATION")]
    rows += [
        (r.id, r.role.label, _fmt(r.created), _fmt(r.expires), "yes" if r.expired(now) else "no", _rotation(r, now))
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    if not records:
        click.echo(f"(no tokens in {path})", err=True)
    if certificates:
        click.echo("")
        click.echo("CERTIFICATE CN -> IDENTITY (ROLE)")
        for cert in certificates.values():
            click.echo(f"{cert.cn} -> {cert.identity} ({cert.role.label})")


def _rotation(record: TokenRecord, now: float) -> str:
    """``old secret until T`` while a rotation's grace runs, ``-`` otherwise."""
    if record.previous_until is None or not record.previous_valid(now):
        return "-"
    return f"old secret until {_fmt(record.previous_until)}"


def _grace(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@token.command("rotate")
@click.argument("token_id", metavar="ID")
@click.option(
    "--grace",
    default="24h",
    show_default=True,
    callback=_grace,
    metavar="DURATION",
    help="How long the old secret keeps working (e.g. 30m, 24h, 7d; 0: it stops at once).",
)
@tokens_option
def rotate_command(token_id: str, grace: float, tokens_path: Path | None) -> None:
    """Give token ID a new secret and print it (once, alone on stdout); the old secret keeps
    working until the grace period ends, then stops by itself."""
    path = _path(tokens_path)
    with _written(path):
        secret = rotate_token(path, token_id, grace)
    click.echo(secret)
    old = f"The old secret works for {format_duration(grace)} more" if grace > 0 else "The old secret stops now"
    click.echo(
        f"Rotated token {token_id!r} in {path}. Keep the new secret above safe: it cannot be shown "
        f"again. {old}: put the new one in the clients' --token-file (running workers re-read it "
        "within a second); the audit log marks calls still made with the old one "
        '("rotation":"previous").',
        err=True,
    )


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@tokens_option
def revoke_command(token_id: str, tokens_path: Path | None) -> None:
    """Remove the token ID; a running server refuses it within a second (at once on SIGHUP)."""
    path = _path(tokens_path)
    with _written(path):
        revoke_token(path, token_id)
    click.echo(f"Revoked token {token_id!r} in {path}. A running server refuses it within a second.", err=True)
