"""README's main command after the install: the daily job over one sample day, timed from a fresh instance.

    python -m benchmarks.sample_day --runs 3

Each run starts `dg launch --job imdb_daily` in a fresh folder holding a copy of `dagster.yaml` (so a fresh
DAGSTER_HOME, `.dagster/` and data directory), with the default settings: the `sample` source at its default scale,
as README's command runs it. Prints each run's wall time and the median, with the target (8 s); writes the figures to
benchmarks/out/sample_day.json.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import DEFAULT_WORK_DIR

REPO_DIR = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 8.0


def launch_sample_day(folder: Path, partition_key: str) -> float:
    shutil.copy(REPO_DIR / "dagster.yaml", folder / "dagster.yaml")
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("IMDB_", "MEDIA_ASSETS_"))}
    command = [
        str(Path(sys.executable).with_name("dg")),
        *("launch", "--job", "imdb_daily", "--partition", partition_key, "-m", "media_assets.definitions"),
    ]
    started = time.perf_counter()
    finished = subprocess.run(
        command, cwd=folder, env={**environ, "DAGSTER_HOME": str(folder)}, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(
            f"dg launch failed ({finished.returncode}):\n{finished.stdout[-3000:]}{finished.stderr[-3000:]}"
        )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    args = parser.parse_args()
    partition_key = dt.datetime.now(dt.UTC).date().isoformat()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    seconds = []
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="sample_day-", dir=args.work_dir) as folder:
            seconds.append(round(launch_sample_day(Path(folder), partition_key), 2))
        print(f"run {number}/{args.runs}: {seconds[-1]} s", flush=True)
    median = statistics.median(seconds)
    verdict = "met" if median <= TARGET_SECONDS else "NOT met"
    print(f"README's sample day: median {median} s of {args.runs} runs (target {TARGET_SECONDS} s: {verdict})")
    report = {
        "partition": partition_key,
        "runs_seconds": seconds,
        "median_seconds": median,
        "target_seconds": TARGET_SECONDS,
    }
    (args.work_dir / "sample_day.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
