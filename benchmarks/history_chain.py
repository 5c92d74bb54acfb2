"""How the cost of a day grows with history: a chain of consecutive generator days in one DAGSTER_HOME.

    python -m benchmarks.history_chain --scale 0.1 --days 30

Generates (or reuses) the generator's days `--date`, `--date` + 1, ... and materializes them in order, as the daily
run does, with the `file` source and the project's executor (see `benchmarks.full_scale.materialize`). Each day is
built on the published history of the days before it: SCD2 against every earlier version, the warehouse holding
every published day, trending against the day before. Prints one line per day (wall, CPU, the SCD2 step, the
warehouse step, the largest step's peak memory, the bytes the day added) and day N against day 1; writes every
figure to benchmarks/out/history_chain-<scale>-<days>.json.
"""

import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.common import cached_sample, print_table, sample_argument_parser
from benchmarks.full_scale import bytes_under, materialize

HISTORY_STEPS = ("title_dimensions", "published_star_schema", "media_kpis")
"""Steps whose work may grow with the history: SCD2 against every version, publishing (out-of-date days), the
trending KPI against the day before. (The warehouse step runs after `media_kpis` writes the figures.)"""


def measure_day(sample_dir: Path, run_dir: Path, day: dt.date) -> dict:
    bytes_before = bytes_under(run_dir / "data") if (run_dir / "data").exists() else 0
    run = materialize(sample_dir, run_dir, day.isoformat())
    metrics = json.loads((run_dir / "data" / "kpis" / day.isoformat() / "pipeline_metrics.json").read_text())
    assets = metrics["assets"]
    return {
        "day": day.isoformat(),
        "wall_seconds": run["wall_seconds"],
        "cpu_seconds": run["cpu_seconds"],
        **{f"{step}_seconds": run["step_seconds"].get(step) for step in HISTORY_STEPS},
        "dim_title_rows": assets["dim_title"]["rows_out"],
        "largest_step_peak_mb": round(max(figures["peak_rss_bytes"] or 0 for figures in assets.values()) / 1e6),
        "mb_added": round((bytes_under(run_dir / "data") - bytes_before) / 1e6, 1),
    }


def main() -> int:
    parser = sample_argument_parser(__doc__)
    parser.add_argument("--days", type=int, default=30, help="how many consecutive days (at least 2)")
    args = parser.parse_args()
    if args.days < 2:
        parser.error("--days must be at least 2: the chain compares its last day with its first")
    today = dt.datetime.now(dt.UTC).date()
    first_day = min(args.date, today - dt.timedelta(days=args.days - 1))
    # The daily partitions end today: a chain from `--date` that would run past it starts earlier instead.
    days = [first_day + dt.timedelta(days=offset) for offset in range(args.days)]
    run_dir = Path(tempfile.mkdtemp(prefix=f"history_chain-{args.scale}-", dir=args.work_dir))
    rows = []
    try:
        for number, day in enumerate(days, start=1):
            sample_dir, generated_seconds = cached_sample(args.work_dir, args.scale, args.seed, day)
            if generated_seconds is not None:
                print(f"day {number}/{args.days}: sample {day} generated in {generated_seconds:.1f} s")
            rows.append(measure_day(sample_dir, run_dir, day))
            row = rows[-1]
            print(
                f"day {number}/{args.days}: {day} {row['wall_seconds']} s wall, {row['cpu_seconds']} CPU-s", flush=True
            )
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)

    print(f"\n== a {args.days}-day chain at scale {args.scale} ==")
    columns = ["day", "wall_seconds", "cpu_seconds", *(f"{step}_seconds" for step in HISTORY_STEPS)]
    print_table(rows, [*columns, "dim_title_rows", "largest_step_peak_mb", "mb_added"])
    first, last = rows[0], rows[-1]
    later_days = rows[1:]
    summary = {
        "last_over_first_wall": round(last["wall_seconds"] / first["wall_seconds"], 3),
        "last_over_first_cpu": round(last["cpu_seconds"] / first["cpu_seconds"], 3),
        "median_later_day_wall_seconds": statistics.median(row["wall_seconds"] for row in later_days),
        "median_later_day_mb_added": statistics.median(row["mb_added"] for row in later_days),
    }
    print(
        f"day {args.days} against day 1: {summary['last_over_first_wall']}x wall, {summary['last_over_first_cpu']}x "
        f"CPU; days 2-{args.days}: median {summary['median_later_day_wall_seconds']} s wall, "
        f"{summary['median_later_day_mb_added']} MB added a day"
    )
    report_path = args.work_dir / f"history_chain-{args.scale}-{args.days}.json"
    report_path.write_text(json.dumps({"scale": args.scale, "seed": args.seed, "days": rows, **summary}, indent=2))
    print(f"figures written to {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
