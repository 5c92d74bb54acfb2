"""`python -m media_assets.sample --scale 1.0 --date 2026-11-24 --out DIR [--seed 42]`: write one sample snapshot."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Sequence

from media_assets.sample.generator import generate_sample_snapshot


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m media_assets.sample", description=__doc__)
    parser.add_argument("--scale", type=float, required=True, help="1.0 = IMDb's full size (~12M titles)")
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True, help="snapshot day, YYYY-MM-DD")
    parser.add_argument("--out", required=True, help="directory to write the four .tsv.gz files into")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    snapshot = generate_sample_snapshot(args.out, args.date, args.scale, args.seed)
    seconds = time.perf_counter() - started
    for name, path in snapshot.paths.items():
        print(f"{name:<24} {snapshot.rows[name]:>12,} rows  {path.stat().st_size:>14,} bytes")
    print(f"{'total':<24} {sum(snapshot.rows.values()):>12,} rows  in {seconds:.2f} s")


if __name__ == "__main__":
    main()
