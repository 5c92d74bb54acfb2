"""How the clean layer stores a raw file's tables: the clean table and its side tables (quarantined lines, nulled
values) from one streaming pass, a fast plan's key-order assumption with its fallback, and reuse of tables already
built from the same raw file by the same code."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from media_assets.io_managers import NULL_COUNTS_ONLY, parquet_table_metadata, write_parquet_atomically
from media_assets.sources.raw_files import RawFileError
from media_assets.telemetry import peak_rss_bytes

SOURCE_VERSION_KEY = "media_assets:source_version"
"""Parquet footer key of the `source_version` a file was written from (see `TableWithSideTables`)."""


class SourceReadError(RuntimeError):
    """The streaming pass over an output's source file failed (e.g. a truncated gzip): names the file."""


@dataclass(frozen=True)
class SideTable:
    """A table written in the same streaming pass as the main table, e.g. the rows a cleaning step quarantined."""

    name: str
    """Metadata prefix, e.g. `quarantined`."""
    path: Path
    frame: pl.LazyFrame
    count_by: str | None = None
    """A column whose value counts are recorded in metadata (e.g. the quarantine reason)."""
    holds_input_rows: bool = True
    """True when its rows are input rows kept out of the table (quarantine), so they count in `rows_in`; False for
    facts about rows that stayed in the table (e.g. values that were set to null)."""


@dataclass(frozen=True)
class Assumption:
    """A condition a fast plan relies on, computed in the same pass as the tables. When it does not hold, the
    tables are discarded before they replace anything and `fallback()` is written instead."""

    name: str
    """Recorded in metadata as `name: True` (it held) or `name: False` (the fallback was written)."""
    holds: pl.LazyFrame
    """One row, one Boolean column."""
    fallback: Callable[[], "TableWithSideTables"]


@dataclass(frozen=True)
class TableWithSideTables:
    """A table whose input rows are split between the stored table and side tables.

    One streaming pass feeds all of them (`pl.collect_all` shares the scan), so a large gzip file is inflated and
    parsed once however many files come out of it.
    """

    table: pl.LazyFrame
    side_tables: tuple[SideTable, ...] = field(default=())
    source: Path | None = None
    """The file the frames read: named when the pass fails, e.g. on a truncated gzip."""
    source_version: str | None = None
    """Identifies the source's content and the code deriving the tables from it. It is stored in every file's
    footer, and when all the stored files carry the same one they are kept as they are: nothing is read."""
    assumption: Assumption | None = None

    def frames(self, path: Path) -> dict[Path, pl.LazyFrame]:
        """Every frame by the path it is written to, the table at `path`."""
        return {path: self.table} | {side.path: side.frame for side in self.side_tables}


def stored_source_version(path: Path) -> str | None:
    """The `source_version` in a Parquet file's footer; None when the file is missing or has none."""
    if not path.exists():
        return None
    footer = pq.ParquetFile(path).metadata.metadata or {}
    version = footer.get(SOURCE_VERSION_KEY.encode())
    return version.decode() if version is not None else None


def store_table_with_side_tables(path: Path, output: TableWithSideTables) -> dict[str, dg.MetadataValue | int]:
    """Write `output` (table at `path`, side tables at theirs), or keep the stored files when they were written
    from the same `source_version`; returns what happened as metadata (`reused`, the assumption's outcome)."""
    frames = output.frames(path)
    if output.source_version is not None and all(stored_source_version(p) == output.source_version for p in frames):
        return {"reused": True}
    footer = {SOURCE_VERSION_KEY: output.source_version} if output.source_version is not None else None
    metadata: dict[str, dg.MetadataValue | int] = {} if footer is None else {"reused": False}
    try:
        assumption = output.assumption
        # Only the model steps read the clean tables, whole: null counts (for the metadata) are the statistics kept.
        condition = assumption.holds if assumption else None
        if write_parquet_atomically(frames, footer=footer, condition=condition, statistics=NULL_COUNTS_ONLY):
            if assumption:
                metadata[assumption.name] = True
        else:
            metadata[assumption.name] = False
            write_parquet_atomically(assumption.fallback().frames(path), footer=footer, statistics=NULL_COUNTS_ONLY)
    except (pl.exceptions.PolarsError, OSError, RawFileError) as error:  # RawFileError: from a reader in Python
        if output.source is None:
            raise
        raise SourceReadError(f"{path.parent.name}: reading {output.source} failed: {error}") from error
    return metadata


def side_table_metadata(side: SideTable) -> dict[str, dg.MetadataValue | int]:
    """Row count of a side table, and its value counts by `count_by` (side tables are small: read whole)."""
    rows = pq.ParquetFile(side.path).metadata.num_rows
    metadata: dict[str, dg.MetadataValue | int] = {
        f"{side.name}_rows": rows,
        f"{side.name}_path": dg.MetadataValue.path(str(side.path)),
    }
    if side.count_by:
        counts = pl.read_parquet(side.path, columns=[side.count_by])[side.count_by].value_counts(sort=True)
        metadata[f"{side.name}_by_{side.count_by}"] = dg.MetadataValue.json(
            {str(value): count for value, count in counts.iter_rows()}
        )
    return metadata


def store_clean_tables(path: Path, output: TableWithSideTables) -> dict[str, dg.MetadataValue | int]:
    """Store `output` (see `store_table_with_side_tables`) and describe it (`describe_clean_tables`)."""
    return describe_clean_tables(path, output.side_tables, store_table_with_side_tables(path, output))


def describe_clean_tables(
    path: Path, side_tables: Sequence[SideTable], written: dict[str, dg.MetadataValue | int]
) -> dict[str, dg.MetadataValue | int]:
    """What a clean materialization records: the table's catalogue metadata (the same as the IO manager records),
    what happened (`written`), each side table, `rows_in` (the table's rows and the input rows held aside) and the
    step's peak memory."""
    metadata = {"path": dg.MetadataValue.path(str(path))} | parquet_table_metadata(path) | written
    metadata["rows_in"] = metadata["dagster/row_count"]
    for side in side_tables:
        side_metadata = side_table_metadata(side)
        if side.holds_input_rows:
            metadata["rows_in"] += side_metadata[f"{side.name}_rows"]
        metadata |= side_metadata
    return metadata | {"peak_rss_bytes": peak_rss_bytes()}
