"""Shared by the benchmarks: sample files cached by (scale, seed, date), and child processes measured alone."""

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from media_assets.sample.generator import GENERATOR_FINGERPRINT, write_sample_snapshot
from media_assets.sources.imdb_files import IMDB_FILES

BENCHMARK_DIR = Path(__file__).resolve().parent
DEFAULT_WORK_DIR = BENCHMARK_DIR / "out"


def cached_sample(work_dir: Path, scale: float, seed: int, snapshot_date: dt.date) -> tuple[Path, float | None]:
    """The folder of a generated sample, generated only when absent (per version of the generator, so a chain of
    days never mixes two). Returns (folder, seconds spent generating)."""
    folder = work_dir / "samples" / f"scale={scale}-seed={seed}-generator={GENERATOR_FINGERPRINT}"
    folder /= snapshot_date.isoformat()
    if all((folder / imdb_file.file_name).exists() for imdb_file in IMDB_FILES):
        return folder, None
    started = time.perf_counter()
    write_sample_snapshot(folder, snapshot_date, scale, seed)
    return folder, time.perf_counter() - started


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    result: dict


def run_measured(module: str, *args: str) -> ChildRun:
    """Run `python -m module args...` alone in a fresh process, which prints one JSON object as its last line
    (its own figures, peak RSS included: a child's `ru_maxrss` would start at this parent's peak)."""
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-m", module, *args], stdout=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed with exit code {finished.returncode}:\n{finished.stdout}")
    return ChildRun(seconds, json.loads(finished.stdout.strip().splitlines()[-1]))


def sample_argument_parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark shares: which sample (scale, seed, day) and where to work."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="1.0 = IMDb's full size")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2026, 11, 24))
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    return parser


def add_child_arguments(parser: argparse.ArgumentParser, **one: object) -> None:
    """The hidden options of a benchmark's child mode (`run_measured` runs the module again with them): `--one`
    (what to run, with `one`'s argparse options), the raw file and the output folder."""
    parser.add_argument("--one", help=argparse.SUPPRESS, **one)
    parser.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)


def announced_sample(args: argparse.Namespace) -> Path:
    """The sample of `args` (see `sample_argument_parser`), generated when absent; says which and where."""
    folder, generated_seconds = cached_sample(args.work_dir, args.scale, args.seed, args.date)
    print(f"sample {'reused' if generated_seconds is None else f'generated in {generated_seconds:.1f} s'}: {folder}")
    return folder


def print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {column: max(len(column), *(len(str(row.get(column, ""))) for row in rows)) for column in columns}
    print("  ".join(column.ljust(widths[column]) for column in columns))
    for row in rows:
        print("  ".join(str(row.get(column, "")).ljust(widths[column]) for column in columns))
