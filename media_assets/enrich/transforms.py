"""Which titles the TMDb enrichment asks about."""

import polars as pl


def top_rated_titles(fact_ratings: pl.LazyFrame, dim_title: pl.LazyFrame, count: int) -> pl.DataFrame:
    """The `count` best titles of the day by Bayesian weighted rating (ties by votes, then title_id), with the
    IMDb title type that tells the TMDb lookup whether to try movies or tv shows first."""
    current_titles = dim_title.filter(pl.col("is_current")).select("title_id", "tconst", "title_type")
    return (
        fact_ratings.select("title_id", "bayesian_weighted_rating", "num_votes")
        .join(current_titles, on="title_id", how="inner")
        .sort(["bayesian_weighted_rating", "num_votes", "title_id"], descending=[True, True, False])
        .head(count)
        .select("tconst", "title_type", "title_id", "bayesian_weighted_rating")
        .collect()
    )
