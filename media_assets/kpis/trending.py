"""KPI 15: the titles gaining the most votes since the previous published day."""

import polars as pl

from media_assets.kpis.context import KpiContext, KpiFigures, KpiSpec, with_rank


def trending_titles(context: KpiContext) -> KpiFigures:
    previous = context.previous
    if previous is None:
        return KpiFigures.skip("no published day before this one to compare the votes with")
    gains = (
        context.ratings.lazy()
        .select("title_id", "num_votes", "bayesian_weighted_rating")
        .join(previous.fact_ratings.lazy().select("title_id", previous_votes="num_votes"), on="title_id", how="inner")
        .with_columns(vote_gain=pl.col("num_votes") - pl.col("previous_votes"))
    )
    compared, trending = pl.collect_all(
        [
            gains.select(titles_compared=pl.len()),
            with_rank(
                gains.filter(pl.col("vote_gain") > 0)
                .sort(["vote_gain", "title_id"], descending=[True, False])
                .head(context.limits.trending_titles)
            )
            .join(
                context.titles.lazy().select("title_id", "tconst", "primary_title", "title_type"),
                on="title_id",
                how="left",
            )
            .sort("rank")
            .select(
                "rank",
                "title_id",
                "tconst",
                "primary_title",
                "title_type",
                "vote_gain",
                "previous_votes",
                "num_votes",
                "bayesian_weighted_rating",
            ),
        ]
    )
    return KpiFigures(
        values={
            "previous_snapshot_date": previous.snapshot_date.isoformat(),
            "titles_compared": compared.item(),
        },
        tables={"titles": trending.to_dicts()},
    )


KPIS = (
    KpiSpec(
        15,
        "trending_titles",
        "The {trending_titles} titles with the largest vote gain since the previous published day's ratings (titles "
        "rated on both days, gain > 0; ties: smaller title_id).",
        trending_titles,
    ),
)
