"""Dependency-graph draw times of the dashboard in headless Chromium (issue 15).

A real scheduler (TLS, audit log) with the dashboard; graphs of N tasks registered through
``system.multicall`` (node ``i`` depends on ``2i+1``, ``2i+2`` and, for multiples of 7, on
``i+1``; three families; every fourth task DONE); a viewer signs in with Debian's Chromium
(selenium, /usr/bin/chromedriver) and opens ``#/graph/<root>``. The page itself reports:

- fetch: the ``dep_graph`` request, answer parsed;
- layout: longest-path layering + barycentre ordering + rows (``graph-layout.js``);
- DOM: layout plus building and inserting the SVG;
- painted: until the frame after the insertion (the browser's style, layout and paint of the SVG);
- end to end: from the route change to the drawn graph, seen from selenium.

Graphs above 2,500 nodes are drawn by family (one node per family). Median of ``--reps`` opens.
Usage: ``python benchmarks/dashboard_graph.py [--sizes 500,1000,2000,5000] [--reps 3] [--write]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from harness import machine_info, write_block  # noqa: E402

from tests.dashboard.browser import missing_browser, start_chromium  # noqa: E402
from tests.dashboard.graphs import add_tree  # noqa: E402
from tests.dashboard.livesite import Page, dashboard_server  # noqa: E402

README = HERE / "README.md"
BEGIN = "<!-- dashboard-graph:begin -->"
END = "<!-- dashboard-graph:end -->"
TARGET_SECONDS = 3.0


def measure(page: Page, root: str, reps: int) -> dict[str, float | str]:
    """Open the graph of ``root`` ``reps`` times (leaving it in between); medians."""
    samples: dict[str, list[float]] = {"fetch": [], "layout": [], "dom": [], "painted": [], "end": []}
    figures: dict[str, str] = {}
    for _ in range(reps):
        page.go("#/workers")
        started = time.monotonic()
        page.go("#/graph/" + quote(root, safe=""))
        page.wait(lambda: page.js("return document.querySelector('svg.graph')?.dataset.paintMs"), "the paint", 60)
        samples["end"].append(time.monotonic() - started)
        figures = page.js("return Object.assign({}, document.querySelector('svg.graph').dataset)")
        samples["fetch"].append(float(figures["fetchMs"]))
        samples["layout"].append(float(figures["layoutMs"]))
        samples["dom"].append(float(figures["drawMs"]))
        samples["painted"].append(float(figures["paintMs"]))
        assert len(page.all("svg.graph g.node")) == int(figures["drawn"])
    result: dict[str, float | str] = {name: statistics.median(values) for name, values in samples.items()}
    result["nodes"] = figures["nodes"]
    drawn = int(figures["drawn"])
    result["drawn"] = f"{drawn:,} families" if figures["collapsed"] == "true" else f"{drawn:,} tasks"
    return result


def table(rows: list[dict[str, float | str]]) -> str:
    lines = [
        "| tasks in graph | drawn as | fetch ms | layout ms | DOM ms | painted ms | end to end s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {int(row['nodes']):,} | {row['drawn']} | {row['fetch']:.0f} | {row['layout']:.0f} | {row['dom']:.0f} "
            f"| {row['painted']:.0f} | {row['end']:.2f} |"
        )
    return "\n".join(lines)


def write_readme(body: str, reps: int) -> None:
    """Replace (or append) this benchmark's block of benchmarks/README.md."""
    section = (
        f"{BEGIN}\n## Dashboard: dependency graph\n\n"
        "Draw times of the dashboard's graph page in headless Chromium (see the docstring of "
        "`dashboard_graph.py`): a real scheduler over TLS, a viewer signed in, `#/graph/<root>` opened "
        f"{reps} times per size (medians). fetch: the `dep_graph` call; layout: layering and "
        "ordering in JS; DOM: layout plus building the SVG; painted: until the next frame was drawn; "
        "end to end: route change to drawn graph, as selenium sees it. Above 2,500 tasks the graph "
        f"is drawn by family. Target from issue 15: a 1,000-task graph on screen in under {TARGET_SECONDS:.0f} s.\n\n"
        "How to reproduce: `.venv/bin/python benchmarks/dashboard_graph.py --write` "
        "(needs `chromium` and `chromium-driver`: `scripts/install-test-packages.sh`).\n\n"
        f"{body}\n{END}"
    )
    write_block(README, BEGIN, END, section)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000,5000", help="graph sizes, comma-separated")
    parser.add_argument("--reps", type=int, default=3, help="opens per size (median)")
    parser.add_argument("--write", action="store_true", help="rewrite the table in benchmarks/README.md")
    args = parser.parse_args()
    reason = missing_browser()
    if reason is not None:
        print(reason, file=sys.stderr)
        return 2
    sizes = [int(size) for size in args.sizes.split(",")]
    info = machine_info(packages=("selenium",))
    rows = []
    with tempfile.TemporaryDirectory(prefix="xrs-dashbench-") as directory, dashboard_server(Path(directory)) as server:
        roots = {size: add_tree(server, f"G{size}x", size, done_every=4) for size in sizes}
        driver = start_chromium()
        try:
            page = Page(driver, server)
            page.sign_in("view")
            info["chromium"] = driver.capabilities.get("browserVersion", "?")
            for size in sizes:
                rows.append(measure(page, roots[size], args.reps))
                print(f"{size}: {rows[-1]}", flush=True)
        finally:
            driver.quit()
    body = table(rows) + "\n\n" + "\n".join(f"- {key}: {value}" for key, value in info.items()) + "\n"
    print(body)
    if args.write:
        write_readme(body, args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
