"""The queryable warehouse: a DuckDB database over every published day, kept in step with the published state.

- `fact_ratings` is a table: the ratings of every published day, copied in (`snapshot_date` tells them apart). It is
  the daily history, and retention removes the published files of older days (see media_assets/retention/), so
  the warehouse keeps its own copy; a native table also keeps the history questions fast.
- `dim_title` (its rows carry the full SCD2 history), `dim_person`, `dim_genre`, `dim_date`, `title_genre_bridge`
  and `fact_cast_crew` are views over the newest published day's Parquet files (`read_parquet` of
  `published/<day>/<generation>/<table>.parquet`), not copies: an update costs next to nothing and the file does
  not grow with them. Those files are immutable once published; the generation's folder is removed only by
  `PublishedState.prune()` once a later publication of the day superseded it, which the warehouse step runs after
  re-pointing the views, and by retention, which keeps the newest `keep_days` (at least 2) published days whole
  (a withdrawn day keeps its folder). A warehouse written before the views held copies: the first update drops
  them, and DuckDB reuses their space for the next days' ratings (the file does not shrink).
- `warehouse_days`: which publication (generation) of each day is loaded; `warehouse_info`: what each table holds,
  its row count (the views' from their Parquet footers) and, for a view, the file it reads.
Views for the common questions: `latest_ratings` (the newest day's ratings), `title_ratings_history` (a title's
ratings over time, with its attributes as they were that day) and the table macro `catalogue_on(day)` (the
catalogue as it was on a date).

The views hold absolute paths. When the data directory moves, `fact_ratings` still answers, but the views fail
with DuckDB's "No files found" naming the old path: the warehouse step re-points them (every update writes the
views again from the published state), e.g. `dagster asset materialize -m media_assets.definitions --select
warehouse --partition <newest day>`.

An update loads only the days whose publication changed, so its cost does not grow with the history; it runs in
one DuckDB transaction, so a reader sees the warehouse before or after it, never half of it. DuckDB lets a file be
open by one writing process or by readers: the update waits for readers of other processes to close it (up to
`READER_WAIT_SECONDS`), then fails saying so.
"""

import re
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from media_assets.atomic_files import file_lock
from media_assets.model.transforms import MODEL_TABLES
from media_assets.publish.state import PublishedDay, PublishedState

DAILY_FACT = "fact_ratings"
"""The table kept for every published day."""
NEWEST_DAY_TABLES = tuple(table for table in MODEL_TABLES if table != DAILY_FACT)
"""The tables read from the newest published day's files (dim_title's rows carry the whole history)."""
WAREHOUSE_DAYS_TABLE = "warehouse_days"
WAREHOUSE_INFO_TABLE = "warehouse_info"
READER_WAIT_SECONDS = 120.0
"""How long an update waits for another process's connection to the warehouse to close."""
_READER_POLL_SECONDS = 0.25

TOP_MOVIES_QUERY = """\
SELECT t.tconst,
       t.primary_title,
       t.start_year,
       f.average_rating,
       f.num_votes,
       round(f.bayesian_weighted_rating, 3) AS weighted_rating
FROM latest_ratings AS f
JOIN dim_title AS t USING (title_sk)
WHERE t.title_type = 'movie'
ORDER BY f.bayesian_weighted_rating DESC, f.num_votes DESC, t.title_id
LIMIT 10"""
"""README's example: the ten movies with the highest Bayesian weighted rating on the newest published day."""

_VIEWS = f"""
CREATE OR REPLACE VIEW latest_ratings AS
SELECT * FROM {DAILY_FACT} WHERE snapshot_date = (SELECT max(snapshot_date) FROM {WAREHOUSE_DAYS_TABLE});

CREATE OR REPLACE VIEW title_ratings_history AS
SELECT f.snapshot_date, f.title_id, t.tconst, t.primary_title, t.title_type, t.start_year,
       f.average_rating, f.num_votes, f.bayesian_weighted_rating, f.title_sk
FROM {DAILY_FACT} AS f
JOIN dim_title AS t USING (title_sk);

CREATE OR REPLACE MACRO catalogue_on(day) AS TABLE
SELECT * FROM dim_title WHERE valid_from <= day AND (valid_to IS NULL OR valid_to > day);
"""


class WarehouseInUseError(RuntimeError):
    """Another process kept the warehouse open for longer than an update waits."""


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parquet(path: Path) -> str:
    return f"read_parquet({_sql_string(str(path))})"


def _connect_for_update(warehouse_path: Path, reader_wait_seconds: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + reader_wait_seconds
    while True:
        try:
            return duckdb.connect(str(warehouse_path))
        except duckdb.IOException as error:
            if "Could not set lock" not in str(error):
                raise
            if time.monotonic() >= deadline:
                holder = re.search(r"held in (.*?\(PID \d+\))", str(error))
                process = holder[1] if holder else "unknown"
                raise WarehouseInUseError(
                    f"{warehouse_path} stayed open in another process ({process}) for {reader_wait_seconds:.0f} s: "
                    "close that connection, then run the warehouse step again."
                ) from None
            time.sleep(_READER_POLL_SECONDS)


def _drop_relation(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view `name` if there is one (an earlier warehouse copied what are views now)."""
    kinds = connection.execute(
        "SELECT 'TABLE' FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = $name "
        "UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE schema_name = 'main' AND view_name = $name",
        {"name": name},
    ).fetchall()
    for (kind,) in kinds:
        connection.execute(f'DROP {kind} "{name}" CASCADE')


def sync_warehouse(
    warehouse_path: Path, published: PublishedState, reader_wait_seconds: float = READER_WAIT_SECONDS
) -> dict[str, int]:
    """Bring the warehouse at `warehouse_path` in step with the published days; returns each table's row count."""
    days: dict[str, PublishedDay] = {}
    for day in published.days():
        publication = published.get(day)
        if publication is not None:
            days[day.isoformat()] = publication
    newest = days[max(days)] if days else None
    # Absolute: a reader may open the warehouse from any working directory.
    sources = {table: newest.table(table).absolute() for table in NEWEST_DAY_TABLES} if newest else {}
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    # DuckDB lets one process write a database file: updates from two runs wait for each other here instead of
    # failing on DuckDB's own lock.
    with (
        file_lock(warehouse_path.with_name(warehouse_path.name + ".lock")),
        _connect_for_update(warehouse_path, reader_wait_seconds) as connection,
    ):
        connection.execute("SET threads = 1")  # the step runs beside the KPIs' and copies one day's ratings
        connection.execute("BEGIN TRANSACTION")
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {WAREHOUSE_DAYS_TABLE} (snapshot_date DATE PRIMARY KEY, generation VARCHAR)"
        )
        loaded = {
            day.isoformat(): generation
            for day, generation in connection.execute(f"SELECT * FROM {WAREHOUSE_DAYS_TABLE}").fetchall()
        }
        if newest:
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {DAILY_FACT} AS SELECT * FROM {_parquet(newest.tables[DAILY_FACT])} "
                "LIMIT 0"
            )
        for day, generation in loaded.items():
            if days.get(day) is None or days[day].generation != generation:
                connection.execute(f"DELETE FROM {DAILY_FACT} WHERE snapshot_date = ?", [day])
                connection.execute(f"DELETE FROM {WAREHOUSE_DAYS_TABLE} WHERE snapshot_date = ?", [day])
        for day, publication in sorted(days.items()):
            if loaded.get(day) != publication.generation:
                connection.execute(f"INSERT INTO {DAILY_FACT} SELECT * FROM {_parquet(publication.tables[DAILY_FACT])}")
                connection.execute(f"INSERT INTO {WAREHOUSE_DAYS_TABLE} VALUES (?, ?)", [day, publication.generation])
        for table in NEWEST_DAY_TABLES:
            _drop_relation(connection, table)
        if newest:
            # Written on every update, so an update also re-points them after the data directory moved.
            for table, source in sources.items():
                connection.execute(f'CREATE VIEW "{table}" AS SELECT * FROM {_parquet(source)}')
            connection.execute(_VIEWS)
        else:
            for table in (DAILY_FACT, WAREHOUSE_INFO_TABLE):
                connection.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        row_counts = {}
        if newest:
            row_counts = {table: pq.read_metadata(source).num_rows for table, source in sources.items()}
            row_counts[DAILY_FACT] = connection.execute(f"SELECT count(*) FROM {DAILY_FACT}").fetchone()[0]
            connection.execute(
                f"CREATE OR REPLACE TABLE {WAREHOUSE_INFO_TABLE} "
                "(table_name VARCHAR, days VARCHAR, row_count BIGINT, source VARCHAR)"
            )
            connection.executemany(
                f"INSERT INTO {WAREHOUSE_INFO_TABLE} VALUES (?, ?, ?, ?)",
                [
                    (
                        table,
                        f"{min(days)}..{max(days)}" if table == DAILY_FACT else max(days),
                        row_counts[table],
                        str(sources[table]) if table in sources else None,
                    )
                    for table in MODEL_TABLES
                ],
            )
        connection.execute("COMMIT")
        connection.execute("CHECKPOINT")
    return {table: row_counts[table] for table in MODEL_TABLES} if newest else {}
