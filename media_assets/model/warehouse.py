"""The queryable warehouse: a DuckDB file whose views read the star schema's Parquet files of one partition."""

import os
import uuid
from collections.abc import Mapping
from pathlib import Path

import duckdb

WAREHOUSE_INFO_TABLE = "warehouse_info"

TOP_MOVIES_QUERY = """\
SELECT t.tconst,
       t.primary_title,
       t.start_year,
       f.average_rating,
       f.num_votes,
       round(f.bayesian_weighted_rating, 3) AS weighted_rating
FROM fact_ratings AS f
JOIN dim_title AS t ON t.title_sk = f.title_sk
WHERE t.title_type = 'movie'
ORDER BY f.bayesian_weighted_rating DESC, f.num_votes DESC, t.title_id
LIMIT 10"""
"""The README's example: the ten movies with the highest Bayesian weighted rating."""


def latest_complete_partition(partition_keys_by_table: Mapping[str, set[str]]) -> str | None:
    """The newest partition key that every model table has, or None."""
    complete = set.intersection(*(set(keys) for keys in partition_keys_by_table.values()))
    return max(complete) if complete else None


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def build_warehouse(warehouse_path: Path, table_paths: Mapping[str, Path], partition_key: str) -> dict[str, int]:
    """Write the DuckDB file at `warehouse_path`: one view per table over its Parquet file (absolute path), and a
    `warehouse_info` table saying which partition and files the views read. Built in a temporary file in the same
    folder then renamed over the old one, so a reader sees either the old or the new warehouse. Returns the row
    count of each view."""
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse_path.with_name(f".{warehouse_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect(str(tmp)) as connection:
            row_counts = {}
            for table, path in table_paths.items():
                parquet = _sql_string(str(path.resolve()))
                connection.execute(f'CREATE VIEW "{table}" AS SELECT * FROM read_parquet({parquet})')
                row_counts[table] = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            connection.execute(
                f"CREATE TABLE {WAREHOUSE_INFO_TABLE} "
                "(table_name VARCHAR, partition_key VARCHAR, parquet_path VARCHAR, row_count BIGINT)"
            )
            connection.executemany(
                f"INSERT INTO {WAREHOUSE_INFO_TABLE} VALUES (?, ?, ?, ?)",
                [(table, partition_key, str(path.resolve()), row_counts[table]) for table, path in table_paths.items()],
            )
        os.replace(tmp, warehouse_path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return row_counts
