"""The garbage collector's thresholds for the server process (issue 19: full passes).

CPython collects its youngest generation every 700 net allocations of container objects; an
object alive at one of those moves to the middle generation, and one alive when that is collected
(every 10 young collections) to the oldest. A full collection (every object the process holds, the
task and worker records included) runs once the objects that reached the oldest generation since
the last one number a quarter of those it kept then.

A server's calls are short but many are in flight at once (threads, a commit batch, the reply
cache): with 700, much of what one call allocates is still alive at two collections and is
promoted to the oldest generation, then dies there. Those promotions count towards the next full
pass as if the records had grown: a 20,000-task fan-in (``benchmarks/e2e.py --gc-probe``) made
25 to 27 full passes over every record, 1.5 to 1.7 s of CPU of the server's 12 to 14 s. With
:data:`YOUNG` allocations between young collections, a call's objects are mostly freed (by
reference counting) before a young collection sees them: the same run made 2 full passes (0.15
s), and the server used 15 % less CPU (median of 6 interleaved pairs; benchmarks/README.md, "The
server's garbage-collector passes"). The records that do live long still reach the oldest
generation and are still collected if they form cycles: nothing is kept from the collector,
unlike ``gc.freeze``.

A young collection then scans up to :data:`YOUNG` objects instead of 700: a few milliseconds,
about 20 times less often.
"""

from __future__ import annotations

import gc

#: Net allocations of container objects between two young collections (CPython's default: 700).
YOUNG = 10_000


def tune_collector() -> None:
    """Collect the youngest generation every :data:`YOUNG` allocations (the older generations'
    thresholds as they are): for the server process, once, before it serves."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
