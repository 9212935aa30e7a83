"""HaCoordinator: what a server sharing a PostgreSQL store does when the election decides.

Elected: load the state from the database as a restart does (workers count as active from
now), take the remembered answers to request ids, swap the freshly loaded service in, then
serve. A standby keeps a warm copy of the records meanwhile (:mod:`xrsched.store.pgwarm`,
read in full once it follows a leader, then the changes every ``lock_check_interval``), so
the load at takeover reads only the last changes; without a usable copy it reads everything.
Lost or fenced: stop answering as leader at once, drop the service and its memory
(stale from now on) without writing anything more, and go back to waiting as a standby. The
process keeps running in both cases: a server that stepped down is a standby again, and may
lead again later from what the database holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import psycopg

from xrsched.core import Scheduler
from xrsched.health import StoreHealth
from xrsched.server.app import SchedulerApp
from xrsched.server.leadership import Leadership
from xrsched.service import SchedulerService
from xrsched.settings import ServerSettings
from xrsched.store import StoreError, load_into
from xrsched.store.election import ElectionHooks, LeaderElection
from xrsched.store.pgwarm import WarmStandby
from xrsched.store.postgres import PostgresStore

log = logging.getLogger("xrsched.server")


class HaCoordinator(ElectionHooks):
    """Joins the election, the store's epoch, the leadership view and the app's service."""

    def __init__(
        self,
        settings: ServerSettings,
        store: PostgresStore,
        leadership: Leadership,
        say: Callable[[str], None],
        *,
        make_service: Callable[[Scheduler, PostgresStore], SchedulerService] | None = None,
    ) -> None:
        self.settings = settings
        #: Builds the service of a takeover's freshly loaded core (the runtime's: metrics, audit log).
        self._make_service = make_service or (lambda core, store: SchedulerService(core, store=store))
        self.store = store
        self.leadership = leadership
        self._say = say
        self.app: SchedulerApp | None = None
        self.election: LeaderElection | None = None
        self._db_ok = True
        self._swap = threading.Lock()
        #: The standby's copy of the records, while following a leader (election thread only).
        self._warm: WarmStandby | None = None
        store.on_fenced = self._fenced

    def start(self, app: SchedulerApp, advertise_url: str) -> None:
        """Join the election (after the listeners are up, so the advertised URL answers)."""
        self.app = app
        self.leadership.advertise_url = advertise_url
        self.election = LeaderElection(
            self.store.target,
            self,
            advertise_url=advertise_url,
            lock_check_interval=self.settings.lock_check_interval,
            takeover_delay=self.settings.takeover_delay,
        )
        self._say(f"standby: waiting for the leader lock on {self.store.path} as {advertise_url}")
        self.election.start()

    def stop(self) -> None:
        """Leave the election (closing the lock session releases the lock)."""
        if self.election is not None:
            self.election.stop()
        warm, self._warm = self._warm, None
        if warm is not None:
            warm.stop()

    def store_health(self) -> StoreHealth:
        """postgresql; ok while the leader's writes succeed, or while a standby reaches the database."""
        service = self.app.service if self.app is not None else None
        if self.leadership.leading and service is not None and service.committer is not None:
            return StoreHealth(kind="postgresql", ok=service.committer.healthy)
        return StoreHealth(kind="postgresql", ok=self._db_ok)

    # ------------------------------------------------------------ election hooks

    def following(self, epoch: int, leader_url: str | None) -> None:
        """A standby's view of the leader (no URL before any server has led)."""
        self._db_ok = True
        self.leadership.follow(epoch, leader_url)
        if self._warm is None and leader_url is not None:
            self._warm = WarmStandby(self.store, self._new_core(), self.settings.lock_check_interval)
            self._warm.start()

    def unreachable(self, reason: str) -> None:
        """A standby lost the database: health says so, and no leader is known."""
        self._db_ok = False
        self.leadership.follow(self.leadership.view().epoch, None)

    def renewed(self, lease_until: float) -> None:
        """Extend the lease the request path checks."""
        self._db_ok = True
        self.leadership.renew(lease_until)

    def elected(self, epoch: int) -> None:
        """Load the state in a thread of its own: the election thread keeps the lock alive meanwhile."""
        warm, self._warm = self._warm, None
        threading.Thread(target=self._take_over, args=(epoch, warm), name="xrsched-takeover", daemon=True).start()

    def lost(self, reason: str) -> None:
        """Stop serving at once and drop the stale service."""
        self._step_down(f"lost the leader lock ({reason})")

    # ---------------------------------------------------------------- the steps

    def _take_over(self, epoch: int, warm: WarmStandby | None) -> None:
        started = time.monotonic()
        try:
            self.store.epoch = epoch
            self.store.pool.check()  # drop connections a PostgreSQL restart left broken before reading
            service, source = self._load_service(warm)
        except Exception as exc:
            if isinstance(exc, psycopg.Error | StoreError):
                log.error("could not load the state after winning epoch %d (%s); giving the lock back", epoch,
                          str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)  # fmt: skip
            else:
                log.exception("could not load the state after winning epoch %d; giving the lock back", epoch)
            with self._swap:  # unless a later takeover already replaced this one
                if self.election is not None and self.election.epoch == epoch:
                    self.store.epoch = -1
                    self.election.resign()
            return
        with self._swap:
            if self.election is None or self.election.epoch != epoch or self.app is None:
                service.abandon()  # lost the lock while loading
                return
            self.app.install_service(service).abandon()
            service.start()
            self.leadership.lead(epoch)
        counts = service.counts()
        log.warning(
            "leader at epoch %d: recovered %d tasks and %d workers in %.1fs (%s); serving",
            epoch,
            counts["tasks"],
            counts["workers"],
            time.monotonic() - started,
            source,
        )

    def _new_core(self) -> Scheduler:
        settings = self.settings
        return Scheduler(replace(settings.scheduler, record_task_history=True), settings.resources)

    def _load_service(self, warm: WarmStandby | None) -> tuple[SchedulerService, str]:
        """The service of the state as stored now, and where it came from: the warm copy (read
        after the epoch bump, so the old leader can change nothing more), or a full load."""
        core = warm.take(time.time()) if warm is not None else None
        source = "from the warm standby's copy"
        if core is None:
            core, source = self._new_core(), "loaded in full"
            load_into(self.store, core, time.time())
        service = self._make_service(core, self.store)
        service.seed_replies(self.store.load_replies())
        return service, source

    def _fenced(self) -> None:
        """Called inside a failing write (maybe the committer's own thread): stop answering as
        leader now, and drop the service from another thread (it joins the committer's)."""
        self.leadership.step_down()
        if self.election is not None:
            self.election.resign()
        threading.Thread(target=self._step_down, args=("fenced: another server took over",), daemon=True).start()

    def _step_down(self, reason: str) -> None:
        with self._swap:
            was_leading = self.app is not None and self.app.service.store is not None
            self.leadership.step_down()
            self.store.epoch = -1
            if self.app is not None:
                self.app.install_service(SchedulerService()).abandon()
        if was_leading:
            log.error("stepped down: %s; now a standby", reason)
