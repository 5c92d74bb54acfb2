"""The model layer over stand-ins of the clean layer: clean frames in the production schemas, a seeded random
snapshot with the mess of real data, and `materialize_model`, which materializes model assets one day after the
other and publishes each day as the publish step does. Shared by test_model.py, test_scd2.py and test_warehouse.py
(the `snapshots` and `model_run` fixtures are in conftest.py)."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl

from media_assets.clean.schemas import (
    CLEAN_NAME_BASICS_SCHEMA,
    CLEAN_TITLE_BASICS_SCHEMA,
    CLEAN_TITLE_PRINCIPALS_SCHEMA,
    CLEAN_TITLE_RATINGS_SCHEMA,
)
from media_assets.io_managers import ParquetIOManager
from media_assets.model.transforms import MODEL_TABLES
from media_assets.partitions import daily_partitions
from media_assets.publish.state import PREDECESSOR_SHA256_KEY, ChainLink
from media_assets.resources import DataLake, ModelSettings

CLEAN_SCHEMAS = {
    "clean_title_basics": CLEAN_TITLE_BASICS_SCHEMA,
    "clean_title_ratings": CLEAN_TITLE_RATINGS_SCHEMA,
    "clean_name_basics": CLEAN_NAME_BASICS_SCHEMA,
    "clean_title_principals": CLEAN_TITLE_PRINCIPALS_SCHEMA,
}
DAY_1, DAY_2, DAY_3 = daily_partitions.get_partition_keys()[:3]
SCOPED_TYPES = ("movie", "tvMovie", "tvSeries", "tvMiniSeries")
NEW_GENRE = "Anime"  # first in alphabetical order: appending it must not renumber the others


def clean_frame(table: str, rows: list[dict]) -> pl.DataFrame:
    """A frame of the cleaned table `table` with exactly its schema."""
    return pl.DataFrame(rows, schema=CLEAN_SCHEMAS[table])


def clean_source_assets(snapshots: dict[str, dict[str, pl.DataFrame]]) -> list[dg.AssetsDefinition]:
    """Daily partitioned assets with the clean layer's keys, returning `snapshots[partition_key][table]`."""

    def source(table: str) -> dg.AssetsDefinition:
        @dg.asset(name=table, partitions_def=daily_partitions)
        def clean_table(context: dg.AssetExecutionContext) -> pl.DataFrame:
            return snapshots[context.partition_key][table]

        return clean_table

    tables = sorted({table for snapshot in snapshots.values() for table in snapshot})
    return [source(table) for table in tables]


def model_resources(root: Path, settings: ModelSettings | None = None) -> dict:
    data_lake = DataLake(root=str(root))
    return {
        "data_lake": data_lake,
        "io_manager": ParquetIOManager(data_lake=data_lake),
        "model_settings": settings or ModelSettings(),
    }


@dataclass(frozen=True)
class ModelRun:
    """Where a test materialized the model, and the materialization metadata of each asset by partition."""

    root: Path
    metadata: dict[str, dict[str, dict]]

    @property
    def data_lake(self) -> DataLake:
        return DataLake(root=str(self.root))

    def table(self, asset: str, partition_key: str) -> pl.DataFrame:
        return pl.read_parquet(self.data_lake.table_path(asset, partition_key))

    def path(self, asset: str, partition_key: str) -> str:
        return str(self.data_lake.table_path(asset, partition_key))


def materialize_model(
    root: Path,
    snapshots: dict[str, dict[str, pl.DataFrame]],
    assets: list[dg.AssetsDefinition],
    partition_keys: list[str],
    settings: ModelSettings | None = None,
) -> ModelRun:
    """Materialize `assets` with stand-ins of the clean layer, one partition after the other."""
    metadata: dict[str, dict[str, dict]] = {}
    for partition_key in partition_keys:
        result = dg.materialize(
            [*clean_source_assets(snapshots), *assets],
            partition_key=partition_key,
            resources=model_resources(root, settings),
        )
        assert result.success
        for event in result.get_asset_materialization_events():
            materialization = event.materialization
            name = materialization.asset_key.to_user_string()
            metadata.setdefault(name, {})[partition_key] = {k: v.value for k, v in materialization.metadata.items()}
        publish_staged_day(DataLake(root=str(root)), partition_key, result.run_id, metadata["dim_title"][partition_key])
    return ModelRun(root, metadata)


def publish_staged_day(data_lake: DataLake, partition_key: str, generation: str, dim_title_metadata: dict) -> None:
    """Publish a day's staged model tables as the publish step does once its audit passed (the audit and the
    publish step have tests of their own), so that the next day's build carries this one forward."""
    sha256 = dim_title_metadata[PREDECESSOR_SHA256_KEY]
    data_lake.published.publish(
        dt.date.fromisoformat(partition_key),
        generation,
        {
            table: data_lake.table_path(table, partition_key)
            for table in MODEL_TABLES
            if data_lake.table_path(table, partition_key).exists()
        },
        predecessor=ChainLink(dt.date.fromisoformat(dim_title_metadata["predecessor_day"]), sha256) if sha256 else None,
        quality_report=None,
    )


# --- the test data -----------------------------------------------------------------------------------------------

GENRES = ("Action", "Comedy", "Documentary", "Drama", "Horror", "Romance", "Sci-Fi", "Sport", "Thriller", "Western")
TITLE_TYPES = ("movie", "movie", "movie", "tvMovie", "tvSeries", "tvMiniSeries", "tvEpisode", "tvEpisode", "short")


def random_snapshot(seed: int, titles: int = 1500, people: int = 2500) -> dict[str, pl.DataFrame]:
    """A seeded random snapshot of the four cleaned tables, with the mess of real data: titles without genres or
    years, repeated genres, ratings and credits of titles outside the scope or unknown, credits of people missing
    from name.basics, known-for lists naming out-of-scope titles."""
    rng = np.random.default_rng(seed)
    title_ids = np.sort(rng.choice(np.arange(1, 50 * titles), titles, replace=False))
    basics = []
    for title_id in title_ids.tolist():
        title_type = str(rng.choice(TITLE_TYPES))
        start_year = None if rng.random() < 0.05 else int(rng.integers(1890, 2027))
        end_year = start_year + int(rng.integers(0, 12)) if title_type == "tvSeries" and start_year else None
        genre_count = int(rng.choice([0, 1, 1, 2, 3]))
        genres = [str(g) for g in rng.choice(GENRES, genre_count)] if genre_count or rng.random() < 0.5 else None
        basics.append(
            {
                "title_id": title_id,
                "tconst": f"tt{title_id:07d}",
                "title_type": title_type,
                "primary_title": f"Title {title_id}",
                "original_title": f"Original {title_id}",
                "is_adult": bool(rng.random() < 0.02),
                "start_year": start_year,
                "end_year": end_year,
                "runtime_minutes": int(rng.integers(1, 240)),
                "genres": genres,
            }
        )
    rated_ids = [t for t in title_ids.tolist() if rng.random() < 0.7] + [50 * titles + i for i in range(1, 21)]
    ratings = [
        {
            "title_id": title_id,
            "tconst": f"tt{title_id:07d}",
            "average_rating": float(rng.integers(10, 101)) / 10,
            "num_votes": int(10 ** rng.uniform(0.7, 6.3)),
        }
        for title_id in rated_ids
    ]
    names = [
        {
            "person_id": person_id,
            "nconst": f"nm{person_id:07d}",
            "primary_name": f"Person {person_id}",
            "birth_year": int(rng.integers(1850, 2010)),
            "death_year": None,
            "primary_profession": ["actor"],
            "known_for_titles": [int(t) for t in rng.choice(title_ids, int(rng.integers(0, 3)))],
        }
        for person_id in range(1, people + 1)
    ]
    principals = [
        {
            "title_id": title_id,
            "ordering": ordering,
            # ids above `people` are missing from name.basics
            "person_id": int(rng.integers(1, people + 40)),
            "category": str(rng.choice(["actor", "actress", "director", "writer"])),
            "job": None,
            "characters": f'["Role {ordering}"]' if rng.random() < 0.5 else None,
        }
        for title_id in [*title_ids.tolist(), 50 * titles + 1]
        if rng.random() < 0.6
        for ordering in range(1, int(rng.integers(2, 9)))
    ]
    return {
        "clean_title_basics": clean_frame("clean_title_basics", basics),
        "clean_title_ratings": clean_frame("clean_title_ratings", ratings),
        "clean_name_basics": clean_frame("clean_name_basics", names),
        "clean_title_principals": clean_frame("clean_title_principals", principals),
    }


def next_day(snapshot: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Day 2: every Western is gone, one movie gains the new genre `NEW_GENRE`."""
    basics = snapshot["clean_title_basics"]
    without_westerns = basics.filter(~pl.col("genres").list.contains("Western").fill_null(False))
    first_movie = without_westerns.filter(pl.col("title_type") == "movie")["title_id"][0]
    basics = without_westerns.with_columns(
        genres=pl.when(pl.col("title_id") == first_movie)
        .then(pl.concat_list(pl.col("genres").fill_null([]), pl.lit([NEW_GENRE])))
        .otherwise(pl.col("genres"))
    )
    return snapshot | {"clean_title_basics": basics}
