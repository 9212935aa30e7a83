"""Export and import of the whole state as one JSON document (backups, moves between hosts)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xrsched.atomicfile import AtomicFile
from xrsched.core.config import RetryPolicy
from xrsched.core.model import Task

from .base import StateStore, StoreError
from .migrations import SCHEMA_VERSION, TASK_COLUMNS_V1, upgrade_v1_row
from .records import TASK_COLUMNS, RecordError, TaskDecoder, decode_meta, decode_worker

FORMAT = "xrsched-state"


def export_state(store: StateStore, target: Path) -> dict[str, int]:
    """Write every record to ``target`` (atomically); returns the counts written."""
    with store.reading():
        tasks = {row[0]: list(row[1:]) for row in store.iter_tasks()}
        workers = {worker_id: json.loads(row) for worker_id, row in store.iter_workers()}
        meta = json.loads(store.load_meta() or "{}")
    document = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "meta": meta,
        "workers": workers,
        "tasks": tasks,
    }
    with AtomicFile(target, permissions=0o600) as new:
        text = io.TextIOWrapper(new.stream, encoding="utf-8")
        json.dump(document, text, separators=(",", ":"))
        text.flush()
    return {"tasks": len(tasks), "workers": len(workers)}


def import_state(store: StateStore, source: Path, *, force: bool = False) -> dict[str, int]:
    """Replace the store's records with those in ``source`` after checking every one decodes."""
    try:
        document = json.loads(source.read_text())
    except FileNotFoundError:
        raise StoreError(f"{source} does not exist") from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{source} is not a JSON export: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StoreError(f"{source} is not an xrsched state export (no format: {FORMAT})")
    version = document.get("schema_version")
    if version not in range(1, SCHEMA_VERSION + 1):  # versions 2 and later store tasks alike
        raise StoreError(f"{source} has schema version {version}, this xrsched reads 1 to {SCHEMA_VERSION}")
    if not force and store.counts()["tasks"]:
        raise StoreError(f"{store.path} already holds tasks; use --force to replace them")
    raw_tasks = document.get("tasks") or {}
    if not isinstance(raw_tasks, dict) or not all(isinstance(v, list) for v in raw_tasks.values()):
        raise StoreError(f"{source}: the export's tasks must map ids to arrays of columns")
    tasks = [(str(task_id), *columns) for task_id, columns in raw_tasks.items()]
    workers = _rows(document, "workers")
    meta = json.dumps(document.get("meta") or {}, separators=(",", ":"))
    decoder = TaskDecoder(RetryPolicy())
    columns = TASK_COLUMNS_V1 if version == 1 else TASK_COLUMNS
    try:
        for row in tasks:
            if len(row) != len(columns):
                raise RecordError(f"task {row[0]!r}: expected {len(columns)} columns")
        if version == 1:
            tasks = [upgrade_v1_row(row) for row in tasks]
        for start in range(0, len(tasks), 10_000):
            check_params(decoder.decode_rows(tasks[start : start + 10_000]))
        for worker_id, row in workers:
            decode_worker(worker_id, row, 0.0)
        decode_meta(meta)
    except (RecordError, ValueError, TypeError, AttributeError) as exc:
        raise StoreError(f"{source}: {exc}") from None
    store.replace_all(tasks, workers, meta)
    return {"tasks": len(tasks), "workers": len(workers)}


def check_params(tasks: Iterable[Task]) -> None:
    """Decode every task's parameters: start-up only checks their framing (records come from
    our own writes there), an import takes them from a file anyone may have edited."""
    for task in tasks:
        try:
            task.params  # noqa: B018 (decoding is the check)
        except ValueError:
            raise RecordError(f"task {task.id!r}: params are not a JSON object") from None


def _rows(document: dict[str, Any], key: str) -> list[tuple[str, str]]:
    rows = document.get(key) or {}
    if not isinstance(rows, dict):
        raise StoreError(f"the export's {key} must be an object")
    return [(str(k), json.dumps(v, separators=(",", ":"))) for k, v in rows.items()]
