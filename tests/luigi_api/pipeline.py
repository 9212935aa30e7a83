"""A 50-task Luigi pipeline (Top <- 7 Mid <- 6 Leaf each) that records every run in a file.

Written to the test's tmp_path and imported by ``luigi --module pipeline``; ``PIPELINE_DIR``
says where outputs and the run log go. Each run appends its task id with one ``O_APPEND``
write, so runs from several processes and commands never interleave within a line.
"""

import os
import time

import luigi

OUT = os.environ["PIPELINE_DIR"]
LEAVES_PER_MID = 6
MIDS = 7


def _record(task: luigi.Task) -> None:
    fd = os.open(os.path.join(OUT, "runs.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (task.task_id + "\n").encode())
    finally:
        os.close(fd)


class _Recorded(luigi.Task):
    def output(self):
        return luigi.LocalTarget(os.path.join(OUT, "out", self.task_id))

    def run(self):
        _record(self)
        time.sleep(float(os.environ.get("PIPELINE_TASK_SECONDS", "0.02")))
        with self.output().open("w") as handle:
            handle.write("done\n")


class Leaf(_Recorded):
    n = luigi.IntParameter()


class Mid(_Recorded):
    k = luigi.IntParameter()

    def requires(self):
        return [Leaf(n=self.k * LEAVES_PER_MID + i) for i in range(LEAVES_PER_MID)]


class Top(_Recorded):
    def requires(self):
        return [Mid(k=k) for k in range(MIDS)]
