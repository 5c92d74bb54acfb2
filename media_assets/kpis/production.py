"""KPIs 13-14: production volume and movie runtimes over time."""

import polars as pl

from media_assets.kpis.context import KpiContext, KpiFigures, KpiSpec
from media_assets.kpis.ratings import MOVIE_TYPES


def production_volume(context: KpiContext) -> KpiFigures:
    last_year = context.snapshot_date.year
    first_year = last_year - context.limits.recent_years + 1
    by_year = (
        context.titles.lazy()
        .filter(pl.col("start_year").is_between(first_year, last_year))
        .group_by("start_year")
        .agg(titles=pl.len())
    )
    by_decade, by_year = pl.collect_all(
        [
            context.titles_with_decade().group_by("decade", "decade_label").agg(titles=pl.len()).sort("decade"),
            # Every year of the window, so that empty years show as 0.
            pl.LazyFrame({"year": pl.int_range(first_year, last_year + 1, dtype=pl.Int32, eager=True)})
            .join(by_year, left_on="year", right_on="start_year", how="left")
            .with_columns(pl.col("titles").fill_null(0))
            .sort("year"),
        ]
    )
    return KpiFigures(tables={"by_decade": by_decade.to_dicts(), "by_year": by_year.to_dicts()})


def movie_runtime_trend(context: KpiContext) -> KpiFigures:
    runtimes = (
        context.titles_with_decade()
        .filter(pl.col("title_type").is_in(MOVIE_TYPES) & pl.col("runtime_minutes").is_not_null())
        .group_by("decade", "decade_label")
        .agg(
            movies=pl.len(),
            runtime_sum=pl.col("runtime_minutes").cast(pl.Int64).sum(),
            median_runtime_minutes=pl.col("runtime_minutes").median(),
        )
        .select(
            "decade",
            "decade_label",
            "movies",
            mean_runtime_minutes=pl.col("runtime_sum") / pl.col("movies"),
            median_runtime_minutes="median_runtime_minutes",
        )
        .sort("decade")
        .collect()
    )
    return KpiFigures(tables={"by_decade": runtimes.to_dicts()})


KPIS = (
    KpiSpec(
        13,
        "production_volume",
        "Current scoped titles by start decade, and by start year over the last {recent_years} years.",
        production_volume,
    ),
    KpiSpec(
        14,
        "movie_runtime_trend",
        "Mean and median runtime (minutes) of movies by start decade.",
        movie_runtime_trend,
    ),
)
