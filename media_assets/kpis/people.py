"""KPIs 10-12: talent, from the credits of the current titles."""

import polars as pl

from media_assets.kpis.context import KpiContext, KpiFigures, KpiSpec, in_units, with_rank
from media_assets.model.transforms import WEIGHTED_RATING_UNITS

ACTOR_CATEGORIES = ("actor", "actress")
DIRECTOR_CATEGORIES = ("director",)


def prolific_people(context: KpiContext, categories: tuple[str, ...]) -> list[dict]:
    """Most credits first; ties by smaller person_id. The mean weighted rating is over the person's distinct rated
    titles."""
    credits = context.credits.lazy().filter(pl.col("category").is_in(categories))
    top = with_rank(
        credits.group_by("person_id")
        .agg(credits=pl.len(), titles=pl.col("title_id").n_unique())
        .sort(["credits", "person_id"], descending=[True, False])
        .head(context.limits.top_people)
    )
    mean_rating = (
        credits.join(top, on="person_id", how="semi")
        .select("person_id", "title_id")
        .unique()
        .join(context.ratings.lazy().select("title_id", "bayesian_weighted_rating"), on="title_id", how="left")
        .group_by("person_id")
        .agg(
            weighted_units=in_units("bayesian_weighted_rating", WEIGHTED_RATING_UNITS).sum(),
            rated_titles=pl.col("bayesian_weighted_rating").count(),
        )
    )
    return (
        top.join(mean_rating, on="person_id", how="left")
        .join(context.people.lazy(), on="person_id", how="left")
        .sort("rank")
        .select(
            "rank",
            "person_id",
            "nconst",
            "primary_name",
            "credits",
            "titles",
            mean_weighted_rating=pl.when(pl.col("rated_titles") > 0).then(
                pl.col("weighted_units") / (pl.col("rated_titles") * WEIGHTED_RATING_UNITS)
            ),
        )
        .collect()
        .to_dicts()
    )


def prolific_actors(context: KpiContext) -> KpiFigures:
    return KpiFigures(tables={"people": prolific_people(context, ACTOR_CATEGORIES)})


def prolific_directors(context: KpiContext) -> KpiFigures:
    return KpiFigures(tables={"people": prolific_people(context, DIRECTOR_CATEGORIES)})


def career_span(context: KpiContext) -> KpiFigures:
    limits = context.limits
    careers = (
        context.credits.lazy()
        .join(context.titles.lazy().select("title_id", "start_year"), on="title_id", how="inner")
        .group_by("person_id")
        .agg(credits=pl.len(), first_year=pl.col("start_year").min(), last_year=pl.col("start_year").max())
        .filter((pl.col("credits") >= limits.min_career_credits) & pl.col("first_year").is_not_null())
        .with_columns(span_years=(pl.col("last_year") - pl.col("first_year")).cast(pl.Int64))
    )
    summary, longest = pl.collect_all(
        [
            careers.select(
                people=pl.len(),
                span_years_sum=pl.col("span_years").sum(),
                median_span_years=pl.col("span_years").median(),
            ),
            with_rank(
                careers.sort(["span_years", "credits", "person_id"], descending=[True, True, False]).head(
                    limits.longest_careers
                )
            )
            .join(context.people.lazy(), on="person_id", how="left")
            .sort("rank")
            .select("rank", "person_id", "nconst", "primary_name", "credits", "first_year", "last_year", "span_years"),
        ]
    )
    people, span_years_sum, median_span_years = summary.row(0)
    return KpiFigures(
        values={
            "people": people,
            "mean_span_years": span_years_sum / people if people else None,
            "median_span_years": median_span_years,
        },
        tables={"longest": longest.to_dicts()},
    )


KPIS = (
    KpiSpec(
        10,
        "prolific_actors",
        "Top {top_people} actors and actresses by credits in scoped titles (ties: smaller person_id), with the mean "
        "weighted rating of their titles.",
        prolific_actors,
    ),
    KpiSpec(
        11,
        "prolific_directors",
        "Top {top_people} directors by credits in scoped titles (ties: smaller person_id), with the mean weighted "
        "rating of their titles.",
        prolific_directors,
    ),
    KpiSpec(
        12,
        "career_span",
        "Years between the first and last credited title start year, for people with at least {min_career_credits} "
        "credits: mean, median and the {longest_careers} longest (ties: more credits, then smaller person_id).",
        career_span,
    ),
)
