"""Where a clean step's CPU goes: the phases of cleaning one raw file, each measured in a fresh process.

    python -m benchmarks.clean_phases --scale 1.0 --file title.principals.tsv.gz

The clean step is one streaming polars pass, so its phases cannot be timed inside it. Instead, four passes over
the same generated file, each a superset of the one before, are run alone in their own process, and each phase's
CPU seconds are the difference between two of them:

- inflate: the lines of the `.tsv.gz` counted (gzip inflated, lines framed);
- split: every line split on tabs into its fields (`scan_raw_fields`). The files read by compiled code
  (`compiled_reader`: all but title.ratings) are split and parsed in one go: their split pass is that whole read,
  and their parse phase what the plan adds (repeated keys, the quarantined and nulled rows);
- parse: the whole clean plan computed (ids, numbers, lists, JSON, checks, repeated keys, the quarantined and
  nulled rows), its outputs reduced to counts instead of written;
- write: the clean step's real write (table and side tables to Parquet, zstd level 1, as `store_clean_tables`).

Prints each phase's CPU seconds, its share and the passes' wall and peak RSS; writes the figures to
benchmarks/out/clean_phases-<scale>-<file>.json. CPU seconds are the process's own (all its threads), imports left out.
"""

import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from benchmarks.common import (
    add_child_arguments,
    announced_sample,
    print_table,
    run_measured,
    sample_argument_parser,
)
from media_assets.allocator import keep_freed_memory_for_reuse
from media_assets.clean.assets import CLEAN_STEPS, CleanStep, clean_output
from media_assets.clean.compiled_reader import COMPILED_READERS, scan_compiled, text_blocks
from media_assets.clean.storage import store_table_with_side_tables
from media_assets.clean.transforms import scan_raw_fields
from media_assets.sources.imdb_files import IMDB_FILES, TITLE_PRINCIPALS

PASSES = ("inflate", "split", "parse", "write")
"""Each pass does what the one before did and one phase more."""


def clean_step_of(file_name: str) -> CleanStep:
    [step] = [step for step in CLEAN_STEPS if step.imdb_file.file_name == file_name]
    return step


def run_pass(name: str, raw_path: Path, out_dir: Path, snapshot_date: dt.date) -> None:
    """One pass over `raw_path` (see the module), its results discarded."""
    step = clean_step_of(raw_path.name)
    reader = COMPILED_READERS.get(step.imdb_file)
    if name == "inflate" and reader:
        keep_freed_memory_for_reuse()  # as the reader does: the blocks' buffers are reused, not faulted in again
        sum(block.count(b"\n") for block in text_blocks(raw_path))
    elif name == "inflate":
        pl.scan_lines(raw_path).select(pl.len()).collect(engine="streaming")
    elif name == "split" and reader:
        scan_compiled(reader, raw_path, snapshot_date).select(pl.len()).collect(engine="streaming")
    elif name == "split":
        fields = scan_raw_fields(raw_path, step.imdb_file)
        fields.select(pl.col(f"raw_{column}").null_count() for column in step.imdb_file.columns).collect(
            engine="streaming"
        )
    elif name == "parse":
        plan = step.clean(raw_path, snapshot_date, True, None, None)
        pl.collect_all(
            [
                plan.table.select(pl.all().null_count()),
                plan.quarantined.select(pl.len()),
                plan.nulled.select(pl.len()),
                plan.keys_in_order,
            ],
            engine="streaming",
        )
    else:
        store_table_with_side_tables(out_dir / "table.parquet", clean_output(step, raw_path, snapshot_date, out_dir))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(name: str, raw_path: Path, out_dir: Path, snapshot_date: dt.date) -> dict:
    """One pass's figures: its wall and CPU seconds (the imports before it left out) and the process's peak RSS."""
    started, cpu_before = time.perf_counter(), cpu_seconds()
    run_pass(name, raw_path, out_dir, snapshot_date)
    return {
        "wall_seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(cpu_seconds() - cpu_before, 2),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def phase_rows(passes: dict[str, dict]) -> list[dict]:
    """Each phase's CPU seconds (its pass's minus the pass before), its share of the last pass's, and the passes'
    own figures."""
    rows, before = [], 0.0
    total = passes[PASSES[-1]]["cpu_seconds"]
    for name in PASSES:
        cpu = passes[name]["cpu_seconds"]
        rows.append(
            {
                "phase": name,
                "cpu_seconds": round(cpu - before, 2),
                "share": f"{(cpu - before) / total:.0%}" if total else "",
                "pass_wall_seconds": passes[name]["wall_seconds"],
                "pass_cpu_seconds": cpu,
                "pass_peak_rss_mb": passes[name]["peak_rss_mb"],
            }
        )
        before = cpu
    return rows


def main() -> None:
    parser = sample_argument_parser(__doc__)
    parser.add_argument(
        "--file",
        default=TITLE_PRINCIPALS.file_name,
        choices=[imdb_file.file_name for imdb_file in IMDB_FILES],
        help="which raw file of the sample",
    )
    add_child_arguments(parser, choices=PASSES)  # child mode: run this pass only
    args = parser.parse_args()
    if args.one:
        print(json.dumps(child(args.one, args.raw, args.out, args.date)))
        return

    raw_path = announced_sample(args) / args.file
    passes = {}
    with tempfile.TemporaryDirectory(dir=args.work_dir) as out_dir:
        for name in PASSES:
            print(f"pass {name} ...", flush=True)
            passes[name] = run_measured(
                "benchmarks.clean_phases",
                *("--one", name, "--raw", str(raw_path), "--out", out_dir, "--date", args.date.isoformat()),
            ).result
    rows = phase_rows(passes)
    print_table(rows, list(rows[0]))
    print(f"{args.file} at scale {args.scale}: {rows[-1]['pass_cpu_seconds']:.1f} CPU-s in all")
    report = args.work_dir / f"clean_phases-{args.scale}-{args.file.removesuffix('.tsv.gz')}.json"
    report.write_text(json.dumps({"scale": args.scale, "seed": args.seed, "file": args.file, "phases": rows}, indent=2))
    print(f"figures written to {report}")


if __name__ == "__main__":
    sys.exit(main())
