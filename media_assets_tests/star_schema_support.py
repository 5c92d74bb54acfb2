"""A small hand-made star schema in the production schemas, and stand-ins for the assets around the KPIs.

The tables are typed by the production schemas (`media_assets.model.transforms`, `media_assets.clean.schemas`);
fact_ratings is built by the production transform from hand-made ratings, so its weighted ratings, m and C are
the model's. `published_star_schema_stand_in` publishes staged tables through the real `PublishedState`, as the
lead's publish step does. Shared by the KPI, pipeline-metrics and quality tests.
"""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import dagster as dg
import polars as pl

from media_assets.atomic_files import write_json_atomically
from media_assets.clean.schemas import (
    CLEAN_NAME_BASICS_SCHEMA,
    CLEAN_TITLE_PRINCIPALS_SCHEMA,
    CLEAN_TITLE_RATINGS_SCHEMA,
)
from media_assets.io_managers import ParquetIOManager
from media_assets.kpis.assets import PUBLISHED_STAR_SCHEMA, media_kpis
from media_assets.model.transforms import (
    DIM_GENRE_SCHEMA,
    DIM_TITLE_SCHEMA,
    MODEL_TABLES,
    build_dim_date,
    build_dim_genre,
    build_fact_ratings,
    rating_statistics,
)
from media_assets.partitions import daily_partitions, partition_date
from media_assets.publish.assets import QUALITY_AUDIT
from media_assets.publish.state import CHAIN_TABLE, PREDECESSOR_SHA256_KEY
from media_assets.quality.assets import generation_of
from media_assets.quality.report import attempt_report_path, latest_report_path
from media_assets.quality.settings import QualitySettings
from media_assets.resources import DataLake
from media_assets.sources.imdb_files import IMDB_GENRES

DAY_1 = "2026-01-04"
DAY_2 = "2026-01-05"
GENRES = list(IMDB_GENRES)
"""dim_genre (`build_dim_genre`): IMDb's vocabulary, genre_id = position + 1."""

# title_id: (title_type, primary_title, start_year, end_year, runtime_minutes, genres)
TITLES = {
    1: ("movie", "The Shawshank Redemption", 1994, None, 142, ["Drama"]),
    2: ("movie", "The Godfather", 1972, None, 175, ["Crime", "Drama"]),
    3: ("movie", "The Dark Knight", 2008, None, 152, ["Action", "Crime", "Drama"]),
    4: ("movie", "A Comedy", 2021, None, 100, ["Comedy"]),
    5: ("movie", "A Romance", 2023, None, None, ["Comedy", "Romance"]),
    6: ("tvSeries", "Breaking Bad", 2008, 2013, 49, ["Crime", "Drama", "Thriller"]),
    7: ("tvMiniSeries", "Chernobyl", 2019, 2019, 330, ["Drama", "History"]),
    8: ("tvMovie", "A Family Film", 1999, None, 90, ["Family"]),
    9: ("tvSeries", "Stranger Things", 2016, None, 51, ["Drama", "Fantasy", "Horror"]),
    10: ("movie", "12 Angry Men", 1957, None, 96, ["Crime", "Drama"]),
    11: ("movie", "No Genre Yet", 2024, None, 120, []),
    12: ("movie", "Twin of 12 Angry Men", 2000, None, 96, ["Crime", "Drama"]),
}
# title_id: (average_rating, num_votes) on DAY_2; title 8 is not rated.
RATINGS = {
    1: (9.3, 2_900_000),
    2: (9.2, 2_000_000),
    3: (9.0, 2_900_000),
    4: (6.1, 800),
    5: (5.5, 300),
    6: (9.5, 2_200_000),
    7: (8.3, 150_000),
    9: (8.7, 1_300_000),
    10: (9.0, 900_000),
    11: (2.5, 40),
    12: (9.0, 900_000),
}
# DAY_1 votes: 7 was not rated yet; 9 lost votes; ties in gain: 1 and 10 (+1,000), 2 and 11 (+10).
PREVIOUS_VOTES = {
    1: 2_899_000,
    2: 1_999_990,
    3: 2_900_000,
    4: 800,
    5: 300,
    6: 2_195_000,
    9: 1_300_500,
    10: 899_000,
    11: 30,
    12: 900_000,
}
PEOPLE = {
    1: "Actor One",
    2: "Actress Two",
    3: "Actor Three",
    4: "Director Four",
    5: "Director Five",
    6: "Actress Six",
    7: "Writer Seven",
    8: "Actor Eight",
}
# (title_id, person_id, category); person 3 has two credits on title 3 (two roles).
CREDITS = [
    *[(title, 1, "actor") for title in (1, 2, 3, 6, 10)],
    *[(title, 2, "actress") for title in (4, 5, 7, 9, 11)],
    (1, 3, "actor"),
    (3, 3, "actor"),
    (3, 3, "actor"),
    *[(title, 4, "director") for title in (1, 2, 3, 10, 4)],
    (6, 5, "director"),
    (9, 5, "director"),
    (8, 6, "actress"),
    *[(title, 7, "writer") for title in (1, 2, 3, 4, 5, 6)],
    (2, 8, "actor"),
    (3, 8, "actor"),
]
TITLE_SK_OFFSET = 100


def fact_ratings_frame(ratings: Mapping[int, tuple[float, int]], snapshot_date: dt.date) -> pl.DataFrame:
    """fact_ratings by the production transform, from hand-made ratings of current titles."""
    rated = pl.DataFrame(
        [
            {"title_id": title_id, "tconst": f"tt{title_id:07d}", "average_rating": rating, "num_votes": votes}
            for title_id, (rating, votes) in sorted(ratings.items())
        ],
        schema=CLEAN_TITLE_RATINGS_SCHEMA,
    ).with_columns(title_sk=pl.col("title_id") + TITLE_SK_OFFSET)
    return build_fact_ratings(rated, snapshot_date, rating_statistics(rated), 1_000, 100_000)


def dim_title_frame() -> pl.DataFrame:
    current = [
        {
            "title_sk": TITLE_SK_OFFSET + title_id,
            "title_id": title_id,
            "tconst": f"tt{title_id:07d}",
            "primary_title": title,
            "original_title": title,
            "title_type": title_type,
            "start_year": start,
            "end_year": end,
            "runtime_minutes": runtime,
            "is_adult": False,
            "genres": genres,
            "row_hash": title_id,
            "valid_from": dt.date(2026, 1, 1),
            "valid_to": None,
            "is_current": True,
        }
        for title_id, (title_type, title, start, end, runtime, genres) in TITLES.items()
    ]
    history = [
        # A closed version of title 3 and a title no longer current: both must be ignored.
        current[2]
        | {
            "title_sk": 3,
            "primary_title": "Dark Knight (old)",
            "start_year": 1900,
            "row_hash": 3_000,
            "valid_to": dt.date(2026, 1, 2),
            "is_current": False,
        },
        current[0]
        | {
            "title_sk": 13,
            "title_id": 13,
            "tconst": "tt0000013",
            "title_type": "movie",
            "start_year": 1901,
            "valid_to": dt.date(2026, 1, 2),
            "is_current": False,
        },
    ]
    return pl.DataFrame(current + history, schema=DIM_TITLE_SCHEMA)


def star_schema(
    dim_title: pl.DataFrame,
    dim_person: pl.DataFrame,
    title_genre_bridge: pl.DataFrame,
    fact_ratings: pl.DataFrame,
    fact_cast_crew: pl.DataFrame,
) -> dict[str, pl.DataFrame]:
    """The seven model tables, with dim_genre and dim_date built by the production transforms."""
    return {
        "dim_title": dim_title,
        "dim_person": dim_person,
        "dim_genre": build_dim_genre(),
        "dim_date": build_dim_date(dim_title.lazy()),
        "title_genre_bridge": title_genre_bridge,
        "fact_ratings": fact_ratings,
        "fact_cast_crew": fact_cast_crew,
    }


def hand_made_model(snapshot_date: str = DAY_2) -> dict[str, pl.DataFrame]:
    """A consistent, small star schema passing every quality gate (genre coverage 11/12 >= 0.90)."""
    dim_title = dim_title_frame()
    genre_ids = {name: index for index, name in enumerate(GENRES, start=1)}
    bridge = pl.DataFrame(
        [
            {"title_id": title_id, "genre_id": genre_ids[genre], "weighting_factor": 1 / len(genres)}
            for title_id, (*_, genres) in TITLES.items()
            for genre in genres
        ],
        schema={"title_id": DIM_TITLE_SCHEMA["title_id"], "genre_id": DIM_GENRE_SCHEMA["genre_id"]}
        | {"weighting_factor": pl.Float64},
    )
    dim_person = pl.DataFrame(
        [
            {
                "person_id": person_id,
                "nconst": f"nm{person_id:07d}",
                "primary_name": name,
                "birth_year": 1950,
                "death_year": None,
                "primary_profession": ["actor"],
                "known_for_titles": [1],
                "is_inferred": False,
            }
            for person_id, name in PEOPLE.items()
        ],
        schema=CLEAN_NAME_BASICS_SCHEMA | {"is_inferred": pl.Boolean},
    )
    fact_cast_crew = pl.DataFrame(
        [
            {
                "credit_id": index,
                "title_id": title_id,
                "person_id": person_id,
                "ordering": index,
                "category": category,
                "job": None,
                "characters": [],
            }
            for index, (title_id, person_id, category) in enumerate(CREDITS, start=1)
        ],
        schema={"credit_id": pl.Int64} | CLEAN_TITLE_PRINCIPALS_SCHEMA | {"characters": pl.List(pl.String)},
    )
    return star_schema(
        dim_title, dim_person, bridge, fact_ratings_frame(RATINGS, partition_date(snapshot_date)), fact_cast_crew
    )


def previous_day_model() -> dict[str, pl.DataFrame]:
    """DAY_1: the same model with the previous day's votes."""
    ratings = {title_id: (RATINGS[title_id][0], votes) for title_id, votes in PREVIOUS_VOTES.items()}
    return hand_made_model(DAY_1) | {"fact_ratings": fact_ratings_frame(ratings, partition_date(DAY_1))}


def model_of_day(partition_key: str) -> Mapping[str, pl.DataFrame]:
    return hand_made_model(partition_key) if partition_key != DAY_1 else previous_day_model()


def model_assets(
    tables_by_day: Callable[[str], Mapping[str, pl.DataFrame]], deps: Mapping[str, list[str]] | None = None
) -> list[dg.AssetsDefinition]:
    """Stand-ins for the model assets (same keys, daily partitions, Parquet through the IO manager to the staging
    paths); dim_title records that it starts the history, as the real one does on a first day, so the real publish
    step accepts it. `deps`: the tables a stand-in waits for, by stand-in (none by default)."""

    def build(name: str) -> dg.AssetsDefinition:
        @dg.asset(name=name, partitions_def=daily_partitions, deps=(deps or {}).get(name))
        def table(context: dg.AssetExecutionContext) -> dg.Output:
            chain = {"predecessor_day": "none (first day)", PREDECESSOR_SHA256_KEY: ""} if name == CHAIN_TABLE else {}
            return dg.Output(tables_by_day(context.partition_key)[name], metadata=chain)

        return table

    return [build(name) for name in MODEL_TABLES]


def published_star_schema_stand_in(deps: Sequence[str] = MODEL_TABLES) -> dg.AssetsDefinition:
    """Publishes the day's staged model tables through `DataLake.published`, like the lead's publish step."""

    @dg.asset(key=PUBLISHED_STAR_SCHEMA, partitions_def=daily_partitions, deps=list(deps))
    def published_star_schema(context: dg.AssetExecutionContext, data_lake: DataLake) -> None:
        day = partition_date(context.partition_key)
        predecessor = data_lake.published.latest_before(day)
        report = latest_report_path(data_lake, context.partition_key)
        data_lake.published.publish(
            day,
            generation_of(context.run),
            staged={name: data_lake.table_path(name, context.partition_key) for name in MODEL_TABLES},
            predecessor=predecessor.link() if predecessor else None,
            quality_report=report if report.is_file() else None,
        )

    return published_star_schema


def quality_report(gates: Mapping[str, tuple[float, int, int]], threshold: float = 0.9) -> dict:
    """A quality report as the quality helper's audit writes it: gate -> (pass rate, rows checked, failing)."""
    figures = {
        gate: {
            "status": "passed" if pass_rate >= threshold else "failed",
            "passed": pass_rate >= threshold,
            "pass_rate": pass_rate,
            "threshold": threshold,
            "rows_checked": rows_checked,
            "failing_count": failing_count,
        }
        for gate, (pass_rate, rows_checked, failing_count) in gates.items()
    }
    return {"quality_score": sum(gate[0] for gate in gates.values()) / len(gates), "gates": figures}


def quality_audit_stand_in(report: dict) -> dg.AssetsDefinition:
    """Writes `report` as the day's quality report (the attempt's, which the publish step reads, and the latest)
    and evaluates its gates as blocking checks on itself, like the quality helper's `quality_audit`."""
    specs = [dg.AssetCheckSpec(gate, asset=QUALITY_AUDIT, blocking=True) for gate in report["gates"]]

    @dg.asset(name=QUALITY_AUDIT, partitions_def=daily_partitions, deps=list(MODEL_TABLES), check_specs=specs)
    def quality_audit(context: dg.AssetExecutionContext, data_lake: DataLake):
        generation = generation_of(context.run)
        attempt = attempt_report_path(data_lake, context.partition_key, generation)
        for path in (attempt, latest_report_path(data_lake, context.partition_key)):
            write_json_atomically(path, report | {"snapshot_date": context.partition_key, "generation": generation})
        yield dg.MaterializeResult()
        for gate, figures in report["gates"].items():
            yield dg.AssetCheckResult(check_name=gate, passed=figures["passed"], severity=dg.AssetCheckSeverity.ERROR)

    return quality_audit


def resources_for(root: str) -> dict:
    data_lake = DataLake(root=root)
    return {
        "data_lake": data_lake,
        "io_manager": ParquetIOManager(data_lake=data_lake),
        "quality_settings": QualitySettings(),
    }


def materialize_day(
    partition_key: str,
    tables_by_day: Callable[[str], Mapping[str, pl.DataFrame]],
    root: str,
    instance: dg.DagsterInstance,
    selection: dg.AssetSelection | None = None,
    extra: Sequence[dg.AssetsDefinition | dg.AssetChecksDefinition] = (),
) -> dg.ExecuteInProcessResult:
    """The model stand-ins, `extra` (e.g. quality checks), the publish stand-in and the KPI asset, for one day."""
    return dg.materialize(
        [*model_assets(tables_by_day), *extra, published_star_schema_stand_in(), media_kpis],
        partition_key=partition_key,
        resources=resources_for(root),
        instance=instance,
        selection=selection,
        raise_on_error=False,
    )
