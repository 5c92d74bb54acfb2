"""Raw layer: one asset per IMDb file, the snapshot of a day placed under `<data dir>/raw/<partition>/`."""

import time

import dagster as dg

from media_assets.jobs import CRITICAL_PATH_OP_TAGS
from media_assets.partitions import daily_partitions, partition_date
from media_assets.resources import DataLake, ImdbSource
from media_assets.sources.imdb_files import IMDB_FILES, TITLE_PRINCIPALS, ImdbFile
from media_assets.sources.raw_files import check_header, raw_file_stats
from media_assets.telemetry import peak_rss_bytes

RAW_GROUP = "raw"


def raw_asset_key(imdb_file: ImdbFile) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{imdb_file.asset_suffix}")


def build_raw_asset(imdb_file: ImdbFile) -> dg.AssetsDefinition:
    """The raw asset of one IMDb file."""

    @dg.asset(
        key=raw_asset_key(imdb_file),
        partitions_def=daily_partitions,
        group_name=RAW_GROUP,
        kinds={"file"},
        owners=["team:data-engineering"],
        tags={"layer": "raw"},
        op_tags=CRITICAL_PATH_OP_TAGS if imdb_file == TITLE_PRINCIPALS else None,
        description=(
            f"IMDb's `{imdb_file.file_name}` for the partition's snapshot day, as published (gzipped TSV), from the "
            "configured source (sample generator, IMDb's HTTP server or a local mirror). Unchanged files are kept, "
            "not fetched again. Metadata: size and sha256 of the file (its rows are counted by the clean asset)."
        ),
    )
    def raw_file(
        context: dg.AssetExecutionContext, imdb_source: ImdbSource, data_lake: DataLake
    ) -> dg.MaterializeResult:
        started = time.perf_counter()
        fetched = imdb_source.fetch(
            imdb_file, partition_date(context.partition_key), data_lake.raw_dir(context.partition_key)
        )
        check_header(fetched.path, imdb_file)
        stats = raw_file_stats(fetched.path)
        return dg.MaterializeResult(
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

    return raw_file


raw_assets = [build_raw_asset(imdb_file) for imdb_file in IMDB_FILES]
