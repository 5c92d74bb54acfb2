"""Bytes a day of history costs after retention, and what a year of daily runs needs on disk.

    python -m benchmarks.retention --scale 0.1 [--pipeline-days 4]

1. Raw deltas: the generator's days K+1, K+15 and K+29 (K the first day of a 30-day keyframe block) are archived
   like the raw step does and compacted against day K's files, each compaction in a process of its own (CPU
   seconds, peak RSS). A day of a block is on average about 15 days from its keyframe: the K+15 delta is the
   typical compacted day, K+1 and K+29 bound it.
2. With `--pipeline-days N`: the daily graph runs days K..K+N-1 on the `file` source in a fresh DAGSTER_HOME
   (as `full_scale` runs a day), then `python -m media_assets.admin retention --keep-days 2`, and the bytes each
   day keeps under the data directory are measured by role (what besides raw deltas a compacted day keeps:
   quarantine, quality reports, KPIs, manifest), and the warehouse's size per published day.

The year: compacted days x (typical raw delta + other bytes) + keyframes and the newest days whole + the
warehouse's fact_ratings per day x 365 + the warehouse as measured (its newest-day tables).
"""

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from benchmarks.common import cached_sample, print_table, run_measured, sample_argument_parser
from benchmarks.full_scale import REPO_DIR, materialize
from media_assets.retention.apply import bytes_of
from media_assets.retention.policy import EPOCH, RetentionPolicy
from media_assets.sources.archive import ArchiveRequest, SourceFile, archive_file, compact_file
from media_assets.sources.imdb_files import IMDB_FILES
from media_assets.telemetry import peak_rss_bytes

DISTANCES = (1, 15, 29)
YEAR = 365
DEFAULT_POLICY = RetentionPolicy()


def first_day_of_block(day: dt.date, keyframe_days: int) -> dt.date:
    return day - dt.timedelta(days=(day - EPOCH).days % keyframe_days)


def archive_day(sample_dir: Path, raw_root: Path, day: dt.date) -> None:
    for imdb_file in IMDB_FILES:
        request = ArchiveRequest(imdb_file, day, raw_root, str(sample_dir), live=False, published=True)
        source = sample_dir / imdb_file.file_name
        archive_file(request, lambda source=source: SourceFile(source, str(source), ours=False))


def compact_one(path: Path, base: Path) -> None:
    """Child process: compact one file, print its figures as JSON."""
    started = time.process_time()
    compaction = compact_file(path, base)
    print(
        json.dumps(
            {
                "bytes_removed": compaction.bytes_removed,
                "bytes_added": compaction.bytes_added,
                "cpu_seconds": round(time.process_time() - started, 2),
                "peak_rss_bytes": peak_rss_bytes(),
            }
        )
    )


def measure_deltas(args: argparse.Namespace, keyframe: dt.date, raw_root: Path) -> list[dict]:
    archive_day(cached_sample(args.work_dir, args.scale, args.seed, keyframe)[0], raw_root, keyframe)
    rows = []
    for distance in args.distances:
        day = keyframe + dt.timedelta(days=distance)
        archive_day(cached_sample(args.work_dir, args.scale, args.seed, day)[0], raw_root, day)
        for imdb_file in IMDB_FILES:
            child = run_measured(
                "benchmarks.retention",
                "--compact-one",
                str(raw_root / day.isoformat() / imdb_file.file_name),
                str(raw_root / keyframe.isoformat() / imdb_file.file_name),
            )
            rows.append({"days_from_keyframe": distance, "file": imdb_file.file_name, **child.result})
    return rows


def bytes_of_day(data: Path, day: str) -> int:
    """Bytes a day keeps under the data directory."""
    folders = [data / name / day for name in ("raw", "quarantine", "quality", "kpis", "published")]
    files = [path for folder in folders if folder.is_dir() for path in folder.rglob("*") if path.is_file()]
    return bytes_of(files + list((data / "tables").glob(f"*/{day}.parquet")))


def measure_pipeline(args: argparse.Namespace, keyframe: dt.date, run_dir: Path) -> dict:
    days = [keyframe + dt.timedelta(days=offset) for offset in range(args.pipeline_days)]
    for day in days:
        sample_dir = cached_sample(args.work_dir, args.scale, args.seed, day)[0]
        print(f"running {day}: {materialize(sample_dir, run_dir, day.isoformat())}")
    data = run_dir / "data"
    before = {day.isoformat(): bytes_of_day(data, day.isoformat()) for day in days}
    env = os.environ | {"MEDIA_ASSETS_DATA_DIR": str(data), "DAGSTER_HOME": str(run_dir / "dagster_home")}
    command = [sys.executable, "-m", "media_assets.admin", "retention", "--keep-days", "2"]
    subprocess.run(command, env=env, cwd=run_dir / "dagster_home", check=True)
    record = json.loads(max((data / "retention").glob("*.json"), key=lambda path: path.stat().st_mtime_ns).read_text())
    rows = []
    for day in days:
        key = day.isoformat()
        entry = record["days"][key]
        raw_deltas = sum(file["bytes_added"] for file in entry.get("raw_compacted", {}).values())
        after = bytes_of_day(data, key)
        rows.append(
            {
                "day": key,
                "role": entry["role"],
                "bytes_before": before[key],
                "bytes_after": after,
                "raw_deltas": raw_deltas,
            }
        )
    return {
        "days": rows,
        "warehouse_bytes": (data / "warehouse.duckdb").stat().st_size,
        "warehouse_bytes_per_day": fact_ratings_bytes_per_day(data / "warehouse.duckdb", run_dir),
    }


def fact_ratings_bytes_per_day(warehouse: Path, run_dir: Path) -> int:
    """What one more day adds to the warehouse (its fact_ratings rows; the other tables hold the newest day only):
    the size of a DuckDB file holding every day's fact_ratings minus one holding the first day's, per extra day."""
    sizes = []
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH '{warehouse}' AS warehouse (READ_ONLY)")
        query = "SELECT DISTINCT snapshot_date FROM warehouse.fact_ratings ORDER BY 1"
        days = [row[0] for row in connection.sql(query).fetchall()]
        for name, last in (("first_day", days[0]), ("every_day", days[-1])):
            path = run_dir / f"fact_ratings_{name}.duckdb"
            connection.execute(f"ATTACH '{path}' AS {name}")
            connection.execute(
                f"CREATE TABLE {name}.f AS SELECT * FROM warehouse.fact_ratings WHERE snapshot_date <= ?", [last]
            )
            connection.execute(f"DETACH {name}")
            sizes.append(path.stat().st_size)
    return round((sizes[1] - sizes[0]) / (len(days) - 1))


def year_estimate(deltas: list[dict], pipeline: dict | None, policy: RetentionPolicy) -> dict:
    typical_delta = sum(row["bytes_added"] for row in deltas if row["days_from_keyframe"] == 15)
    keyframes = -(-YEAR // policy.keyframe_days)
    compacted = YEAR - keyframes - policy.keep_days
    estimate = {"typical_raw_delta_bytes": typical_delta, "keyframes": keyframes, "compacted_days": compacted}
    if pipeline is None:
        return estimate
    by_role: dict[str, list[dict]] = {}
    for row in pipeline["days"]:
        by_role.setdefault(row["role"], []).append(row)
    other = max(row["bytes_after"] - row["raw_deltas"] for row in by_role["compacted"])
    whole_day = max(row["bytes_before"] for row in pipeline["days"])
    keyframe_day = max(row["bytes_after"] for row in by_role["keyframe"])
    warehouse_per_day = pipeline["warehouse_bytes_per_day"]
    total = (
        compacted * (typical_delta + other)
        + keyframes * keyframe_day
        + policy.keep_days * whole_day
        + YEAR * warehouse_per_day
        + pipeline["warehouse_bytes"]
    )
    return estimate | {
        "compacted_day_other_bytes": other,
        "keyframe_day_bytes": keyframe_day,
        "whole_day_bytes": whole_day,
        "warehouse_bytes_per_day": warehouse_per_day,
        "year_bytes": round(total),
    }


def main() -> int:
    if sys.argv[1:2] == ["--compact-one"]:
        compact_one(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = sample_argument_parser(__doc__)
    parser.add_argument("--pipeline-days", type=int, default=0, help="also run the daily graph over this many days")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    parser.add_argument(
        "--distances",
        type=lambda text: [int(part) for part in text.split(",")],
        default=list(DISTANCES),
        help="days from the keyframe whose raw deltas are measured (default 1,15,29; 15 is the typical day)",
    )
    args = parser.parse_args()
    keyframe = first_day_of_block(args.date - dt.timedelta(days=40), DEFAULT_POLICY.keyframe_days)
    run_dir = args.work_dir / f"retention-{time.strftime('%Y%m%dT%H%M%S')}"
    run_dir.mkdir(parents=True)
    try:
        deltas = measure_deltas(args, keyframe, run_dir / "raw-only")
        print(f"== raw deltas against {keyframe} (scale {args.scale}) ==")
        print_table(
            deltas, ["days_from_keyframe", "file", "bytes_removed", "bytes_added", "cpu_seconds", "peak_rss_bytes"]
        )
        pipeline = None
        if args.pipeline_days:
            (run_dir / "dagster_home").mkdir()
            shutil.copy(REPO_DIR / "dagster.yaml", run_dir / "dagster_home" / "dagster.yaml")
            pipeline = measure_pipeline(args, keyframe, run_dir)
            print("== bytes per day under the data directory, before and after retention (keep 2) ==")
            print_table(pipeline["days"], ["day", "role", "bytes_before", "bytes_after", "raw_deltas"])
        estimate = year_estimate(deltas, pipeline, DEFAULT_POLICY)
        print(json.dumps({"scale": args.scale, "deltas": deltas, "pipeline": pipeline, "year": estimate}, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
