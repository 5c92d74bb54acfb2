"""Raw layer: the IMDb files of a day, placed under `<data dir>/raw/<partition>/`.

One asset per file, all four made by one step (`raw_imdb_files`) that fetches the selected files side by side: a
Dagster step costs ~0.4 CPU-s of process and event-log overhead, and the raw files are at the start of every run.
"""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg

from media_assets.partitions import daily_partitions, partition_date
from media_assets.resources import DataLake, ImdbSource
from media_assets.sources.imdb_files import IMDB_FILES, ImdbFile
from media_assets.sources.raw_files import check_header, raw_file_stats
from media_assets.telemetry import peak_rss_bytes

RAW_GROUP = "raw"


def raw_asset_key(imdb_file: ImdbFile) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{imdb_file.asset_suffix}")


def raw_asset_spec(imdb_file: ImdbFile) -> dg.AssetSpec:
    """The raw asset of one IMDb file."""
    return dg.AssetSpec(
        key=raw_asset_key(imdb_file),
        partitions_def=daily_partitions,
        group_name=RAW_GROUP,
        kinds={"file"},
        owners=["team:data-engineering"],
        tags={"layer": "raw"},
        description=(
            f"IMDb's `{imdb_file.file_name}` for the partition's snapshot day, as published (gzipped TSV), from the "
            "configured source (sample generator, IMDb's HTTP server or a local mirror). Unchanged files are kept, "
            "not fetched again. Metadata: size and sha256 of the file (its rows are counted by the clean asset)."
        ),
    )


def fetch_raw_file(
    imdb_file: ImdbFile, imdb_source: ImdbSource, partition_key: str, raw_dir: Path
) -> dg.MaterializeResult:
    """Place one file of the partition's snapshot in `raw_dir`, check its header, and describe it."""
    started = time.perf_counter()
    fetched = imdb_source.fetch(imdb_file, partition_date(partition_key), raw_dir)
    check_header(fetched.path, imdb_file)
    stats = raw_file_stats(fetched.path)
    return dg.MaterializeResult(
        asset_key=raw_asset_key(imdb_file),
        metadata={
            "path": dg.MetadataValue.path(str(fetched.path)),
            "bytes": stats.bytes,
            "sha256": stats.sha256,
            "source_kind": imdb_source.kind,
            "source": fetched.origin,
            "fetched": fetched.fetched,
            # Only HTTP downloads have validators; other sources leave them out rather than show empty rows.
            **({"etag": fetched.etag} if fetched.etag else {}),
            **({"last_modified": fetched.last_modified} if fetched.last_modified else {}),
            "seconds": round(time.perf_counter() - started, 3),
            "peak_rss_bytes": peak_rss_bytes(),
        },
        # Downstream steps can tell from the checksum whether the snapshot really changed.
        data_version=dg.DataVersion(stats.sha256),
    )


@dg.multi_asset(
    name="raw_imdb_files",
    specs=[raw_asset_spec(imdb_file) for imdb_file in IMDB_FILES],
    can_subset=True,
)
def raw_imdb_files(
    context: dg.AssetExecutionContext, imdb_source: ImdbSource, data_lake: DataLake
) -> Iterator[dg.MaterializeResult]:
    """The selected IMDb files of the partition's snapshot day, fetched side by side in one step."""
    selected = [imdb_file for imdb_file in IMDB_FILES if raw_asset_key(imdb_file) in context.selected_asset_keys]
    raw_dir = data_lake.raw_dir(context.partition_key)
    # Threads suffice: linking, downloading and hashing release the GIL, and the sample source generates a day's
    # files once under a folder lock.
    with ThreadPoolExecutor(max_workers=len(selected), thread_name_prefix="raw") as pool:
        futures = [
            (imdb_file, pool.submit(fetch_raw_file, imdb_file, imdb_source, context.partition_key, raw_dir))
            for imdb_file in selected
        ]
    failures = [(imdb_file, future.exception()) for imdb_file, future in futures if future.exception()]
    for imdb_file, error in failures[1:]:
        context.log.error(f"{imdb_file.file_name} failed too: {error}")
    # The files that were placed are recorded even when another one failed: they are in place and checked.
    for _, future in futures:
        if future.exception() is None:
            yield future.result()
    if failures:
        # The first failed file's own exception, with its message and traceback, fails the step.
        raise failures[0][1]


raw_assets = [raw_imdb_files]
