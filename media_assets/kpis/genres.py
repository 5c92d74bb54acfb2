"""KPIs 7-9: genres, through the title-genre bridge."""

import polars as pl

from media_assets.kpis.context import (
    GENRE_WEIGHT_UNITS,
    RATING_UNITS,
    KpiContext,
    KpiFigures,
    KpiSpec,
    in_units,
)
from media_assets.model.transforms import WEIGHTED_RATING_UNITS


def genre_popularity(context: KpiContext) -> KpiFigures:
    genres = (
        context.genre_titles.join(context.ratings.select("title_id", "num_votes"), on="title_id", how="left")
        .group_by("genre_name")
        .agg(
            titles=pl.len(),
            rated_titles=pl.col("num_votes").is_not_null().sum(),
            total_votes=pl.col("num_votes").sum(),
        )
        .sort(["total_votes", "titles", "genre_name"], descending=[True, True, False])
    )
    return KpiFigures(tables={"genres": genres.to_dicts()})


def rating_by_genre(context: KpiContext) -> KpiFigures:
    genres = (
        context.genre_titles.join(context.ratings, on="title_id", how="inner")
        .group_by("genre_name")
        .agg(
            rated_titles=pl.len(),
            rating_units=in_units("average_rating", RATING_UNITS).sum(),
            weighted_units=in_units("bayesian_weighted_rating", WEIGHTED_RATING_UNITS).sum(),
        )
        .select(
            "genre_name",
            "rated_titles",
            mean_rating=pl.col("rating_units") / (pl.col("rated_titles") * RATING_UNITS),
            mean_weighted_rating=pl.col("weighted_units") / (pl.col("rated_titles") * WEIGHTED_RATING_UNITS),
        )
        .sort(["mean_weighted_rating", "genre_name"], descending=[True, False])
    )
    return KpiFigures(tables={"genres": genres.to_dicts()})


def genre_share_by_decade(context: KpiContext) -> KpiFigures:
    shares = (
        context.genre_titles.lazy()
        .join(context.titles_with_decade(), on="title_id", how="inner")
        .group_by("decade", "decade_label", "genre_name")
        .agg(weight_units=in_units("weighting_factor", GENRE_WEIGHT_UNITS).sum())
        .select(
            "decade",
            "decade_label",
            "genre_name",
            weighted_titles=pl.col("weight_units") / GENRE_WEIGHT_UNITS,
            share=pl.col("weight_units") / pl.col("weight_units").sum().over("decade"),
        )
        .sort(["decade", "share", "genre_name"], descending=[False, True, False])
        .collect()
    )
    return KpiFigures(tables={"shares": shares.to_dicts()})


KPIS = (
    KpiSpec(
        7,
        "genre_popularity",
        "Titles, rated titles and total votes per genre, through the bridge (by total votes, then titles, then name).",
        genre_popularity,
    ),
    KpiSpec(
        8,
        "rating_by_genre",
        "Mean average rating and mean Bayesian weighted rating of the rated titles of each genre (by weighted "
        "rating, then name).",
        rating_by_genre,
    ),
    KpiSpec(
        9,
        "genre_share_by_decade",
        "Share of each genre among the titles started in each decade, weighted by the bridge so that each title "
        "counts once (titles without genre are left out).",
        genre_share_by_decade,
    ),
)
