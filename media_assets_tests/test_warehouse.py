"""The DuckDB warehouse over every published day: the newest day's tables as views over its published files, the
history, the views for the common questions, the README query, incremental updates, a withdrawn day, a re-published
day, a reader open during an update, a warehouse from before the views, and a data directory that moved."""

import datetime as dt
import shutil
import subprocess
import sys
import time

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from media_assets.model.transforms import MODEL_TABLES
from media_assets.publish.state import PublishedDay
from media_assets.publish.warehouse import (
    NEWEST_DAY_TABLES,
    TOP_MOVIES_QUERY,
    WAREHOUSE_DAYS_TABLE,
    WarehouseInUseError,
    sync_warehouse,
)
from media_assets.resources import DataLake
from media_assets.retention.apply import apply_retention
from media_assets.retention.policy import RetentionPolicy
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


def assert_views_read_the_files_of(connection: duckdb.DuckDBPyConnection, publication: PublishedDay) -> None:
    for table in NEWEST_DAY_TABLES:
        assert_frame_equal(connection.sql(f'SELECT * FROM "{table}"').pl(), pl.read_parquet(publication.tables[table]))


def copied_lake(source: DataLake, destination) -> DataLake:
    shutil.copytree(source.root_path, destination)
    return DataLake(root=str(destination))


def test_the_newest_days_tables_are_views_over_its_published_files(synced, warehouse):
    run, row_counts = synced
    newest = run.data_lake.published.get(dt.date.fromisoformat(DAY_2))
    assert_views_read_the_files_of(warehouse, newest)
    # Nothing of them is copied: the database's tables are the daily fact and the bookkeeping.
    tables = {name for (name,) in warehouse.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"fact_ratings", "warehouse_days", "warehouse_info"}
    info = {
        name: (count, source) for name, _, count, source in warehouse.execute("SELECT * FROM warehouse_info").fetchall()
    }
    assert info == {
        table: (
            pl.read_parquet(newest.tables[table]).height if table != "fact_ratings" else row_counts[table],
            str(newest.tables[table]) if table != "fact_ratings" else None,
        )
        for table in MODEL_TABLES
    }


def republish_with_fewer_people(lake: DataLake, day: str) -> PublishedDay:
    """Publish `day` again as a new generation whose dim_person holds half of the published one's rows."""
    current = lake.published.get(dt.date.fromisoformat(day))
    staged_dir = lake.root_path / "restaged"
    staged_dir.mkdir()
    staged = {}
    for table, path in current.tables.items():
        frame = pl.read_parquet(path)
        staged[table] = staged_dir / f"{table}.parquet"
        (frame.head(frame.height // 2) if table == "dim_person" else frame).write_parquet(staged[table])
    return lake.published.publish(
        current.snapshot_date, "republished", staged, current.predecessor, current.quality_report
    )


def test_a_republished_day_re_points_the_views_and_its_superseded_files_go(tmp_path, model_run):
    lake = copied_lake(model_run.data_lake, tmp_path / "lake")
    sync_warehouse(lake.warehouse_path, lake.published)
    superseded = lake.published.get(dt.date.fromisoformat(DAY_2)).tables["dim_person"].parent
    republished = republish_with_fewer_people(lake, DAY_2)

    # as the warehouse step does: re-point, then remove the superseded publication
    row_counts = sync_warehouse(lake.warehouse_path, lake.published)
    assert lake.published.prune() == [superseded]
    assert not superseded.exists()
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as connection:
        assert_views_read_the_files_of(connection, republished)
        assert row_counts["dim_person"] == pl.read_parquet(republished.tables["dim_person"]).height
        assert connection.execute(
            f"SELECT generation FROM {WAREHOUSE_DAYS_TABLE} WHERE snapshot_date = ?", [DAY_2]
        ).fetchone() == ("republished",)
        assert len(connection.execute(TOP_MOVIES_QUERY).fetchall()) == 10


def test_retention_leaves_the_files_the_views_read_until_the_warehouse_step_re_points_them(tmp_path, model_run):
    lake = copied_lake(model_run.data_lake, tmp_path / "lake")
    sync_warehouse(lake.warehouse_path, lake.published)
    read = lake.published.get(dt.date.fromisoformat(DAY_2))
    republish_with_fewer_people(lake, DAY_2)  # and the warehouse step did not run (failed, or not selected)
    record = apply_retention(lake, RetentionPolicy(keep_days=2), "retention-run", run_finished=lambda run_id: True)
    assert {entry["role"] for entry in record.days.values()} <= {"recent", "keyframe"}
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as connection:
        assert_views_read_the_files_of(connection, read)


READER = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
def state():
    generation = connection.execute("SELECT max_by(generation, snapshot_date) FROM warehouse_days").fetchone()[0]
    return generation, connection.execute("SELECT count(*) FROM dim_person").fetchone()[0]
print(*state(), flush=True)
time.sleep(float(sys.argv[2]))
print(*state(), flush=True)
"""


def test_an_update_waits_for_a_reader_of_another_process_which_sees_the_warehouse_before_it(tmp_path, model_run):
    lake = copied_lake(model_run.data_lake, tmp_path / "lake")
    sync_warehouse(lake.warehouse_path, lake.published)
    before = lake.published.get(dt.date.fromisoformat(DAY_2))
    republished = republish_with_fewer_people(lake, DAY_2)
    hold_seconds = 4.0
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(lake.warehouse_path), str(hold_seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        first_read = reader.stdout.readline().split()  # the reader's connection is open from here on
        started = time.monotonic()
        with pytest.raises(WarehouseInUseError, match=rf"PID {reader.pid}\).*close that connection"):
            sync_warehouse(lake.warehouse_path, lake.published, reader_wait_seconds=0.5)
        sync_warehouse(lake.warehouse_path, lake.published)
        waited = time.monotonic() - started
        second_read = reader.stdout.readline().split()
    finally:
        reader.wait(timeout=30)
    people_before = pl.read_parquet(before.tables["dim_person"]).height
    assert first_read == second_read == [before.generation, str(people_before)]
    assert waited >= hold_seconds - 1.0
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as connection:
        assert_views_read_the_files_of(connection, republished)


def test_a_warehouse_holding_copies_gets_views_instead(tmp_path, model_run):
    lake = copied_lake(model_run.data_lake, tmp_path / "lake")
    newest = lake.published.get(dt.date.fromisoformat(DAY_2))
    lake.warehouse_path.unlink(missing_ok=True)
    with duckdb.connect(str(lake.warehouse_path)) as connection:  # as an earlier version left it
        for table in NEWEST_DAY_TABLES:
            connection.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{newest.tables[table]}')")
    sync_warehouse(lake.warehouse_path, lake.published)
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as connection:
        views = {
            name for (name,) in connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        assert views >= set(NEWEST_DAY_TABLES)
        tables = {name for (name,) in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables == {"fact_ratings", "warehouse_days", "warehouse_info"}
        assert_views_read_the_files_of(connection, newest)


def test_a_moved_data_directory_keeps_the_ratings_history_and_the_warehouse_step_re_points_the_views(
    tmp_path, model_run
):
    lake = copied_lake(model_run.data_lake, tmp_path / "lake")
    sync_warehouse(lake.warehouse_path, lake.published)
    moved = tmp_path / "moved"
    lake.root_path.rename(moved)
    moved_lake = DataLake(root=str(moved))
    with duckdb.connect(str(moved_lake.warehouse_path), read_only=True) as connection:
        per_day = connection.execute("SELECT count(DISTINCT snapshot_date) FROM fact_ratings").fetchone()[0]
        assert per_day == 2
        with pytest.raises(duckdb.IOException, match=str(lake.root_path / "published")):
            connection.execute("SELECT count(*) FROM dim_title").fetchone()

    sync_warehouse(moved_lake.warehouse_path, moved_lake.published)
    with duckdb.connect(str(moved_lake.warehouse_path), read_only=True) as connection:
        assert_views_read_the_files_of(connection, moved_lake.published.get(dt.date.fromisoformat(DAY_2)))
        assert connection.execute("SELECT count(DISTINCT snapshot_date) FROM title_ratings_history").fetchone()[0] == 2


def test_paths_written_for_a_relative_data_directory_are_absolute(tmp_path, model_run, monkeypatch):
    copied_lake(model_run.data_lake, tmp_path / "lake")
    monkeypatch.chdir(tmp_path)
    lake = DataLake(root="lake")
    sync_warehouse(lake.warehouse_path, lake.published)
    monkeypatch.chdir(tmp_path / "lake")  # a reader elsewhere
    with duckdb.connect("warehouse.duckdb", read_only=True) as connection:
        assert_views_read_the_files_of(
            connection, DataLake(root=str(tmp_path / "lake")).published.get(dt.date.fromisoformat(DAY_2))
        )
