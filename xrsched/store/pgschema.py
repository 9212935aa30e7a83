"""The PostgreSQL schema: the SQLite store's records plus what servers sharing it need.

Tables are prefixed ``xrsched_`` so the database may hold other things. Besides tasks, workers,
settings and history: ``xrsched_leader`` (one row: the fencing epoch and the leader's URL) and
``xrsched_replies`` (answers to request ids, so a call retried across a failover gets its first
answer). The schema version shares its numbering with SQLite's (records.TASK_COLUMNS is the
task layout of version 2), so both stores hold the same rows and the same rules apply: a newer
schema is refused, an older one migrated in one transaction per version.

Version 4 adds change numbers for warm standbys (:mod:`.pgwarm`): every task, worker and
settings row carries the number of the write that last changed it, ``xrsched_removed`` the
number of the write that deleted a task or worker, and ``xrsched_changes`` (one row) the last
number handed out, the number of the last full replacement (``xrsched state import``) and the
highest number of the removals trimmed away. Why a reader may trust ``last``: see
:data:`NEXT_CHANGE`.
"""

from __future__ import annotations

from .migrations import SCHEMA_VERSION

#: Serializes schema creation and migration between servers starting at once (any constant).
SCHEMA_LOCK_KEY = 0x78727363_00000001
#: The advisory lock whose holder leads (session level, on the election's own connection).
LEADER_LOCK_KEY = 0x78727363_00000002

#: Version 4's tables and indexes of change numbers (the columns are added by the migration or
#: created with the tables).
_CHANGES_V4: tuple[str, ...] = (
    "CREATE INDEX xrsched_tasks_by_change ON xrsched_tasks(change)",
    "CREATE INDEX xrsched_workers_by_change ON xrsched_workers(change)",
    "CREATE TABLE xrsched_changes (id integer PRIMARY KEY CHECK (id = 1), last bigint NOT NULL, "
    "reset bigint NOT NULL, trimmed bigint NOT NULL)",
    "INSERT INTO xrsched_changes(id, last, reset, trimmed) VALUES (1, 0, 0, 0)",
    "CREATE TABLE xrsched_removed (kind text NOT NULL, id text NOT NULL, change bigint NOT NULL, "
    "time double precision NOT NULL, PRIMARY KEY (kind, id))",
    "CREATE INDEX xrsched_removed_by_change ON xrsched_removed(change)",
    "CREATE INDEX xrsched_removed_by_time ON xrsched_removed(time)",
)

CURRENT_SCHEMA: tuple[str, ...] = (
    "CREATE TABLE xrsched_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)",
    "CREATE TABLE xrsched_meta (key text PRIMARY KEY, value text NOT NULL, change bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE xrsched_tasks (id text PRIMARY KEY, head text NOT NULL, time double precision NOT NULL, "
    "updated double precision NOT NULL, seq bigint NOT NULL, data text NOT NULL, change bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE xrsched_workers (id text PRIMARY KEY, row text NOT NULL, change bigint NOT NULL DEFAULT 0)",
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
    *_CHANGES_V4,
    f"INSERT INTO xrsched_schema(id, version) VALUES (1, {int(SCHEMA_VERSION)})",  # noqa: S608 (a constant)
)

#: version -> statements that bring a PostgreSQL schema from version-1 to version. The PostgreSQL
#: store was born at version 2; version 3 changed SQLite only. Version 4: change numbers (rows
#: written before it count as change 0, which every standby's full read covers).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    4: (
        "ALTER TABLE xrsched_meta ADD COLUMN change bigint NOT NULL DEFAULT 0",
        "ALTER TABLE xrsched_tasks ADD COLUMN change bigint NOT NULL DEFAULT 0",
        "ALTER TABLE xrsched_workers ADD COLUMN change bigint NOT NULL DEFAULT 0",
        *_CHANGES_V4,
    )
}

#: The first statement of a write that changes tasks, workers or settings: the next change
#: number, which the write's rows then carry (:data:`THIS_CHANGE`).
#:
#: Why a reader may take ``last`` as "every change up to here is visible": the UPDATE holds the
#: row's lock until its transaction ends, so two such writes never overlap: the second waits, then
#: (READ COMMITTED re-reads a row it waited for) counts on from the first's committed number, or
#: from the same number if the first rolled back. Numbers therefore become visible in increasing
#: order, and a snapshot that shows ``last = n`` shows every row written with a number up to n
#: and none above it. A sequence (``nextval``) would not do: its numbers are taken at statement
#: time and become visible at commit, in any order. Serializing costs the leader nothing it does
#: not pay already: its group committer writes one batch at a time.
NEXT_CHANGE = "UPDATE xrsched_changes SET last = last + 1 WHERE id = 1"
#: The change number of the write in progress (after :data:`NEXT_CHANGE`, same transaction).
THIS_CHANGE = "(SELECT last FROM xrsched_changes WHERE id = 1)"

_TASK_COLUMNS = "id, head, time, updated, seq, data"
UPSERT_TASK = (
    f"INSERT INTO xrsched_tasks({_TASK_COLUMNS}, change) VALUES (%s, %s, %s, %s, %s, %s, {THIS_CHANGE}) "  # noqa: S608
    "ON CONFLICT (id) DO UPDATE SET head = EXCLUDED.head, time = EXCLUDED.time, updated = EXCLUDED.updated, "
    "seq = EXCLUDED.seq, data = EXCLUDED.data, change = EXCLUDED.change"
)
SELECT_TASKS = f"SELECT {_TASK_COLUMNS} FROM xrsched_tasks"  # noqa: S608 (fixed names)
#: The task rows a write numbered above %s changed.
SELECT_CHANGED_TASKS = f"SELECT {_TASK_COLUMNS} FROM xrsched_tasks WHERE change > %s"  # noqa: S608 (fixed names)
UPSERT_WORKER = (
    f"INSERT INTO xrsched_workers(id, row, change) VALUES (%s, %s, {THIS_CHANGE}) "  # noqa: S608 (fixed names)
    "ON CONFLICT (id) DO UPDATE SET row = EXCLUDED.row, change = EXCLUDED.change"
)
UPSERT_META = (
    f"INSERT INTO xrsched_meta(key, value, change) VALUES ('scheduler', %s, {THIS_CHANGE}) "  # noqa: S608
    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, change = EXCLUDED.change"
)
#: Deleting rows of a kind ('task', 'worker'): remember each id with this write's number.
#: Parameters: the ids, the time.
REMOVE_ROWS = {
    kind: (
        f"WITH gone AS (DELETE FROM xrsched_{kind}s WHERE id = ANY(%s) RETURNING id) "  # noqa: S608 (fixed names)
        f"INSERT INTO xrsched_removed(kind, id, change, time) SELECT '{kind}', id, {THIS_CHANGE}, %s FROM gone "
        "ON CONFLICT (kind, id) DO UPDATE SET change = EXCLUDED.change, time = EXCLUDED.time"
    )
    for kind in ("task", "worker")
}
INSERT_HISTORY = "INSERT INTO xrsched_history(task_id, old, new, time, worker, host) VALUES (%s, %s, %s, %s, %s, %s)"
INSERT_REPLY = (
    "INSERT INTO xrsched_replies(caller, request_id, method, answer, time) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (caller, request_id) DO NOTHING"
)
