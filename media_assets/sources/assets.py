"""Raw layer: the IMDb files of a day, archived under `<data dir>/raw/<partition>/` (see `sources.archive`).

One asset per file, materialized by that file's step together with its clean table (`media_assets.clean.assets`:
a new file is cleaned as it is copied, so it is inflated once): a bad file fails its own step only, and Dagster
then skips only what depends on it; the other files are archived and cleaned. Each raw asset also carries an asset
check, run in the same step, that re-reads the stored file and compares it with the sha256 recorded when it was
archived.
"""

import time

import dagster as dg

from media_assets import owners
from media_assets.atomic_files import remove_orphaned_temporaries
from media_assets.partitions import daily_partitions, partition_date
from media_assets.resources import DataLake
from media_assets.sources.archive import ArchiveResult, Outcome, ReadAlong, read_archived, stored_sha256s
from media_assets.sources.http_download import DownloadError
from media_assets.sources.imdb_files import ImdbFile
from media_assets.sources.imdb_source import ImdbSource
from media_assets.telemetry import peak_rss_bytes

RAW_GROUP = "raw"
ARCHIVE_CHECK_NAME = "archive_matches_recorded_sha256"


def raw_asset_key(imdb_file: ImdbFile) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{imdb_file.asset_suffix}")


def remove_orphans_of_day(data_lake: DataLake, partition_key: str) -> list[str]:
    """Remove the temporaries that killed writers left in the folders a day's run writes to (raw, quarantine,
    quality, KPIs and every table folder); a concurrent run's temporaries are kept (`remove_orphaned_temporaries`)."""
    folders = [
        data_lake.raw_dir(partition_key),
        data_lake.quarantine_dir(partition_key),
        data_lake.quality_dir(partition_key),
        data_lake.kpi_dir(partition_key),
    ]
    if data_lake.tables_dir.is_dir():
        folders += [folder for folder in data_lake.tables_dir.iterdir() if folder.is_dir()]
    return [str(path) for folder in folders for path in remove_orphaned_temporaries(folder)]


def raw_metadata(result: ArchiveResult, imdb_source: ImdbSource, imdb_file: ImdbFile) -> dict:
    """What a raw materialization records: the archived file, its layout and what this run did with the source."""
    archived = result.archived
    record = archived.record
    layout = archived.layout(imdb_file)
    validators = {name: record[name] for name in ("etag", "last_modified") if record.get(name)}
    return {
        "path": dg.MetadataValue.path(str(archived.path)),
        "bytes": record["bytes"],
        "sha256": archived.sha256,
        "source_kind": imdb_source.kind,
        "source": record["source"],
        "outcome": result.outcome.value,
        "fetched": result.outcome is Outcome.FETCHED,
        "lines": record["lines"],
        "invalid_utf8_lines": archived.invalid_utf8_lines,
        "bom": layout.bom,
        "line_ends": "CRLF" if layout.crlf else "LF",
        "appended_columns": dg.MetadataValue.json(list(layout.appended_columns)),
        # Only HTTP downloads have validators; other sources leave them out rather than show empty rows.
        **validators,
    }


def archive_check_result(
    imdb_file: ImdbFile, data_lake: DataLake, partition_key: str, hashed_in_this_step: bool = False
) -> dg.AssetCheckResult:
    """Re-read the day's stored file and compare it with the sha256 recorded when it was archived.

    `hashed_in_this_step`: the file was copied by this step, which hashed the bytes as it wrote them. While its
    identity (inode, size, mtime, ctime) is still the one recorded then, nothing wrote to it since, and a re-read
    would only hash the same bytes again from the page cache (1.1 CPU-s for title.principals): it is not re-read."""
    path = data_lake.raw_dir(partition_key) / imdb_file.file_name
    archived = read_archived(path)
    if archived is None:
        return dg.AssetCheckResult(
            asset_key=raw_asset_key(imdb_file),
            check_name=ARCHIVE_CHECK_NAME,
            passed=False,
            metadata={"problem": f"{path}: no archived file with its {path.name}.raw.json"},
        )
    if hashed_in_this_step and archived.intact and not archived.stored:
        stored = {archived.path: (archived.sha256, archived.sha256)}
    else:
        stored = stored_sha256s(archived)
    changed = {file: sha256s for file, sha256s in stored.items() if sha256s[0] != sha256s[1]}
    metadata = {
        "path": dg.MetadataValue.path(str(path)),
        "recorded_sha256": archived.sha256,
        "sha256": stored[archived.stored_path][1],
        "stored": dg.MetadataValue.json(
            {str(file): {"recorded_sha256": recorded, "sha256": found} for file, (recorded, found) in stored.items()}
        ),
        "hashed": "as it was copied, by this step" if hashed_in_this_step else "re-read now",
    }
    if changed:
        metadata["problem"] = (
            " ".join(
                f"{file} changed since it was archived: sha256 {found}, recorded {recorded}."
                for file, (recorded, found) in changed.items()
            )
            + " Restore it from a backup, or materialize the day again (with IMDB_REFETCH_PUBLISHED=1 for a "
            "published day)."
        )
    return dg.AssetCheckResult(
        asset_key=raw_asset_key(imdb_file),
        check_name=ARCHIVE_CHECK_NAME,
        passed=not changed,
        metadata=metadata,
    )


def raw_asset_spec(imdb_file: ImdbFile) -> dg.AssetSpec:
    """The raw asset of one IMDb file (materialized by the file's step, `media_assets.clean.assets`)."""
    return dg.AssetSpec(
        raw_asset_key(imdb_file),
        partitions_def=daily_partitions,
        group_name=RAW_GROUP,
        kinds={"file"},
        owners=owners.DATA_ENGINEERING,
        tags={"layer": "raw"},
        # Not materialized when a live source has no new release: what depends on it is skipped, not failed.
        skippable=True,
        description=(
            f"IMDb's `{imdb_file.file_name}` for the partition's snapshot day, as published (gzipped TSV), archived "
            "under `raw/<day>/` from the configured source: copied, checked completely (gzip stream, header, UTF-8 "
            "of every line) before it replaces anything, never changed once the day is published. Metadata: size, "
            "sha256, layout (BOM, line ends, appended columns), lines and lines that are not UTF-8, what happened "
            "(`outcome`)."
        ),
    )


def archive_check_spec(imdb_file: ImdbFile) -> dg.AssetCheckSpec:
    """The raw asset's archive check, run in the file's step."""
    return dg.AssetCheckSpec(
        ARCHIVE_CHECK_NAME,
        asset=raw_asset_key(imdb_file),
        # Blocking: a clean table must not be built from an archive that changed after it was verified. It costs no
        # step of its own (it runs in the file's step, or alone when only it is selected).
        blocking=True,
        description="The stored file still has the sha256 recorded when it was archived: the archive is the only "
        "history of IMDb's files. Select it alone to audit past days.",
    )


def materialize_raw(
    context: dg.AssetExecutionContext,
    imdb_file: ImdbFile,
    imdb_source: ImdbSource,
    data_lake: DataLake,
    read_along: ReadAlong | None = None,
) -> dg.MaterializeResult | None:
    """Archive the partition's file (a new file's text handed to `read_along` as it is copied); its
    materialization, or None when a live source has no new release. A download error is raised as it is, for the
    retry policy (the server); any other error of the archive fails the step without retry (a bad file, a missing
    day, a full disk: the same again after a wait)."""
    started = time.perf_counter()
    day = partition_date(context.partition_key)
    for removed in remove_orphans_of_day(data_lake, context.partition_key):
        context.log.info(f"removed {removed}, left by a writer that no longer runs")
    published = data_lake.published.is_published(day)
    try:
        result = imdb_source.archive(imdb_file, day, data_lake.raw_root, published, read_along)
    except DownloadError:
        raise
    except Exception as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    if result.message:
        context.log.warning(result.message)
    if result.outcome is Outcome.NO_NEW_RELEASE:
        return None
    metadata = raw_metadata(result, imdb_source, imdb_file)
    if result.message:
        metadata["warning"] = result.message
    appended = result.archived.layout(imdb_file).appended_columns
    if appended:
        context.log.warning(
            f"{result.archived.record['source']}: line 1 has columns after IMDb's: {list(appended)}; they are kept "
            "in the archive and not read. IMDb may have changed the layout: check its documentation."
        )
    return dg.MaterializeResult(
        asset_key=raw_asset_key(imdb_file),
        metadata={**metadata, "seconds": round(time.perf_counter() - started, 3), "peak_rss_bytes": peak_rss_bytes()},
        # Downstream steps can tell from the checksum whether the snapshot really changed.
        data_version=dg.DataVersion(result.archived.sha256),
    )
