"""The queryable warehouse: a DuckDB database holding every published day, kept in step with the published state.

Tables (data copied in, so the database keeps working wherever the data directory moves):
- `fact_ratings`: the ratings of every published day (`snapshot_date` tells them apart);
- `dim_title`: the full SCD2 history, as the newest published day carries it;
- `dim_person`, `dim_genre`, `dim_date`, `title_genre_bridge`, `fact_cast_crew`: the newest published day's;
- `warehouse_days`: which publication (generation) of each day is loaded; `warehouse_info`: what each table holds.
Views for the common questions: `latest_ratings` (the newest day's ratings), `title_ratings_history` (a title's
ratings over time, with its attributes as they were that day) and the table macro `catalogue_on(day)` (the
catalogue as it was on a date).

An update loads only the days whose publication changed, so its cost does not grow with the history; it runs in
one DuckDB transaction, so a reader sees the warehouse before or after it, never half of it.
"""

from pathlib import Path

import duckdb

from media_assets.atomic_files import file_lock
from media_assets.model.transforms import MODEL_TABLES
from media_assets.publish.state import PublishedDay, PublishedState

DAILY_FACT = "fact_ratings"
"""The table kept for every published day."""
NEWEST_DAY_TABLES = tuple(table for table in MODEL_TABLES if table != DAILY_FACT)
"""The tables taken from the newest published day (dim_title's rows carry the whole history)."""
WAREHOUSE_DAYS_TABLE = "warehouse_days"
WAREHOUSE_INFO_TABLE = "warehouse_info"

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


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parquet(path: Path) -> str:
    return f"read_parquet({_sql_string(str(path))})"


def sync_warehouse(warehouse_path: Path, published: PublishedState) -> dict[str, int]:
    """Bring the warehouse at `warehouse_path` in step with the published days; returns each table's row count."""
    days: dict[str, PublishedDay] = {}
    for day in published.days():
        publication = published.get(day)
        if publication is not None:
            days[day.isoformat()] = publication
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    # DuckDB lets one process write a database file: updates from two runs wait for each other here instead of
    # failing on DuckDB's own lock.
    with (
        file_lock(warehouse_path.with_name(warehouse_path.name + ".lock")),
        duckdb.connect(str(warehouse_path)) as connection,
    ):
        # One thread: measured on a full-scale day, 16 CPU-s instead of 21-23 with two (the checkpoint then
        # rewrote the tables: 3-4 CPU-s of it, and a 502 MB file instead of 395 MB). The step runs beside the KPIs'.
        connection.execute("SET threads = 1")
        connection.execute("BEGIN TRANSACTION")
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {WAREHOUSE_DAYS_TABLE} (snapshot_date DATE PRIMARY KEY, generation VARCHAR)"
        )
        loaded = {
            day.isoformat(): generation
            for day, generation in connection.execute(f"SELECT * FROM {WAREHOUSE_DAYS_TABLE}").fetchall()
        }
        if days:
            newest = days[max(days)]
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
        if days:
            for table in NEWEST_DAY_TABLES:
                connection.execute(
                    f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM {_parquet(newest.tables[table])}'
                )
            connection.execute(_VIEWS)
        else:
            for table in (*MODEL_TABLES, WAREHOUSE_INFO_TABLE):
                connection.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        row_counts = {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in (MODEL_TABLES if days else ())
        }
        if days:
            connection.execute(
                f"CREATE OR REPLACE TABLE {WAREHOUSE_INFO_TABLE} (table_name VARCHAR, days VARCHAR, row_count BIGINT)"
            )
            connection.executemany(
                f"INSERT INTO {WAREHOUSE_INFO_TABLE} VALUES (?, ?, ?)",
                [
                    (table, f"{min(days)}..{max(days)}" if table == DAILY_FACT else max(days), row_counts[table])
                    for table in MODEL_TABLES
                ],
            )
        connection.execute("COMMIT")
        connection.execute("CHECKPOINT")
    return row_counts
