"""The writer process's own costs, each alone (issue 19, branch durproc): a batch frame's round
trip between two processes, marshal against pickle for the framing, and what opening the
server's store costs with the writer process and without (interleaved)."""

from __future__ import annotations

import marshal
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from xrsched.store import Batch, SQLiteStore
from xrsched.store.writer_wire import encode_batch, read_frame, send_frame

#: One add_task's batch, as the server encodes it.
BATCH = Batch(
    task_rows={"T(x=1)": ("T(x=1)", '["PENDING","T","m",0.0,true,["w"],[]]', 1.0, 1.0, 1, '{"x":"1"}')},
    worker_rows={"w": '{"a":1}'},
    history=[("T(x=1)", None, "PENDING", 1.0, "w", None)],
)
ECHO = """
from xrsched.store.writer_wire import decode_batch, read_frame, send_frame
while (frame := read_frame(0)) is not None:
    decode_batch(frame)
    send_frame(1, b"")
"""


def round_trip(count: int = 3000) -> None:
    child = subprocess.Popen([sys.executable, "-c", ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    times = []
    for i in range(count):
        started = time.perf_counter()
        send_frame(child.stdin.fileno(), encode_batch(BATCH, f"r:{i}", []))
        read_frame(child.stdout.fileno())
        times.append(time.perf_counter() - started)
    child.stdin.close()
    child.wait()
    times.sort()
    print(f"round trip: median {statistics.median(times) * 1e6:.0f} µs, p90 {times[count * 9 // 10] * 1e6:.0f} µs")


def framing(count: int = 20000) -> None:
    value = ("r:1", [], (BATCH.task_rows, BATCH.removed_tasks, BATCH.worker_rows, BATCH.removed_workers,
                         BATCH.meta, BATCH.history))  # fmt: skip
    for name, dumps, loads in (
        ("marshal", marshal.dumps, marshal.loads),
        ("pickle 5", lambda v: pickle.dumps(v, 5), pickle.loads),
    ):
        data = dumps(value)
        started = time.perf_counter()
        for _ in range(count):
            dumps(value)
        encode = (time.perf_counter() - started) / count * 1e6
        started = time.perf_counter()
        for _ in range(count):
            loads(data)
        decode = (time.perf_counter() - started) / count * 1e6
        print(f"{name}: {len(data)} bytes, encode {encode:.2f} µs, decode {decode:.2f} µs")


def opening(rounds: int = 12) -> None:
    path = Path(tempfile.mkdtemp()) / "state.sqlite3"
    SQLiteStore(path).close()
    opens: dict[bool, list[float]] = {True: [], False: []}
    firsts: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds):
        for writer in (False, True) if i % 2 else (True, False):
            started = time.perf_counter()
            store = SQLiteStore(path, check_in_background=True, writer_process=writer)
            store.verify()
            opens[writer].append(time.perf_counter() - started)
            started = time.perf_counter()
            store.write(Batch(meta="{}"))
            firsts[writer].append(time.perf_counter() - started)
            store.close()
    for writer in (False, True):
        print(f"writer process {'yes' if writer else 'no '}: open {statistics.median(opens[writer]) * 1000:.1f} ms, "
              f"first write {statistics.median(firsts[writer]) * 1000:.1f} ms (medians of {rounds})")  # fmt: skip


if __name__ == "__main__":
    round_trip()
    framing()
    opening()
