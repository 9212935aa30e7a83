"""Extract → transform → load, with one transform task per partition found at run time.

``Extract`` writes the day's raw sales (CSV). ``Transform`` reads them, discovers which regions
occur, and *yields* one ``TransformRegion`` per region (dynamic dependencies: the graph is not
known until the data is); once they are all done it merges their totals. ``Load`` writes the
merged totals into a SQLite "warehouse", replacing that day's rows, so running it again is
harmless. Every task's output lives under ``XRSCHED_ETL_DATA`` (default ``./etl-data``): a
setting of the deployment, not a task parameter, so task ids stay short (``Extract_2026_11_22_…``)
and name only what the task computes. Every process of a run must see the same value.

Run it with::

    xrsched run --module examples.etl.pipeline Load --date 2026-11-22 --workers 4
"""

from __future__ import annotations

import csv
import os
import random
import sqlite3
from pathlib import Path

import xrsched.task as xt

REGIONS = ("north", "south", "east", "west", "central")


def data_dir() -> Path:
    """Where outputs go: ``$XRSCHED_ETL_DATA`` or ``./etl-data`` (read when used, in each process)."""
    return Path(os.environ.get("XRSCHED_ETL_DATA") or "etl-data")


class EtlTask(xt.Task):
    """The one parameter every step shares: the day."""

    date = xt.DateParameter()

    def path(self, name: str) -> xt.LocalTarget:
        """A target under this day's directory of the data directory."""
        return xt.LocalTarget(str(data_dir() / str(self.date) / name))


class Extract(EtlTask):
    """The day's raw sales: a few hundred rows over the regions that happened to trade that day."""

    def output(self) -> xt.LocalTarget:
        return self.path("raw.csv")

    def run(self) -> None:
        rng = random.Random(str(self.date))  # the same day always gives the same data
        trading = sorted(rng.sample(REGIONS, rng.randint(3, len(REGIONS))))
        with self.output().open("w") as handle:
            writer = csv.writer(handle)
            writer.writerow(["sale", "region", "amount"])
            for sale in range(300):
                writer.writerow([sale, rng.choice(trading), f"{rng.uniform(1, 100):.2f}"])
        self.set_status_message(f"300 sales over {len(trading)} regions")


class TransformRegion(EtlTask):
    """One region's total for the day."""

    region = xt.StrParameter()

    def requires(self) -> Extract:
        return Extract(date=self.date)

    def output(self) -> xt.LocalTarget:
        return self.path(f"region-{self.region}.csv")

    def run(self) -> None:
        total, count = 0.0, 0
        with self.input().open() as handle:
            for row in csv.DictReader(handle):
                if row["region"] == self.region:
                    total += float(row["amount"])
                    count += 1
        with self.output().open("w") as handle:
            csv.writer(handle).writerows([["region", "sales", "total"], [self.region, count, f"{total:.2f}"]])


class Transform(EtlTask):
    """Totals per region; the regions are only known once the raw data is there."""

    def requires(self) -> Extract:
        return Extract(date=self.date)

    def output(self) -> xt.LocalTarget:
        return self.path("totals.csv")

    def run(self):  # noqa: ANN201 (a generator: it yields the tasks it needs)
        with self.input().open() as handle:
            regions = sorted({row["region"] for row in csv.DictReader(handle)})
        self.set_status_message(f"waiting for {len(regions)} regions")
        parts = yield [TransformRegion(date=self.date, region=r) for r in regions]
        rows = []
        for target in parts:
            with target.open() as handle:
                rows.extend(list(csv.reader(handle))[1:])
        with self.output().open("w") as handle:
            csv.writer(handle).writerows([["region", "sales", "total"], *rows])


class Load(EtlTask):
    """The day's totals in ``warehouse.sqlite3`` (table ``sales``), replacing earlier loads of that day."""

    def requires(self) -> Transform:
        return Transform(date=self.date)

    def output(self) -> xt.LocalTarget:
        return self.path("loaded.marker")

    def run(self) -> None:
        with self.input().open() as handle:
            rows = list(csv.DictReader(handle))
        database = data_dir() / "warehouse.sqlite3"
        with sqlite3.connect(database) as db:
            db.execute("CREATE TABLE IF NOT EXISTS sales (day TEXT, region TEXT, sales INTEGER, total REAL)")
            db.execute("DELETE FROM sales WHERE day = ?", (str(self.date),))
            db.executemany(
                "INSERT INTO sales VALUES (?, ?, ?, ?)",
                [(str(self.date), r["region"], int(r["sales"]), float(r["total"])) for r in rows],
            )
        with self.output().open("w") as handle:
            handle.write(f"{len(rows)} regions loaded\n")
