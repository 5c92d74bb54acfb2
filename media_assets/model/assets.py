"""Model layer: the Kimball star schema of each snapshot day, as Parquet tables in the staging area.

The transforms live in `media_assets.model.transforms`; these assets wire them to the cleaned tables and record
what each step kept and removed.
"""

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dagster as dg
import polars as pl

from media_assets import owners
from media_assets.io_managers import parquet_table_metadata, write_parquet_computing
from media_assets.model import transforms
from media_assets.partitions import daily_partitions, partition_date
from media_assets.priorities import CRITICAL_PATH_OP_TAGS
from media_assets.publish.state import CHAIN_TABLE, PREDECESSOR_SHA256_KEY, PublishedDay
from media_assets.resources import DataLake, ModelSettings
from media_assets.telemetry import peak_rss_bytes

MODEL_GROUP = "model"
MODEL_KINDS = {"polars", "parquet"}
MODEL_TAGS = {"layer": "model"}


def _previous_day(asset_name: str) -> dg.AssetIn:
    """The asset's own partition of the day before, for lineage and backfill order only: nothing is loaded (the
    build reads its predecessor, the latest earlier *published* day, from the published state)."""
    return dg.AssetIn(
        key=asset_name,
        partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1),
        dagster_type=dg.Nothing,
    )


def _model_asset(**kwargs: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """`dg.asset` with what every model table shares: daily partitions, group, kinds, owner."""
    return dg.asset(
        partitions_def=daily_partitions,
        group_name=MODEL_GROUP,
        kinds=MODEL_KINDS,
        owners=owners.DATA_ENGINEERING,
        **kwargs,
    )


def _model_out(description: str) -> dg.AssetOut:
    """An output of a model multi-asset, with what every model table shares (as `_model_asset`)."""
    return dg.AssetOut(kinds=MODEL_KINDS, owners=owners.DATA_ENGINEERING, tags=MODEL_TAGS, description=description)


def _dim_title(
    context: dg.AssetExecutionContext,
    clean_title_basics: pl.LazyFrame,
    predecessor: PublishedDay | None,
    model_settings: ModelSettings,
) -> dg.Output:
    type_counts = transforms.title_type_counts(clean_title_basics)
    build = transforms.build_dim_title(
        transforms.scope_titles(clean_title_basics, model_settings.title_types),
        pl.scan_parquet(predecessor.table(CHAIN_TABLE)) if predecessor else None,
        partition_date(context.partition_key),
    )
    if predecessor is None:
        context.log.info(
            f"dim_title {context.partition_key}: no earlier day is published, so this day starts the history "
            "(expected on the first day)"
        )
    elif predecessor.snapshot_date != partition_date(context.partition_key) - dt.timedelta(days=1):
        context.log.warning(
            f"dim_title {context.partition_key}: the day before is not published; carrying the history forward "
            f"from {predecessor.snapshot_date}, the latest earlier published day"
        )
    removed_types = {t: n for t, n in sorted(type_counts.items()) if t not in model_settings.title_types}
    return dg.Output(
        build.table,
        output_name="dim_title",
        metadata={
            "predecessor_day": predecessor.snapshot_date.isoformat() if predecessor else "none (first day)",
            PREDECESSOR_SHA256_KEY: predecessor.dim_title_sha256 if predecessor else "",
            "titles_in": sum(type_counts.values()),
            "removed_by_title_type": sum(removed_types.values()),
            "removed_title_types": dg.MetadataValue.json(removed_types),
            "title_types": dg.MetadataValue.json(list(model_settings.title_types)),
            "current_titles": build.table["is_current"].sum(),
            "versions_inserted": build.versions_inserted,
            "scd2_inserted": build.inserted,
            "scd2_reopened": build.reopened,
            "scd2_changed": build.changed,
            "scd2_closed": build.closed,
            "scd2_unchanged": build.unchanged,
        },
    )


def _dim_genre() -> dg.Output:
    table = transforms.build_dim_genre()
    return dg.Output(
        table,
        output_name="dim_genre",
        metadata={"genres": table.height, "genre_groups": dg.MetadataValue.json(transforms.GENRE_GROUPS)},
    )


def _title_genre_bridge(current: pl.LazyFrame, dim_genre: pl.DataFrame) -> dg.Output:
    bridge = transforms.build_title_genre_bridge(current, dim_genre.lazy())
    titles_by_genre = (
        bridge.join(dim_genre.select("genre_id", "genre_name"), on="genre_id")
        .group_by("genre_name")
        .len()
        .sort("genre_name")
    )
    titles_with_genres = bridge["title_id"].n_unique()
    return dg.Output(
        bridge,
        output_name="title_genre_bridge",
        metadata={
            "titles_with_genres": titles_with_genres,
            "titles_without_genre": current.select(pl.len()).collect(engine="streaming").item() - titles_with_genres,
            "titles_by_genre": dg.MetadataValue.json(dict(titles_by_genre.iter_rows())),
        },
    )


def _dim_date(dim_title: pl.LazyFrame) -> dg.Output:
    table = transforms.build_dim_date(dim_title)
    return dg.Output(
        table,
        output_name="dim_date",
        metadata={"first_year": table["year"].min() or 0, "last_year": table["year"].max() or 0, "years": table.height},
    )


def run_finished(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether a run is over (or unknown): a chain lease it holds can be taken over."""
    run = instance.get_run_by_id(run_id)
    return run is None or run.is_finished


@dg.multi_asset(
    name="title_dimensions",
    partitions_def=daily_partitions,
    group_name=MODEL_GROUP,
    outs={
        "dim_title": _model_out(
            "Title dimension, SCD type 2: one row per version of each title of the configured types.\n\n"
            "Built from the day's cleaned titles and the dim_title of the latest earlier *published* day (its "
            "predecessor, recorded as `predecessor_day`; after a missed day that is the day before the gap): a "
            "changed attribute closes the current version (valid_to = the day) and opens a new one; a title gone "
            "from the snapshot (or re-typed out of scope) is closed; unchanged titles keep their version. "
            "title_id is the durable key; title_sk = title_id * 10^8 + valid_from as yyyymmdd names one version "
            "forever; is_current marks the versions valid on the day."
        ),
        "dim_genre": _model_out(
            "Genre dimension: IMDb's 28 genres. genre_id is fixed in code (IMDb's vocabulary, alphabetical; a "
            "genre IMDb adds later is appended), so it never changes meaning. is_fiction is false for Documentary, "
            "Biography, News, Reality-TV, Talk-Show, Game-Show and Sport; genre_group is one of Drama, Comedy, "
            "Action-Adventure, Thriller-Horror, Family, Factual, Other."
        ),
        "title_genre_bridge": _model_out(
            "Title-genre bridge (many-to-many) of the current titles: title_id, genre_id and weighting_factor = 1 / "
            "the title's number of genres, so that a title counts once in total when its genres are summed."
        ),
        "dim_date": _model_out(
            "Date dimension by year: every year from the earliest to the latest start or end year of a title, with "
            'its decade (1990), decade_label ("1990s") and ordinal century (20 for 1901-2000).'
        ),
    },
    ins={
        "clean_title_basics": dg.AssetIn("clean_title_basics"),
        "previous_dim_title": _previous_day("dim_title"),
    },
    internal_asset_deps={
        "dim_title": {dg.AssetKey("clean_title_basics"), dg.AssetKey("dim_title")},
        "dim_genre": set(),
        "title_genre_bridge": {dg.AssetKey("dim_title"), dg.AssetKey("dim_genre")},
        "dim_date": {dg.AssetKey("dim_title")},
    },
    op_tags=CRITICAL_PATH_OP_TAGS,
)
def title_dimensions(
    context: dg.AssetExecutionContext,
    clean_title_basics: pl.LazyFrame,
    data_lake: DataLake,
    model_settings: ModelSettings,
) -> Iterator[dg.Output]:
    """dim_title and the small tables drawn from it (dim_genre, title_genre_bridge, dim_date), built in one step:
    each is a Dagster round trip of its own otherwise (~0.4 CPU-s of step start and event log, more than the
    work on the smaller ones)."""
    published = data_lake.published
    published.check_layout()
    # Held until this run has published the day (or has finished otherwise): two runs never interleave the chain.
    published.acquire_chain(
        context.run.run_id,
        run_finished=lambda run_id: run_finished(context.instance, run_id),
        waiting=lambda holder: context.log.info(
            f"waiting for run {holder} to publish its day before reading the history"
        ),
    )
    predecessor = published.latest_before(partition_date(context.partition_key))
    dim_title = _dim_title(context, clean_title_basics, predecessor, model_settings)
    yield dim_title
    dim_title_table = dim_title.value.lazy()
    current = transforms.current_titles(dim_title_table)
    dim_genre = _dim_genre()
    yield dim_genre
    yield _title_genre_bridge(current, dim_genre.value)
    yield _dim_date(dim_title_table)


@_model_asset(tags=MODEL_TAGS)
def fact_ratings(
    context: dg.AssetExecutionContext,
    clean_title_ratings: pl.LazyFrame,
    dim_title: pl.LazyFrame,
    model_settings: ModelSettings,
) -> pl.DataFrame:
    """Ratings fact, a daily periodic snapshot: one row per rated scoped title, with the title_sk of the version
    current that day.

    bayesian_weighted_rating = v/(v+m)*R + m/(v+m)*C, where m is the 25th percentile of num_votes (linear
    interpolation, as DuckDB's quantile_cont) and C the mean average_rating, both over the day's scoped rated
    titles. vote_tier: low below `medium_votes_from` votes, medium below `high_votes_from`, else high.
    rating_bucket: [1,3) "1-2", [3,5) "3-4", [5,7) "5-6", [7,9) "7-8", [9,10] "9-10".
    rating_id = yyyymmdd * 10^9 + title_id.
    """
    rated = transforms.rated_titles(clean_title_ratings, transforms.current_titles(dim_title))
    stats = transforms.rating_statistics(rated)
    table = transforms.build_fact_ratings(
        rated,
        partition_date(context.partition_key),
        stats,
        model_settings.medium_votes_from,
        model_settings.high_votes_from,
    )
    ratings_in = clean_title_ratings.select(pl.len()).collect(engine="streaming").item()
    context.add_output_metadata(
        {
            "ratings_in": ratings_in,
            "removed_title_out_of_scope": ratings_in - table.height,
            # None (no rated title in scope) is recorded as NaN: Dagster's float metadata has no null.
            "m": float("nan") if stats.m is None else stats.m,
            "C": float("nan") if stats.c is None else stats.c,
            "medium_votes_from": model_settings.medium_votes_from,
            "high_votes_from": model_settings.high_votes_from,
            "titles_by_vote_tier": dg.MetadataValue.json(dict(table["vote_tier"].value_counts(sort=True).iter_rows())),
            "titles_by_rating_bucket": dg.MetadataValue.json(
                dict(table["rating_bucket"].value_counts().sort("rating_bucket").iter_rows())
            ),
        }
    )
    return table


def _write_table(
    context: dg.AssetExecutionContext,
    data_lake: DataLake,
    table: pl.LazyFrame,
    queries: Sequence[pl.LazyFrame] = (),
    replace_if: Callable[[list[pl.DataFrame]], bool] = lambda results: True,
) -> tuple[list[pl.DataFrame], dict[str, dg.MetadataValue | int]]:
    """Write the asset's table where the IO manager loads it from, computing `queries` in the same pass (see
    `write_parquet_computing`); returns their results and the table's metadata as the IO manager records it. For
    the steps whose figures come from the read that writes the table rather than from reads of their own."""
    path = data_lake.table_path(context.asset_key.to_user_string(), context.partition_key)
    results = write_parquet_computing({path: table}, queries, replace_if=replace_if)
    return results, parquet_table_metadata(path) | {"peak_rss_bytes": peak_rss_bytes()}


@_model_asset(tags=MODEL_TAGS, op_tags=CRITICAL_PATH_OP_TAGS)
def fact_cast_crew(
    context: dg.AssetExecutionContext,
    clean_title_principals: pl.LazyFrame,
    clean_title_ratings: pl.LazyFrame,
    dim_title: pl.LazyFrame,
    data_lake: DataLake,
    model_settings: ModelSettings,
) -> dg.MaterializeResult:
    """Cast and crew fact: the credits (title.principals) of the current scoped titles, and only of rated ones
    when `facts_rated_only`. credit_id = title_id * 10^4 + ordering. A credit whose person is missing from
    name.basics is kept (dim_person gives the person an inferred row and counts such credits). Streamed: the
    credits are semi-joined to the titles first, and read once for the table and its counts (credits failing the
    key checks replace nothing)."""
    titles = transforms.credit_titles(transforms.current_titles(dim_title), clean_title_ratings)
    plan = transforms.plan_fact_cast_crew(clean_title_principals, titles, model_settings.facts_rated_only)
    results, table_metadata = _write_table(
        context, data_lake, plan.table, plan.queries, replace_if=lambda results: not plan.problems(results)
    )
    counts = plan.counts(results)
    return dg.MaterializeResult(
        metadata={
            "facts_rated_only": model_settings.facts_rated_only,
            "credits_in": counts.credits_in,
            "removed_title_out_of_scope": counts.removed_title_out_of_scope,
            "removed_title_unrated": counts.removed_title_unrated,
            "credits_kept": counts.credits_kept,
        }
        | table_metadata
    )


@_model_asset(tags=MODEL_TAGS, op_tags=CRITICAL_PATH_OP_TAGS)
def dim_person(
    context: dg.AssetExecutionContext,
    clean_name_basics: pl.LazyFrame,
    clean_title_principals: pl.LazyFrame,
    clean_title_ratings: pl.LazyFrame,
    dim_title: pl.LazyFrame,
    data_lake: DataLake,
    model_settings: ModelSettings,
) -> dg.MaterializeResult:
    """Person dimension: the people credited in fact_cast_crew or known for a current scoped title.
    known_for_titles is IMDb's list of title_id as is. A credited person missing from name.basics gets an
    inferred row (is_inferred true, nconst rebuilt from person_id, other attributes null); the credits of such
    people are counted in `unknown_person_credits`."""
    # The credited people come from the cleaned credits through fact_cast_crew's own filter rather than from
    # fact_cast_crew, so the two run side by side at the end of a run (only title_id and person_id are read).
    current = transforms.current_titles(dim_title)
    credits = transforms.build_fact_cast_crew(
        clean_title_principals,
        transforms.credit_titles(current, clean_title_ratings),
        model_settings.facts_rated_only,
    )
    build = transforms.build_dim_person(clean_name_basics, credits, current)
    # Written here: the people kept are counted from the written table rather than by a read of their own.
    _, table_metadata = _write_table(context, data_lake, build.table)
    people_kept = table_metadata["dagster/row_count"] - build.inferred
    if build.inferred:
        context.log.warning(
            f"dim_person {context.partition_key}: {build.inferred_credits} credit(s) in fact_cast_crew name "
            f"{build.inferred} person(s) missing from name.basics; each has an inferred row"
        )
    return dg.MaterializeResult(
        metadata={
            "people_in": build.people_in,
            "removed_not_credited_nor_known_for": build.people_in - people_kept,
            "people_kept": people_kept,
            "people_credited": build.credited,
            "people_inferred": build.inferred,
            "unknown_person_credits": build.inferred_credits,
        }
        | table_metadata
    )


model_assets = [title_dimensions, fact_ratings, fact_cast_crew, dim_person]
