"""Full-scale benchmark: the whole daily graph through Dagster, side by side with a DuckDB reference build.

    python -m benchmarks.full_scale --scale 1.0 --next-day

Generates (or reuses, keyed by scale, seed and day) a sample under benchmarks/out/samples/, then, `--runs N` times
(default 3), one build after the other so that the machine's load falls on both alike:

1. materializes every asset and check of one partition except TMDb enrichment with `dagster asset materialize`
   on the `file` source, in a fresh DAGSTER_HOME and data directory (the same executor and IO manager as a
   user's run): end-to-end wall time and CPU seconds of the process tree, and per step its seconds, CPU seconds
   (its process's, found from the pid in the run's events), rows out, rows/s and peak RSS;
2. with `--next-day`, runs the generator's next day in the same DAGSTER_HOME and data directory, as the daily run
   users have (SCD2 against the published history, trending against the day before), reported like the first day
   with the bytes it added on disk;
3. builds the same cleaned tables, star schema and headline KPIs with `benchmarks/duckdb_reference.sql` in a
   process of its own (all cores, DuckDB's default memory limit): wall time, CPU seconds, peak RSS.

Each build starts with its inputs in the page cache and the benchmark's other files out of it (`start_cached`),
and reports the free memory it started with (`free_memory_bytes`). It prints each build's median over
the runs, the ratio ours / DuckDB and the verdicts on the targets (first day <= 0.6 x DuckDB's wall time, next day
no slower than the first, every step <= 2.5 GB peak), and writes every figure, each run's included, to
benchmarks/out/full_scale-<scale>.json. It exits non-zero when, in any run, the two builds disagree on the row
count of a table or on the KPI headline figures (C, m and the top-10 movies and TV series), so the comparison is
between equal results; a missed target is reported, not an error.
`--rematerialize` runs the first day a second time in the same DAGSTER_HOME and reports its times: the raw
files are unchanged, so nothing is fetched again and the clean steps keep their tables instead of re-parsing.
"""

import argparse
import datetime as dt
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from benchmarks.common import BENCHMARK_DIR, cached_sample, print_table, run_measured, sample_argument_parser
from media_assets.kpis.metrics import step_seconds
from media_assets.model.transforms import MODEL_TABLES
from media_assets.resources import DataLake, ModelSettings
from media_assets.telemetry import peak_rss_bytes

REPO_DIR = BENCHMARK_DIR.parent
REFERENCE_SQL = BENCHMARK_DIR / "duckdb_reference.sql"
CLEAN_TABLES = ("clean_title_basics", "clean_title_ratings", "clean_name_basics", "clean_title_principals")
COMPARED_TABLES = (*CLEAN_TABLES, *MODEL_TABLES)
TOP_COMPARED = 10
SLOWEST_SHOWN = 5
WARM_READ_BYTES = 8 << 20
DEFAULT_RUNS = 3
FIRST_DAY_TARGET_RATIO = 0.6
"""Target: our first day's wall time at most this share of DuckDB's (medians of the runs)."""
STEP_PEAK_TARGET_BYTES = 2_500_000_000
"""Target: no step's process peaks above this resident memory."""


def free_memory_bytes() -> int | None:
    """Memory no page cache or process holds (`MemFree`), None off Linux. A build that starts with little of it
    makes the kernel reclaim cached pages for what it allocates and writes: the same next day, from copies of one
    DAGSTER_HOME, took 99.1 s (28.1 s of system time) with 6.2 GB free at its start, 92.2-93.0 s (17.5-19.5) with
    17-23 GB free; a first day took the same with 13.5 or 15.7 GB free. Each build reports it, as a state of the
    machine its figures depend on besides the code."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemFree:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


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

    def seconds_by_pid(self) -> dict[int, float]:
        """CPU seconds of each process of the tree (a reused pid's processes summed)."""
        by_pid: dict[int, float] = {}
        for (pid, _start), ticks in self.ticks.items():
            by_pid[pid] = by_pid.get(pid, 0.0) + ticks / os.sysconf("SC_CLK_TCK")
        return by_pid


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


def run_steps(home: Path) -> dict:
    """Child mode: the step processes and step seconds of the latest run of the instance in `home`, from its
    events: `{"pids": {pid: step key}, "seconds": {step key: seconds}}`."""
    import dagster as dg  # only the child reads the instance

    # dagster.yaml's paths (.dagster/) are relative to the working directory, as for the run.
    os.chdir(home)
    os.environ["DAGSTER_HOME"] = str(home)
    instance = dg.DagsterInstance.get()
    run = instance.get_runs(limit=1)[0]
    events = instance.all_logs(run.run_id)
    # STEP_START is emitted by the step's own process (the orchestrating process emits other events of the step).
    steps_of_pid: dict[int, set[str]] = {}
    for event in events:
        if event.dagster_event_type == dg.DagsterEventType.STEP_START:
            steps_of_pid.setdefault(event.dagster_event.pid, set()).add(event.step_key)
    # A process that ran several steps (a small day runs in process) tells no step's CPU apart: none is given.
    pids = {pid: next(iter(steps)) for pid, steps in steps_of_pid.items() if len(steps) == 1}
    return {"pids": pids, "seconds": step_seconds(events)}


def files_under(path: Path) -> list[Path]:
    """The regular files at or under `path` (none when it does not exist), symbolic links left out."""
    candidates = path.rglob("*") if path.is_dir() else [path]
    return [file for file in candidates if file.is_file() and not file.is_symlink()]


def drop_from_page_cache(path: Path) -> None:
    """Drop a file's clean pages from the page cache (Linux's `posix_fadvise`; written pages must be synced first)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def start_cached(inputs: tuple[Path, ...], evicted: tuple[Path, ...]) -> None:
    """Start a build from the page cache of a daily run: every written page is put on disk, the files under
    `evicted` (the benchmark's other files: every sample day, the run's data) are dropped from the page cache,
    then the build's `inputs` are read into it: the day's files, as right after their download (or the mirror's
    sync), and the published history the day builds on. So every build, ours and DuckDB's, first or next day,
    starts with its inputs cached and nothing else of the benchmark's, and no build's writes queue behind another's
    write-back (measured: the raw copy of title.principals took 1.5 s of system time alone, 3.3-4.7 s with 3.4 GB
    being written back). Left cached, the first day's 3.3 GB made the next day 6 % slower than the first, against
    3 % once dropped (benchmarks/README.md). Dropping needs `posix_fadvise` (Linux); elsewhere files are only
    read."""
    os.sync()
    if hasattr(os, "posix_fadvise"):
        for path in (file for folder in evicted for file in files_under(folder)):
            drop_from_page_cache(path)
    for path in (file for folder in inputs for file in files_under(folder)):
        with path.open("rb", buffering=0) as reader:
            while reader.read(WARM_READ_BYTES):
                pass


def materialize(sample_dir: Path, run_dir: Path, partition_key: str) -> dict:
    """`dagster asset materialize` of the daily graph as a user would run it; returns its wall and CPU seconds and
    each step's seconds and CPU seconds (`step_seconds`, `step_cpu_seconds`; the orchestrating processes' CPU, not
    any step's, is `orchestration_cpu_seconds`) and the free memory it started with."""
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
    lake = DataLake(root=str(data))
    # The sample's parent folder holds every generated day of this scale and seed.
    start_cached(inputs=(sample_dir, lake.published.root, lake.warehouse_path), evicted=(sample_dir.parent, data))
    free_at_start = free_memory_bytes()
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
    run_events = run_measured("benchmarks.full_scale", "--run-steps", str(home)).result
    step_cpu: dict[str, float] = {}
    orchestration_cpu = 0.0
    for pid, cpu_seconds in cpu.seconds_by_pid().items():
        step = run_events["pids"].get(str(pid))
        if step is None:
            orchestration_cpu += cpu_seconds
        else:
            step_cpu[step] = round(step_cpu.get(step, 0.0) + cpu_seconds, 2)
    return {
        "wall_seconds": round(seconds, 2),
        "cpu_seconds": round(cpu.seconds, 2),
        "orchestration_cpu_seconds": round(orchestration_cpu, 2),
        "free_memory_bytes_at_start": free_at_start,
        "step_seconds": run_events["seconds"],
        "step_cpu_seconds": step_cpu,
    }


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


STEP_COLUMNS = ["step", "seconds", "cpu_seconds", "rows_out", "rows_per_s", "peak_rss_mb"]


def step_rows(run: dict, metrics: dict) -> list[dict]:
    """One row per step of the run, slowest first: its seconds and CPU seconds, and from `pipeline_metrics.json`
    the rows its assets wrote (none for raw files) and its process's peak RSS."""
    assets_by_step: dict[str, list[dict]] = {}
    for asset, figures in metrics["assets"].items():
        assets_by_step.setdefault(figures["step_key"] or asset, []).append(figures)
    rows = []
    for step, seconds in sorted(run["step_seconds"].items(), key=lambda item: -item[1]):
        assets = assets_by_step.get(step, [])
        rows_out = None if any(f["rows_out"] is None for f in assets) else sum(f["rows_out"] for f in assets)
        peak = max((figures["peak_rss_bytes"] or 0 for figures in assets), default=0)
        rows.append(
            {
                "step": step,
                "seconds": seconds,
                "cpu_seconds": run["step_cpu_seconds"].get(step),
                "rows_out": rows_out or None,
                "rows_per_s": round(rows_out / seconds) if rows_out and seconds else None,
                "peak_rss_mb": round(peak / 1e6) if peak else None,
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


def measure_day(sample_dir: Path, run_dir: Path, day: dt.date) -> dict:
    """Materialize one day in the run's DAGSTER_HOME and data directory; its figures (see `materialize`), step
    rows, largest step peak RSS and the bytes it added on disk."""
    bytes_before = bytes_under(run_dir / "data") if (run_dir / "data").exists() else 0
    run = materialize(sample_dir, run_dir, day.isoformat())
    metrics = json.loads((run_dir / "data" / "kpis" / day.isoformat() / "pipeline_metrics.json").read_text())
    peak = max(figures["peak_rss_bytes"] or 0 for figures in metrics["assets"].values())
    return {
        "wall_seconds": run["wall_seconds"],
        "cpu_seconds": run["cpu_seconds"],
        "orchestration_cpu_seconds": run["orchestration_cpu_seconds"],
        "free_memory_bytes_at_start": run["free_memory_bytes_at_start"],
        "largest_step_peak_rss_bytes": peak,
        "bytes_added": bytes_under(run_dir / "data") - bytes_before,
        "steps": step_rows(run, metrics),
    }


def started_with(free_bytes: int | None) -> str:
    return "" if free_bytes is None else f"; started with {free_bytes / 1e9:.1f} GB of free memory"


def print_day(title: str, day: dict) -> None:
    print(f"\n== {title} ==")
    print_table(day["steps"], STEP_COLUMNS)
    print(
        f"end to end {day['wall_seconds']} s wall, {day['cpu_seconds']} CPU-s "
        f"({day['orchestration_cpu_seconds']} outside the steps); largest step peak RSS "
        f"{day['largest_step_peak_rss_bytes'] / 1e6:.0f} MB; the day added {day['bytes_added'] / 1e6:.0f} MB on disk"
        f"{started_with(day['free_memory_bytes_at_start'])}"
    )
    print("slowest steps: " + ", ".join(f"{row['step']} {row['seconds']} s" for row in day["steps"][:SLOWEST_SHOWN]))


def measure_ours(args: argparse.Namespace, samples: dict[str, Path]) -> dict:
    """One run of our build: the first day (`first_day`), with `--rematerialize` the same day again, with
    `--next-day` the next day on top of it; `results` are the first day's tables and KPIs, to compare."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"full_scale-{args.scale}-", dir=args.work_dir))
    try:
        first_day = measure_day(samples["first_day"], run_dir, args.date)
        print_day(f"media_assets through Dagster, first day {args.date} (scale {args.scale})", first_day)
        run = {"first_day": first_day, "results": our_results(run_dir / "data", args.date.isoformat())}
        if args.rematerialize:
            again = materialize(samples["first_day"], run_dir, args.date.isoformat())
            print(f"\nre-materialized the same partition: {again['wall_seconds']} s wall, {again['cpu_seconds']} CPU-s")
            run["rematerialized"] = again
        if args.next_day:
            next_day = measure_day(samples["next_day"], run_dir, args.date + dt.timedelta(days=1))
            print_day(f"next day {args.date + dt.timedelta(days=1)}", next_day)
            run["next_day"] = next_day
        return run
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


def measure_reference(args: argparse.Namespace, sample_dir: Path) -> dict:
    """One DuckDB reference build of the first day, in a process of its own; its figures and results."""
    reference_dir = Path(tempfile.mkdtemp(prefix=f"duckdb-{args.scale}-", dir=args.work_dir))
    try:
        start_cached(inputs=(sample_dir,), evicted=(sample_dir.parent,))
        free_at_start = free_memory_bytes()
        cpu_before = children_cpu_seconds()
        child = run_measured(
            "benchmarks.full_scale",
            *("--reference", str(reference_dir), "--raw", str(sample_dir), "--date", args.date.isoformat()),
        )
        cpu_seconds = round(children_cpu_seconds() - cpu_before, 2)
    finally:
        shutil.rmtree(reference_dir, ignore_errors=True)
    figures = {
        "wall_seconds": round(child.seconds, 2),
        "cpu_seconds": cpu_seconds,
        "peak_rss_bytes": child.result["peak_rss_bytes"],
        "free_memory_bytes_at_start": free_at_start,
    }
    print(
        f"\n== DuckDB reference ==\n{figures['wall_seconds']} s wall (process start included), {cpu_seconds} CPU-s, "
        f"peak RSS {figures['peak_rss_bytes'] / 1e6:.0f} MB{started_with(free_at_start)}"
    )
    return {"figures": figures, "results": child.result}


def median_or_none(values: list[float | None]) -> float | None:
    """The median of the values known (None when none is)."""
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def median_day(days: list[dict]) -> dict:
    """The median of each figure of a day over the runs; per step, the median of its seconds and CPU seconds."""
    summary = {
        name: round(statistics.median(day[name] for day in days), 2)
        for name in ("wall_seconds", "cpu_seconds", "orchestration_cpu_seconds", "bytes_added")
    }
    summary["free_memory_bytes_at_start"] = median_or_none([day["free_memory_bytes_at_start"] for day in days])
    # The worst run's peak: the memory target is about every step of every run.
    summary["largest_step_peak_rss_bytes"] = max(day["largest_step_peak_rss_bytes"] for day in days)
    rows_by_step: dict[str, list[dict]] = {}
    for day in days:
        for row in day["steps"]:
            rows_by_step.setdefault(row["step"], []).append(row)
    steps = []
    for step, rows in rows_by_step.items():
        seconds = statistics.median(row["seconds"] for row in rows)
        cpu_seconds = [row["cpu_seconds"] for row in rows if row["cpu_seconds"] is not None]
        steps.append(
            {
                "step": step,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(statistics.median(cpu_seconds), 2) if cpu_seconds else None,
                "rows_out": rows[0]["rows_out"],
                "rows_per_s": round(rows[0]["rows_out"] / seconds) if rows[0]["rows_out"] and seconds else None,
                "peak_rss_mb": max((row["peak_rss_mb"] or 0 for row in rows), default=0) or None,
            }
        )
    return summary | {"steps": sorted(steps, key=lambda row: -row["seconds"])}


def target_verdicts(first_day: dict, next_day: dict | None, duckdb_wall: float) -> dict:
    """The targets, each with its measured value, its limit and whether it is met (medians of the runs)."""
    ratio = first_day["wall_seconds"] / duckdb_wall
    targets = {
        "first_day_vs_duckdb_wall": {
            "value": round(ratio, 3),
            "limit": FIRST_DAY_TARGET_RATIO,
            "met": ratio <= FIRST_DAY_TARGET_RATIO,
        }
    }
    peaks = [first_day["largest_step_peak_rss_bytes"]]
    if next_day is not None:
        targets["next_day_vs_first_day_wall"] = {
            "value": round(next_day["wall_seconds"] / first_day["wall_seconds"], 3),
            "limit": 1.0,
            "met": next_day["wall_seconds"] <= first_day["wall_seconds"],
        }
        peaks.append(next_day["largest_step_peak_rss_bytes"])
    targets["largest_step_peak_rss_bytes"] = {
        "value": max(peaks),
        "limit": STEP_PEAK_TARGET_BYTES,
        "met": max(peaks) <= STEP_PEAK_TARGET_BYTES,
    }
    return targets


def main() -> int:
    parser = sample_argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="builds of each kind; medians are reported")
    parser.add_argument("--rematerialize", action="store_true", help="run the same partition a second time")
    parser.add_argument("--next-day", action="store_true", help="then run the next day on top of the first")
    parser.add_argument("--keep", action="store_true", help="keep each run's DAGSTER_HOME and data directory")
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)  # child mode: the DuckDB build into here
    parser.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run-steps", type=Path, help=argparse.SUPPRESS)  # child mode: see run_steps
    args = parser.parse_args()

    if args.reference:
        print(json.dumps(run_reference(args.raw, args.reference, args.date)))
        return 0
    if args.run_steps:
        print(json.dumps(run_steps(args.run_steps)))
        return 0
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")

    days = {"first_day": args.date} | ({"next_day": args.date + dt.timedelta(days=1)} if args.next_day else {})
    samples = {}
    for name, day in days.items():
        samples[name], generated_seconds = cached_sample(args.work_dir, args.scale, args.seed, day)
        how = "reused" if generated_seconds is None else f"generated in {generated_seconds:.1f} s"
        print(f"sample of {day} {how}: {samples[name]}")

    runs, problems = [], []
    for index in range(args.runs):
        print(f"\n######## run {index + 1} of {args.runs} ########")
        ours = measure_ours(args, samples)
        reference = measure_reference(args, samples["first_day"])
        print(f"\nratio ours / DuckDB: {ours['first_day']['wall_seconds'] / reference['figures']['wall_seconds']:.2f}")
        problems += [f"run {index + 1}: {problem}" for problem in disagreements(ours["results"], reference["results"])]
        runs.append({"ours": ours, "duckdb": reference["figures"]})

    first_day = median_day([run["ours"]["first_day"] for run in runs])
    next_day = median_day([run["ours"]["next_day"] for run in runs]) if args.next_day else None
    duckdb_figures = {
        name: round(statistics.median(run["duckdb"][name] for run in runs), 2)
        for name in ("wall_seconds", "cpu_seconds", "peak_rss_bytes")
    }
    duckdb_figures["free_memory_bytes_at_start"] = median_or_none(
        [run["duckdb"]["free_memory_bytes_at_start"] for run in runs]
    )
    targets = target_verdicts(first_day, next_day, duckdb_figures["wall_seconds"])
    print(f"\n######## medians of {args.runs} run(s) ########")
    print_day(f"first day {args.date}", first_day)
    if next_day is not None:
        print_day(f"next day {args.date + dt.timedelta(days=1)}", next_day)
    print(
        f"\nDuckDB reference: {duckdb_figures['wall_seconds']} s wall, {duckdb_figures['cpu_seconds']} CPU-s, "
        f"peak RSS {duckdb_figures['peak_rss_bytes'] / 1e6:.0f} MB"
        + started_with(duckdb_figures["free_memory_bytes_at_start"])
    )
    ratio_cpu = first_day["cpu_seconds"] / duckdb_figures["cpu_seconds"]
    print(f"ratio ours / DuckDB: {targets['first_day_vs_duckdb_wall']['value']:.2f} wall, {ratio_cpu:.2f} CPU")
    for name, verdict in targets.items():
        print(f"target {name}: {verdict['value']} (limit {verdict['limit']}): {'met' if verdict['met'] else 'MISSED'}")

    ours_results = runs[0]["ours"]["results"]
    report = {
        "scale": args.scale,
        "seed": args.seed,
        "partition": args.date.isoformat(),
        "runs": args.runs,
        "ours": first_day,
        "next_day": next_day,
        "duckdb": duckdb_figures,
        "ratio_wall": targets["first_day_vs_duckdb_wall"]["value"],
        "ratio_cpu": round(ratio_cpu, 3),
        "targets": targets,
        "per_run": [
            {
                "ours": {name: value for name, value in run["ours"].items() if name != "results"},
                "duckdb": run["duckdb"],
            }
            for run in runs
        ],
        "rows": ours_results["rows"],
        "m": ours_results["m"],
        "C": ours_results["C"],
        "agree": not problems,
        "disagreements": problems,
    }
    report_path = args.work_dir / f"full_scale-{args.scale}.json"
    report_path.write_text(json.dumps(report, indent=2))
    print(f"figures written to {report_path}")
    if problems:
        print("\nTHE BUILDS DISAGREE:\n  " + "\n  ".join(problems))
        return 1
    print(
        f"the builds agree in every run on the row counts of {len(COMPARED_TABLES)} tables, m, C and the top "
        f"{TOP_COMPARED}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
