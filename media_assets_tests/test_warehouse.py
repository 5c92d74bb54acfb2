"""The DuckDB warehouse: views over the latest partition's Parquet files, rebuilt atomically, and the README query."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from media_assets.model.warehouse import (
    MODEL_TABLES,
    TOP_MOVIES_QUERY,
    WAREHOUSE_INFO_TABLE,
    build_warehouse,
    latest_complete_partition,
)
from media_assets_tests.test_model import DAY_1, DAY_2, model_run, snapshots  # noqa: F401 (fixtures)


@pytest.fixture
def warehouse(model_run):  # noqa: F811
    connection = duckdb.connect(str(model_run.data_lake.warehouse_path), read_only=True)
    yield connection
    connection.close()


def test_views_read_the_latest_partition_by_absolute_path(model_run, warehouse):  # noqa: F811
    views = dict(warehouse.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall())
    assert set(views) == set(MODEL_TABLES)
    for table in MODEL_TABLES:
        path = model_run.path(table, DAY_2)
        assert Path(path).is_absolute() and f"'{path}'" in views[table]
        (count,) = warehouse.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert count == pl.scan_parquet(path).select(pl.len()).collect().item() > 0
    info = warehouse.execute(f"SELECT table_name, partition_key, parquet_path FROM {WAREHOUSE_INFO_TABLE}").fetchall()
    assert sorted(info) == sorted((t, DAY_2, model_run.path(t, DAY_2)) for t in MODEL_TABLES)
    assert [model_run.metadata["warehouse"][key]["partition_read"] for key in (DAY_1, DAY_2)] == [DAY_1, DAY_2]


def test_readme_query_returns_the_top_movies_computed_from_the_cleaned_tables(model_run, warehouse):  # noqa: F811
    expected = duckdb.sql(
        f"""
        WITH movies AS (SELECT * FROM read_parquet('{model_run.path("clean_title_basics", DAY_2)}')
                        WHERE title_type = 'movie'),
             scoped AS (SELECT * FROM read_parquet('{model_run.path("clean_title_basics", DAY_2)}')
                        WHERE title_type IN ('movie', 'tvMovie', 'tvSeries', 'tvMiniSeries')),
             rated AS (SELECT r.* FROM read_parquet('{model_run.path("clean_title_ratings", DAY_2)}') r
                       JOIN scoped USING (title_id)),
             constants AS (SELECT quantile_cont(num_votes, 0.25) AS m, avg(average_rating) AS c FROM rated)
        SELECT movies.tconst, movies.primary_title, movies.start_year, average_rating, num_votes,
               num_votes / (num_votes + m) * average_rating + m / (num_votes + m) * c AS weighted
        FROM rated JOIN movies USING (title_id), constants
        ORDER BY weighted DESC, num_votes DESC, title_id
        LIMIT 10
        """
    ).fetchall()
    rows = warehouse.execute(TOP_MOVIES_QUERY).fetchall()
    assert len(rows) == 10
    assert [row[:5] for row in rows] == [row[:5] for row in expected]
    assert [row[5] for row in rows] == pytest.approx([round(row[5], 3) for row in expected], abs=1e-9)


def test_rebuild_replaces_the_file_atomically(tmp_path, model_run):  # noqa: F811
    path = tmp_path / "warehouse.duckdb"
    day_1 = {t: Path(model_run.path(t, DAY_1)) for t in MODEL_TABLES}
    day_2 = {t: Path(model_run.path(t, DAY_2)) for t in MODEL_TABLES}
    counts_1 = build_warehouse(path, day_1, DAY_1)
    reader = duckdb.connect(str(path), read_only=True)
    try:
        counts_2 = build_warehouse(path, day_2, DAY_2)
        # a reader that opened the old file keeps reading it whole; a new one sees the new warehouse
        assert reader.execute(f"SELECT DISTINCT partition_key FROM {WAREHOUSE_INFO_TABLE}").fetchall() == [(DAY_1,)]
        assert reader.execute("SELECT count(*) FROM dim_title").fetchone()[0] == counts_1["dim_title"]
    finally:
        reader.close()
    with duckdb.connect(str(path), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM dim_title").fetchone()[0] == counts_2["dim_title"]
    assert counts_2["dim_genre"] == counts_1["dim_genre"] + 1

    # a failed build leaves the previous warehouse in place, and no temporary file behind
    with pytest.raises(duckdb.Error):
        build_warehouse(path, day_2 | {"dim_title": tmp_path / "missing.parquet"}, DAY_2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb"]
    with duckdb.connect(str(path), read_only=True) as fresh:
        assert fresh.execute(f"SELECT DISTINCT partition_key FROM {WAREHOUSE_INFO_TABLE}").fetchall() == [(DAY_2,)]


def test_latest_complete_partition_skips_a_day_a_table_lacks():
    keys = {"dim_title": {"2026-01-01", "2026-01-02", "2026-01-03"}, "fact_ratings": {"2026-01-01", "2026-01-02"}}
    assert latest_complete_partition(keys) == "2026-01-02"
    assert latest_complete_partition(keys | {"dim_genre": set()}) is None
