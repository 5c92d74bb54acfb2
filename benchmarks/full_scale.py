"""Full-scale benchmark: the whole daily graph through Dagster, side by side with a DuckDB reference build.

    python -m benchmarks.full_scale --scale 1.0

Generates (or reuses, keyed by scale and seed) a sample under benchmarks/out/samples/, then:

1. materializes every asset and check of one partition except TMDb enrichment with `dagster asset materialize`
   on the `file` source, in a fresh DAGSTER_HOME and data directory (the same executor and IO manager as a
   user's run), and prints each asset's step seconds, rows out, rows/s and peak RSS from the
   `pipeline_metrics.json` the KPI asset writes, with the end-to-end wall time, CPU seconds and slowest steps;
2. builds the same cleaned tables, star schema and headline KPIs with `benchmarks/duckdb_reference.sql` in a
   process of its own, and prints its wall time, CPU seconds and peak RSS;
3. prints the ratio ours / DuckDB and writes every figure to benchmarks/out/full_scale-<scale>.json.

It exits non-zero when the two builds disagree on the row count of a table or on the KPI headline figures
(C, m and the top-10 movies and TV series), so the comparison is between equal results.
`--rematerialize` runs the same partition a second time in the same DAGSTER_HOME and reports its times: the raw
files are unchanged, so nothing is fetched again and the clean steps keep their tables instead of re-parsing.
`--next-day` then runs the generator's next day in the same DAGSTER_HOME and data directory, as the daily run users
have: SCD2 against the published history, trending against the day before. It is reported like the first day (JSON
`next_day`), with the bytes the day added on disk.
"""

import argparse
import datetime as dt
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from benchmarks.common import BENCHMARK_DIR, cached_sample, print_table, run_measured, sample_argument_parser
from media_assets.model.transforms import MODEL_TABLES
from media_assets.resources import ModelSettings
from media_assets.telemetry import peak_rss_bytes

REPO_DIR = BENCHMARK_DIR.parent
REFERENCE_SQL = BENCHMARK_DIR / "duckdb_reference.sql"
CLEAN_TABLES = ("clean_title_basics", "clean_title_ratings", "clean_name_basics", "clean_title_principals")
COMPARED_TABLES = (*CLEAN_TABLES, *MODEL_TABLES)
TOP_COMPARED = 10
SLOWEST_SHOWN = 5


def children_cpu_seconds() -> float:
    """User + system CPU seconds of the children waited for so far (their own children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ProcessTreeCpu:
    """CPU seconds of a process and all its descendants, sampled from /proc while they run.

    `RUSAGE_CHILDREN` does not do here: the multiprocess executor's forkserver reaps the step processes and is
    never waited for itself, so their CPU time would not reach this process. Each process's own user + system
    time is sampled every `interval` seconds and its last value kept, so up to `interval` per process is missed.
    """

    def __init__(self, root_pid: int, interval: float = 0.1) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.ticks: dict[tuple[int, int], int] = {}  # (pid, start time) -> user + system clock ticks
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        parents, stats = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry.name)
            parents[pid] = int(fields[1])
            # fields[11], [12]: utime, stime; [19]: start time (tells a reused pid apart).
            stats[pid] = (int(fields[19]), int(fields[11]) + int(fields[12]))
        tree = {self.root_pid}
        for pid in sorted(parents):
            chain, current = [], pid
            while current in parents and current not in tree and current > 1:
                chain.append(current)
                current = parents[current]
            if current in tree:
                tree.update(chain)
        for pid in tree & stats.keys():
            start, ticks = stats[pid]
            self.ticks[(pid, start)] = ticks

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "ProcessTreeCpu":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


# --- DuckDB reference (child process) -----------------------------------------------------------------------------


def reference_sql(raw_dir: Path, out_dir: Path, snapshot_date: dt.date) -> str:
    title_types = ", ".join(f"'{title_type}'" for title_type in ModelSettings().title_types)
    return REFERENCE_SQL.read_text().format(
        raw=raw_dir,
        out=out_dir,
        date=snapshot_date.isoformat(),
        snapshot_year=snapshot_date.year,
        last_title_year=snapshot_date.year + 30,
        title_types=f"({title_types})",
    )


def run_reference(raw_dir: Path, out_dir: Path, snapshot_date: dt.date) -> dict:
    """Build everything with DuckDB (all cores, default memory limit); returns its figures and results."""
    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(reference_sql(raw_dir, out_dir, snapshot_date))
    seconds = time.perf_counter() - started
    m, c = connection.execute("SELECT m, c FROM rating_parameters").fetchone()
    top = connection.execute("SELECT kind, list(title_id ORDER BY rank) FROM kpi_top_titles GROUP BY kind").fetchall()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "build_seconds": round(seconds, 3),
        "cpu_seconds": round(cpu.ru_utime + cpu.ru_stime, 2),
        "peak_rss_bytes": peak_rss_bytes(),
        "rows": {table: pq.ParquetFile(out_dir / f"{table}.parquet").metadata.num_rows for table in COMPARED_TABLES},
        "m": m,
        "C": c,
        "top_titles": dict(top),
    }


# --- our build through Dagster ------------------------------------------------------------------------------------


def materialize(sample_dir: Path, run_dir: Path, partition_key: str) -> dict:
    """`dagster asset materialize` of the daily graph as a user would run it; returns wall and CPU seconds."""
    home, data = run_dir / "dagster_home", run_dir / "data"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_DIR / "dagster.yaml", home / "dagster.yaml")
    env = os.environ | {
        "IMDB_SOURCE": "file",
        # The sample's folder is named by its day: a dated mirror, so a past day is served.
        "IMDB_FOLDER": str(sample_dir.parent / "{date}"),
        "MEDIA_ASSETS_DATA_DIR": str(data),
        "DAGSTER_HOME": str(home),
    }
    command = [
        str(Path(sys.executable).with_name("dagster")),
        *("asset", "materialize", "-m", "media_assets.definitions"),
        *("--select", "not group:enrichment", "--partition", partition_key),
    ]
    started = time.perf_counter()
    log_path = run_dir / f"dagster-{time.time_ns()}.log"
    with log_path.open("w") as log:
        # Started from the home: dagster.yaml's paths (.dagster/) are relative to the working directory.
        process = subprocess.Popen(command, env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
        with ProcessTreeCpu(process.pid) as cpu:
            process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-40:])
        raise RuntimeError(f"dagster asset materialize failed ({process.returncode}), log {log_path}:\n{tail}")
    return {"wall_seconds": round(seconds, 2), "cpu_seconds": round(cpu.seconds, 2)}


def our_results(data_dir: Path, partition_key: str) -> dict:
    """Row counts of our tables and the KPI headline figures from kpis.json."""
    kpis = json.loads((data_dir / "kpis" / partition_key / "kpis.json").read_text())
    top = kpis["kpis"]["top_rated_titles"]["tables"]
    return {
        "rows": {
            table: pq.ParquetFile(data_dir / "tables" / table / f"{partition_key}.parquet").metadata.num_rows
            for table in COMPARED_TABLES
        },
        "m": kpis["parameters"]["m"],
        "C": kpis["parameters"]["C"],
        "top_titles": {kind: [row["title_id"] for row in rows] for kind, rows in top.items()},
    }


def disagreements(ours: dict, reference: dict) -> list[str]:
    """What the two builds do not agree on (empty when they agree)."""
    problems = [
        f"{table}: {ours['rows'][table]} rows here, {reference['rows'][table]} in DuckDB"
        for table in COMPARED_TABLES
        if ours["rows"][table] != reference["rows"][table]
    ]
    for name in ("m", "C"):
        if (ours[name] is None) != (reference[name] is None) or (
            ours[name] is not None and not math.isclose(ours[name], reference[name], rel_tol=1e-9)
        ):
            problems.append(f"{name}: {ours[name]} here, {reference[name]} in DuckDB")
    for kind, title_ids in ours["top_titles"].items():
        reference_ids = reference["top_titles"].get(kind, [])[:TOP_COMPARED]
        if title_ids[:TOP_COMPARED] != reference_ids:
            problems.append(f"top {TOP_COMPARED} {kind}: {title_ids[:TOP_COMPARED]} here, {reference_ids} in DuckDB")
    return problems


def step_rows(metrics: dict) -> list[dict]:
    """One row per step: an asset's own, or several assets' (raw files: no rows counted)."""
    assets_by_step: dict[str, list[dict]] = {}
    for asset, figures in metrics["assets"].items():
        assets_by_step.setdefault(figures["step_key"] or asset, []).append(figures)
    rows = []
    for step, assets in sorted(assets_by_step.items(), key=lambda item: -(item[1][0]["seconds"] or 0)):
        seconds = assets[0]["seconds"]
        rows_out = None if any(f["rows_out"] is None for f in assets) else sum(f["rows_out"] for f in assets)
        peak = max(figures["peak_rss_bytes"] or 0 for figures in assets)
        rows.append(
            {
                "step": step,
                "seconds": seconds,
                "rows_out": rows_out,
                "rows_per_s": round(rows_out / seconds) if rows_out and seconds else "",
                "peak_rss_mb": round(peak / 1e6) if peak else "",
            }
        )
    return rows


def bytes_under(folder: Path) -> int:
    """Bytes of the files under a folder, each inode once (published tables are hard links of staged ones)."""
    seen, total = set(), 0
    for path in folder.rglob("*"):
        stat = path.lstat()
        if path.is_file() and (stat.st_dev, stat.st_ino) not in seen:
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_size
    return total


def measure_next_day(args: argparse.Namespace, first_sample: Path, run_dir: Path, day: dt.date) -> dict:
    """Run the generator's next day on top of the first one and report it like the first."""
    next_sample, generated_seconds = cached_sample(args.work_dir, args.scale, args.seed, day)
    assert next_sample.parent == first_sample.parent, "both days must be in one dated mirror"
    how = "reused" if generated_seconds is None else f"generated in {generated_seconds:.1f} s"
    print(f"\nnext day's sample {how}: {next_sample}")
    bytes_before = bytes_under(run_dir / "data")
    run = materialize(next_sample, run_dir, day.isoformat())
    metrics = json.loads((run_dir / "data" / "kpis" / day.isoformat() / "pipeline_metrics.json").read_text())
    steps = step_rows(metrics)
    peak = max(figures["peak_rss_bytes"] or 0 for figures in metrics["assets"].values())
    added = bytes_under(run_dir / "data") - bytes_before
    print(f"== next day {day} ==")
    print_table(steps, ["step", "seconds", "rows_out", "rows_per_s", "peak_rss_mb"])
    print(
        f"end to end {run['wall_seconds']} s wall, {run['cpu_seconds']} CPU-s; largest step peak RSS "
        f"{peak / 1e6:.0f} MB; the day added {added / 1e6:.0f} MB on disk"
    )
    return {**run, "largest_step_peak_rss_bytes": peak, "steps": steps, "bytes_added": added}


def main() -> int:
    parser = sample_argument_parser(__doc__)
    parser.add_argument("--rematerialize", action="store_true", help="run the same partition a second time")
    parser.add_argument("--next-day", action="store_true", help="then run the next day on top of the first")
    parser.add_argument("--keep", action="store_true", help="keep the run's DAGSTER_HOME and data directory")
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)  # child mode: the DuckDB build into here
    parser.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.reference:
        print(json.dumps(run_reference(args.raw, args.reference, args.date)))
        return 0

    partition_key = args.date.isoformat()
    sample_dir, generated_seconds = cached_sample(args.work_dir, args.scale, args.seed, args.date)
    how = "reused" if generated_seconds is None else f"generated in {generated_seconds:.1f} s"
    print(f"sample {how}: {sample_dir}")
    run_dir = Path(tempfile.mkdtemp(prefix=f"full_scale-{args.scale}-", dir=args.work_dir))
    try:
        run = materialize(sample_dir, run_dir, partition_key)
        metrics = json.loads((run_dir / "data" / "kpis" / partition_key / "pipeline_metrics.json").read_text())
        ours = our_results(run_dir / "data", partition_key)
        steps = step_rows(metrics)
        print(f"\n== media_assets through Dagster (scale {args.scale}) ==")
        print_table(steps, ["step", "seconds", "rows_out", "rows_per_s", "peak_rss_mb"])
        peak = max(figures["peak_rss_bytes"] or 0 for figures in metrics["assets"].values())
        step_seconds = sum(row["seconds"] or 0 for row in steps)
        print(
            f"end to end {run['wall_seconds']} s wall, {run['cpu_seconds']} CPU-s; steps sum to {step_seconds:.1f} s; "
            f"largest step peak RSS {peak / 1e6:.0f} MB"
        )
        print("slowest steps: " + ", ".join(f"{row['step']} {row['seconds']} s" for row in steps[:SLOWEST_SHOWN]))

        rematerialized = None
        if args.rematerialize:
            rematerialized = materialize(sample_dir, run_dir, partition_key)
            again = json.loads((run_dir / "data" / "kpis" / partition_key / "pipeline_metrics.json").read_text())
            rematerialized["step_seconds"] = {asset: figures["seconds"] for asset, figures in again["assets"].items()}
            print(f"\nre-materialized the same partition: {rematerialized}")

        next_day = None
        if args.next_day:
            next_day = measure_next_day(args, sample_dir, run_dir, args.date + dt.timedelta(days=1))

        reference_dir = run_dir / "duckdb"
        reference_dir.mkdir()
        cpu_before = children_cpu_seconds()
        child = run_measured(
            "benchmarks.full_scale",
            *("--reference", str(reference_dir), "--raw", str(sample_dir), "--date", partition_key),
        )
        reference = child.result
        reference_cpu = round(children_cpu_seconds() - cpu_before, 2)
        print("\n== DuckDB reference ==")
        print(
            f"{child.seconds:.2f} s wall (process start included), {reference_cpu} CPU-s, "
            f"peak RSS {reference['peak_rss_bytes'] / 1e6:.0f} MB"
        )
        ratio = run["wall_seconds"] / child.seconds
        cpu_ratio = run["cpu_seconds"] / reference_cpu
        print(f"\nratio ours / DuckDB: {ratio:.2f} wall, {cpu_ratio:.2f} CPU")

        problems = disagreements(ours, reference)
        report = {
            "scale": args.scale,
            "seed": args.seed,
            "partition": partition_key,
            "ours": {
                **run,
                "steps_seconds_sum": round(step_seconds, 2),
                "largest_step_peak_rss_bytes": peak,
                "steps": steps,
                "rematerialized": rematerialized,
            },
            "next_day": next_day,
            "duckdb": {
                "wall_seconds": round(child.seconds, 2),
                "cpu_seconds": reference_cpu,
                "peak_rss_bytes": reference["peak_rss_bytes"],
            },
            "ratio_wall": round(ratio, 3),
            "ratio_cpu": round(cpu_ratio, 3),
            "rows": {table: ours["rows"][table] for table in COMPARED_TABLES},
            "m": ours["m"],
            "C": ours["C"],
            "agree": not problems,
            "disagreements": problems,
        }
        report_path = args.work_dir / f"full_scale-{args.scale}.json"
        report_path.write_text(json.dumps(report, indent=2))
        print(f"figures written to {report_path}")
        if problems:
            print("\nTHE BUILDS DISAGREE:\n  " + "\n  ".join(problems))
            return 1
        print(f"the builds agree on the row counts of {len(COMPARED_TABLES)} tables, m, C and the top {TOP_COMPARED}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
