"""The DuckDB warehouse over every published day: history, the views for the common questions, the README query,
incremental updates, a withdrawn day, and a data directory that moved."""

import datetime as dt
import shutil

import duckdb
import polars as pl
import pytest

from media_assets.model.transforms import MODEL_TABLES
from media_assets.publish.warehouse import TOP_MOVIES_QUERY, WAREHOUSE_DAYS_TABLE, sync_warehouse
from media_assets.resources import DataLake
from media_assets_tests.model_support import DAY_1, DAY_2


@pytest.fixture(scope="module")
def synced(model_run):
    row_counts = sync_warehouse(model_run.data_lake.warehouse_path, model_run.data_lake.published)
    return model_run, row_counts


@pytest.fixture
def warehouse(synced):
    run, _ = synced
    connection = duckdb.connect(str(run.data_lake.warehouse_path), read_only=True)
    yield connection
    connection.close()


def published_table(run, table: str, day: str) -> pl.DataFrame:
    return pl.read_parquet(run.data_lake.published.get(dt.date.fromisoformat(day)).tables[table])


def test_fact_ratings_hold_every_published_day_and_the_rest_the_newest(synced, warehouse):
    run, row_counts = synced
    per_day = dict(warehouse.execute("SELECT snapshot_date, count(*) FROM fact_ratings GROUP BY 1").fetchall())
    assert {day.isoformat(): n for day, n in per_day.items()} == {
        day: published_table(run, "fact_ratings", day).height for day in (DAY_1, DAY_2)
    }
    for table in MODEL_TABLES:
        if table != "fact_ratings":
            assert row_counts[table] == published_table(run, table, DAY_2).height, table
    # dim_title's rows are the whole history: day 1's versions included, by key
    day_1_keys = set(published_table(run, "dim_title", DAY_1)["title_sk"])
    warehouse_keys = {key for (key,) in warehouse.execute("SELECT title_sk FROM dim_title").fetchall()}
    assert day_1_keys <= warehouse_keys


def test_catalogue_on_a_day_is_that_days_current_titles(synced, warehouse):
    run, _ = synced
    for day in (DAY_1, DAY_2):
        expected = set(published_table(run, "dim_title", day).filter("is_current")["title_sk"])
        rows = warehouse.execute("SELECT title_sk FROM catalogue_on(?::DATE)", [day]).fetchall()
        assert {key for (key,) in rows} == expected, day
    assert expected != set(published_table(run, "dim_title", DAY_1).filter("is_current")["title_sk"])


def test_a_titles_ratings_over_time_come_from_each_days_facts(synced, warehouse):
    run, _ = synced
    votes = {
        day: dict(published_table(run, "fact_ratings", day).select("title_id", "num_votes").iter_rows())
        for day in (DAY_1, DAY_2)
    }
    title_id = min(set(votes[DAY_1]) & set(votes[DAY_2]))
    rows = warehouse.execute(
        "SELECT snapshot_date, num_votes, tconst FROM title_ratings_history WHERE title_id = ? ORDER BY 1",
        [title_id],
    ).fetchall()
    assert [(day.isoformat(), n) for day, n, _ in rows] == [(day, votes[day][title_id]) for day in (DAY_1, DAY_2)]
    assert {tconst for *_, tconst in rows} == {f"tt{title_id:07d}"}


def test_readme_query_returns_the_top_movies_computed_from_the_cleaned_tables(synced, warehouse):
    run, _ = synced
    expected = duckdb.sql(
        f"""
        WITH movies AS (SELECT * FROM read_parquet('{run.path("clean_title_basics", DAY_2)}')
                        WHERE title_type = 'movie'),
             scoped AS (SELECT * FROM read_parquet('{run.path("clean_title_basics", DAY_2)}')
                        WHERE title_type IN ('movie', 'tvMovie', 'tvSeries', 'tvMiniSeries')),
             rated AS (SELECT r.* FROM read_parquet('{run.path("clean_title_ratings", DAY_2)}') r
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


def test_updates_load_only_changed_days_and_drop_withdrawn_ones(tmp_path, model_run):
    lake_root = tmp_path / "lake"
    shutil.copytree(model_run.root, lake_root)
    lake = DataLake(root=str(lake_root))
    sync_warehouse(lake.warehouse_path, lake.published)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as connection:
        loaded = connection.execute(f"SELECT * FROM {WAREHOUSE_DAYS_TABLE} ORDER BY 1").fetchall()
    assert [(day.isoformat(), generation) for day, generation in loaded] == [
        (day, lake.published.get(dt.date.fromisoformat(day)).generation) for day in (DAY_1, DAY_2)
    ]

    lake.published.unpublish(dt.date.fromisoformat(DAY_2), reason="test")
    sync_warehouse(lake.warehouse_path, lake.published)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as connection:
        assert connection.execute("SELECT DISTINCT snapshot_date FROM fact_ratings").fetchall() == [
            (dt.date.fromisoformat(DAY_1),)
        ]
        # the other tables are the newest *published* day's now: day 1's
        assert (
            connection.execute("SELECT count(*) FROM fact_cast_crew").fetchone()[0]
            == pl.read_parquet(lake.published.get(dt.date.fromisoformat(DAY_1)).tables["fact_cast_crew"]).height
        )


def test_the_warehouse_keeps_working_when_the_data_directory_moves(tmp_path, synced):
    run, _ = synced
    moved = tmp_path / "moved" / "warehouse.duckdb"
    moved.parent.mkdir()
    shutil.copy(run.data_lake.warehouse_path, moved)
    with duckdb.connect(str(moved), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM title_ratings_history").fetchone()[0] > 0
        assert len(connection.execute(TOP_MOVIES_QUERY).fetchall()) == 10
