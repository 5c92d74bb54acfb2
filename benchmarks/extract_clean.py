"""Extract + clean benchmark: generate (or reuse) a sample at a scale, then clean each file in a fresh process.

    python -m benchmarks.extract_clean --scale 0.1

Prints rows, wall time (process start included), rows/s and peak RSS per file (each cleaned alone in its own
process, as the multiprocess executor runs it), and writes the figures to benchmarks/out/extract_clean-<scale>.json.
"""

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.common import (
    add_child_arguments,
    announced_sample,
    print_table,
    run_measured,
    sample_argument_parser,
)
from media_assets.clean.assets import CLEAN_STEPS, clean_output
from media_assets.clean.storage import store_table_with_side_tables
from media_assets.sources.imdb_files import IMDB_FILES
from media_assets.telemetry import peak_rss_bytes


def clean_one(dataset: str, raw_path: Path, out_dir: Path, snapshot_date: dt.date) -> dict:
    """Clean one raw file into out_dir exactly as the clean asset does (one streaming pass, three outputs)."""
    [step] = [step for step in CLEAN_STEPS if step.imdb_file.dataset == dataset]
    table_path = out_dir / f"{dataset}.table.parquet"
    output = clean_output(step, raw_path, snapshot_date, out_dir)
    written = store_table_with_side_tables(table_path, output)
    paths = {"table": table_path} | {side.name: side.path for side in output.side_tables}
    rows = {name: pq.ParquetFile(path).metadata.num_rows for name, path in paths.items()}
    return {
        "rows_out": rows["table"],
        "quarantined": rows["quarantined"],
        "nulled": rows["nulled"],
        "keys_in_order": written.get("keys_in_order"),
        "peak_rss_bytes": peak_rss_bytes(),
    }


def main() -> None:
    parser = sample_argument_parser(__doc__)
    add_child_arguments(parser)  # child mode: clean this dataset only
    args = parser.parse_args()

    if args.one:
        print(json.dumps(clean_one(args.one, args.raw, args.out, args.date)))
        return

    sample_dir = announced_sample(args)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as out_dir:
        for imdb_file in IMDB_FILES:
            raw_path = sample_dir / imdb_file.file_name
            run = run_measured(
                "benchmarks.extract_clean",
                "--one",
                imdb_file.dataset,
                "--raw",
                str(raw_path),
                "--out",
                out_dir,
                "--date",
                args.date.isoformat(),
            )
            rows.append(
                {
                    "file": imdb_file.file_name,
                    "gz_mb": round(raw_path.stat().st_size / 1e6, 1),
                    "rows_out": run.result["rows_out"],
                    "quarantined": run.result["quarantined"],
                    "seconds": round(run.seconds, 2),
                    "rows_per_s": round(run.result["rows_out"] / run.seconds),
                    "peak_rss_mb": round(run.result["peak_rss_bytes"] / 1e6),
                }
            )
    print_table(rows, list(rows[0]))
    total = sum(row["seconds"] for row in rows)
    print(f"total {total:.1f} s, largest peak RSS {max(row['peak_rss_mb'] for row in rows)} MB")
    report = args.work_dir / f"extract_clean-{args.scale}.json"
    report.write_text(
        json.dumps({"scale": args.scale, "seed": args.seed, "files": rows, "total_seconds": total}, indent=2)
    )
    print(f"figures written to {report}")


if __name__ == "__main__":
    sys.exit(main())
