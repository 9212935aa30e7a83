"""Shared machinery for settings dataclasses: TOML file < ``XRSCHED_*`` environment < flags.

``xrsched.settings.ServerSettings`` and ``xrsched.worker.settings.WorkerSettings`` each define
their options once as dataclass fields; this module reads, converts and layers the values,
raising the caller's error class with a message that names where a bad value came from.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, Field
from pathlib import Path
from typing import Any

ENV_PREFIX = "XRSCHED_"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def env_name(name: str) -> str:
    """The environment variable for a setting: ``XRSCHED_`` + upper-case name."""
    return ENV_PREFIX + name.upper()


def convert(name: str, kind: str, value: Any, origin: str, error: type[Exception]) -> Any:
    """``value`` as a setting of type ``kind`` (the field's annotation); ``error`` names ``origin``."""
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ValueError(value)
        if isinstance(value, bool):
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "Path | None":
            return None if value in (None, "") else Path(str(value)).expanduser()
        if kind in ("str", "str | None"):
            if not isinstance(value, str):
                raise ValueError(value)
            return value or (None if kind == "str | None" else value)
    except (TypeError, ValueError):
        raise error(f"{origin}: {name} expects {kind.replace(' | None', '')}, got {value!r}") from None
    raise error(f"{origin}: {name} cannot be set here")


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """A TOML file's content; ``error`` says clearly why it cannot be had."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise error(f"config file {path} cannot be read: {exc.strerror}") from None


def layer_values(
    options: Iterable[Field[Any]],
    file_values: Mapping[str, Any],
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
    *,
    origin: str,
    error: type[Exception],
) -> dict[str, Any]:
    """Each option's value from the file, then the environment, then flags (later wins), converted.

    File keys may use ``-`` or ``_``; None means "not given" at every layer.
    """
    values: dict[str, Any] = {}
    for f in options:
        kind = str(f.type)
        for source, raw in (
            (origin, file_values.get(f.name, file_values.get(f.name.replace("_", "-"), MISSING))),
            (f"environment {env_name(f.name)}", environ.get(env_name(f.name), MISSING)),
            ("command line", flags.get(f.name, MISSING)),
        ):
            if raw is not MISSING and raw is not None:
                values[f.name] = convert(f.name, kind, raw, source, error)
    return values
