"""The PostgreSQL schema: the SQLite store's records plus what servers sharing it need.

Tables are prefixed ``xrsched_`` so the database may hold other things. Besides tasks, workers,
settings and history: ``xrsched_leader`` (one row: the fencing epoch and the leader's URL) and
``xrsched_replies`` (answers to request ids, so a call retried across a failover gets its first
answer). The schema version shares its numbering with SQLite's (records.TASK_COLUMNS is the
task layout of version 2), so both stores hold the same rows and the same rules apply: a newer
schema is refused, an older one migrated in one transaction per version.
"""

from __future__ import annotations

from .migrations import SCHEMA_VERSION

#: Serializes schema creation and migration between servers starting at once (any constant).
SCHEMA_LOCK_KEY = 0x78727363_00000001
#: The advisory lock whose holder leads (session level, on the election's own connection).
LEADER_LOCK_KEY = 0x78727363_00000002

CURRENT_SCHEMA: tuple[str, ...] = (
    "CREATE TABLE xrsched_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)",
    "CREATE TABLE xrsched_meta (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE xrsched_tasks (id text PRIMARY KEY, head text NOT NULL, time double precision NOT NULL, "
    "updated double precision NOT NULL, seq bigint NOT NULL, data text NOT NULL)",
    "CREATE TABLE xrsched_workers (id text PRIMARY KEY, row text NOT NULL)",
    "CREATE TABLE xrsched_history (seq bigserial PRIMARY KEY, task_id text NOT NULL, old text, new text NOT NULL, "
    "time double precision NOT NULL, worker text, host text)",
    "CREATE INDEX xrsched_history_by_task ON xrsched_history(task_id, seq)",
    "CREATE INDEX xrsched_history_by_time ON xrsched_history(time)",
    "CREATE TABLE xrsched_leader (id integer PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL, url text, "
    "since double precision)",
    "INSERT INTO xrsched_leader(id, epoch) VALUES (1, 0)",
    "CREATE TABLE xrsched_replies (seq bigserial, caller text NOT NULL, request_id text NOT NULL, "
    "method text NOT NULL, answer text NOT NULL, time double precision NOT NULL, PRIMARY KEY (caller, request_id))",
    "CREATE INDEX xrsched_replies_by_seq ON xrsched_replies(seq)",
    f"INSERT INTO xrsched_schema(id, version) VALUES (1, {int(SCHEMA_VERSION)})",  # noqa: S608 (a constant)
)

#: version -> statements that bring a PostgreSQL schema from version-1 to version. The PostgreSQL
#: store was born at version 2, so there is nothing to migrate yet.
MIGRATIONS: dict[int, tuple[str, ...]] = {}

_TASK_COLUMNS = "id, head, time, updated, seq, data"
UPSERT_TASK = (
    f"INSERT INTO xrsched_tasks({_TASK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "  # noqa: S608 (fixed names)
    "ON CONFLICT (id) DO UPDATE SET head = EXCLUDED.head, time = EXCLUDED.time, updated = EXCLUDED.updated, "
    "seq = EXCLUDED.seq, data = EXCLUDED.data"
)
SELECT_TASKS = f"SELECT {_TASK_COLUMNS} FROM xrsched_tasks"  # noqa: S608 (fixed names)
UPSERT_WORKER = "INSERT INTO xrsched_workers(id, row) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET row = EXCLUDED.row"
UPSERT_META = (
    "INSERT INTO xrsched_meta(key, value) VALUES ('scheduler', %s) "
    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
)
INSERT_HISTORY = "INSERT INTO xrsched_history(task_id, old, new, time, worker, host) VALUES (%s, %s, %s, %s, %s, %s)"
INSERT_REPLY = (
    "INSERT INTO xrsched_replies(caller, request_id, method, answer, time) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (caller, request_id) DO NOTHING"
)
