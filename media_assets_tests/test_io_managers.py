"""The Parquet IO manager on a local folder and on fsspec's in-memory filesystem (an object store's stand-in)."""

import uuid
from pathlib import Path

import dagster as dg
import fsspec
import polars as pl
import pyarrow.parquet as pq
import pytest
from upath import UPath

from media_assets.io_managers import LazyParquetIOManager, write_parquet_atomically

DAY = "2026-11-20"
partitions = dg.DailyPartitionsDefinition(start_date="2026-11-01")
TITLES = pl.DataFrame({"title_id": [3, 1, 2], "primary_title": ["C", None, "B"], "start_year": [1999, 2001, None]})


@dg.asset(partitions_def=partitions)
def titles() -> pl.LazyFrame:
    return TITLES.lazy().filter(pl.col("title_id") > 0)


@dg.asset(partitions_def=partitions)
def titles_seen_downstream(context: dg.AssetExecutionContext, titles: pl.LazyFrame) -> pl.DataFrame:
    context.add_output_metadata({"input_type": type(titles).__name__})
    return titles.collect()


@dg.asset(partitions_def=partitions, name="titles")
def failing_titles() -> pl.LazyFrame:
    return pl.LazyFrame({"title_id": ["not a number"]}).select(pl.col("title_id").cast(pl.Int64))


def local_base(tmp_path: Path) -> UPath:
    return UPath(tmp_path / "tables")


def memory_base(tmp_path: Path) -> UPath:
    return UPath(f"memory://lake-{uuid.uuid4().hex}/tables")


def read_back(path: UPath) -> pq.ParquetFile:
    """The stored file, read by pyarrow through fsspec, independently of polars and the IO manager."""
    return pq.ParquetFile(fsspec.open(str(path), "rb").open())


def materialize(assets: list, base: UPath, *, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        partition_key=DAY,
        resources={"io_manager": LazyParquetIOManager(base_path=base)},
        raise_on_error=raise_on_error,
    )


@pytest.mark.parametrize("base_of", [local_base, memory_base], ids=["local", "memory"])
def test_stores_a_partition_at_its_asset_path_and_loads_it_lazily(tmp_path: Path, base_of):
    base = base_of(tmp_path)
    result = materialize([titles, titles_seen_downstream], base)

    stored = read_back(base / "titles" / f"{DAY}.parquet")
    assert stored.read().to_pydict() == TITLES.to_dict(as_series=False)
    [materialization] = result.asset_materializations_for_node("titles")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert metadata["dagster/row_count"] == 3
    assert metadata["null_counts"] == {"title_id": 0, "primary_title": 1, "start_year": 1}
    assert [column.name for column in metadata["dagster/column_schema"].columns] == list(TITLES.columns)
    assert metadata["bytes_written"] == len((base / "titles" / f"{DAY}.parquet").read_bytes())
    [downstream] = result.asset_materializations_for_node("titles_seen_downstream")
    assert downstream.metadata["input_type"].value == "LazyFrame"
    downstream_file = read_back(base / "titles_seen_downstream" / f"{DAY}.parquet")
    assert downstream_file.read().to_pydict() == TITLES.to_dict(as_series=False)


@pytest.mark.parametrize("base_of", [local_base, memory_base], ids=["local", "memory"])
def test_a_failed_write_leaves_the_stored_file_as_it_was(tmp_path: Path, base_of):
    base = base_of(tmp_path)
    materialize([titles], base)
    path = base / "titles" / f"{DAY}.parquet"
    before = path.read_bytes()

    assert not materialize([failing_titles], base, raise_on_error=False).success
    assert path.read_bytes() == before
    assert sorted(entry.name for entry in path.parent.iterdir()) == [path.name]  # no temporary left behind


def test_a_frame_is_written_to_the_same_bytes_however_it_is_chunked(tmp_path: Path):
    """A streaming collect hands back different chunks from run to run; the file must not show it."""
    rows = pl.DataFrame({"id": range(250_000), "name": [f"n{i % 97}" for i in range(250_000)]})
    chunkings = [rows, pl.concat([rows[:1000], rows[1000:120_000], rows[120_000:]], rechunk=False)]
    assert [frame.n_chunks() for frame in chunkings] == [1, 3]
    paths = [tmp_path / "one.parquet", tmp_path / "three.parquet"]
    for frame, path in zip(chunkings, paths, strict=True):
        write_parquet_atomically({path: frame})
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert pl.read_parquet(paths[1]).equals(rows)
