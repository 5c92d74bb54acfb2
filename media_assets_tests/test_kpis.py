"""KPIs over a small hand-made star schema, checked against the same figures computed in DuckDB SQL.

The hand-made model (`hand_made_model`, `model_assets`) is also used by test_pipeline_metrics.py.
"""

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping

import dagster as dg
import duckdb
import polars as pl
import pytest

from media_assets.io_managers import ParquetIOManager
from media_assets.kpis.assets import media_kpis
from media_assets.kpis.compute import (
    KpiLimits,
    KpiReport,
    RatingParameters,
    RatingsSnapshot,
    StarSchema,
    compute_kpis,
)
from media_assets.partitions import daily_partitions
from media_assets.quality.settings import QualitySettings
from media_assets.resources import DataLake

DAY_1 = "2026-01-04"
DAY_2 = "2026-01-05"
PARAMETERS = RatingParameters(m=1_000.0, C=7.0)
GENRES = ["Action", "Comedy", "Crime", "Drama", "Family", "Fantasy", "History", "Horror", "Romance", "Thriller"]

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


def bayesian(rating: float, votes: int, parameters: RatingParameters = PARAMETERS) -> float:
    return votes / (votes + parameters.m) * rating + parameters.m / (votes + parameters.m) * parameters.C


def fact_ratings_frame(ratings: Mapping[int, tuple[float, int]]) -> pl.DataFrame:
    def tier(votes: int) -> str:
        return "low" if votes < 1_000 else "medium" if votes < 100_000 else "high"

    def bucket(rating: float) -> str:
        low = min(9, 2 * ((math.floor(rating) - 1) // 2) + 1)
        return f"{low}-{low + 1}"

    rows = [
        {
            "rating_id": index,
            "snapshot_date": dt.date.fromisoformat(DAY_2),
            "title_id": title_id,
            "title_sk": 100 + title_id,
            "average_rating": rating,
            "num_votes": votes,
            "bayesian_weighted_rating": bayesian(rating, votes),
            "vote_tier": tier(votes),
            "rating_bucket": bucket(rating),
        }
        for index, (title_id, (rating, votes)) in enumerate(sorted(ratings.items()), start=1)
    ]
    return pl.DataFrame(rows, schema_overrides={"num_votes": pl.Int64, "title_id": pl.Int64})


def hand_made_model() -> dict[str, pl.DataFrame]:
    """A consistent, small star schema passing every quality gate (genre coverage 11/12 >= 0.90)."""
    genre_ids = {name: index for index, name in enumerate(GENRES, start=1)}
    current = [
        {
            "title_sk": 100 + title_id,
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
            "row_hash": f"h{title_id}",
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
            "row_hash": "old",
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
    dim_title = pl.DataFrame(
        current + history,
        schema_overrides={
            "title_id": pl.Int64,
            "start_year": pl.Int32,
            "end_year": pl.Int32,
            "runtime_minutes": pl.Int32,
            "genres": pl.List(pl.String),
            "valid_to": pl.Date,
        },
    )
    bridge = pl.DataFrame(
        [
            {"title_id": title_id, "genre_id": genre_ids[genre], "weighting_factor": 1 / len(genres)}
            for title_id, (*_, genres) in TITLES.items()
            for genre in genres
        ],
        schema_overrides={"title_id": pl.Int64, "genre_id": pl.Int32},
    )
    dim_genre = pl.DataFrame(
        {
            "genre_id": list(genre_ids.values()),
            "genre_name": GENRES,
            "is_fiction": [True] * len(GENRES),
            "genre_group": ["scripted"] * len(GENRES),
        },
        schema_overrides={"genre_id": pl.Int32},
    )
    dim_date = pl.DataFrame({"year": list(range(1890, 2031))}, schema={"year": pl.Int32}).with_columns(
        decade=(pl.col("year") // 10 * 10),
        decade_label=(pl.col("year") // 10 * 10).cast(pl.String) + "s",
        century=(pl.col("year") // 100 + 1),
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
            }
            for person_id, name in PEOPLE.items()
        ],
        schema_overrides={"person_id": pl.Int64, "death_year": pl.Int32, "birth_year": pl.Int32},
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
        schema_overrides={
            "title_id": pl.Int64,
            "person_id": pl.Int64,
            "job": pl.String,
            "characters": pl.List(pl.String),
        },
    )
    return {
        "dim_title": dim_title,
        "dim_person": dim_person,
        "dim_genre": dim_genre,
        "dim_date": dim_date,
        "title_genre_bridge": bridge,
        "fact_ratings": fact_ratings_frame(RATINGS),
        "fact_cast_crew": fact_cast_crew,
    }


def previous_day_model() -> dict[str, pl.DataFrame]:
    """DAY_1: the same model with the previous day's votes."""
    ratings = {title_id: (RATINGS[title_id][0], votes) for title_id, votes in PREVIOUS_VOTES.items()}
    return hand_made_model() | {"fact_ratings": fact_ratings_frame(ratings)}


def model_assets(
    tables_by_day: Callable[[str], Mapping[str, pl.DataFrame]], deps: Mapping[str, list[str]] | None = None
) -> list[dg.AssetsDefinition]:
    """Hand-made stand-ins for the model assets (same keys, daily partitions, Parquet through the IO manager);
    fact_ratings records m and C like the real one. `deps`: the tables a stand-in waits for, by stand-in (none by
    default)."""

    def build(name: str) -> dg.AssetsDefinition:
        @dg.asset(name=name, partitions_def=daily_partitions, deps=(deps or {}).get(name))
        def table(context: dg.AssetExecutionContext) -> dg.Output:
            metadata = {"m": PARAMETERS.m, "C": PARAMETERS.C} if name == "fact_ratings" else {}
            return dg.Output(tables_by_day(context.partition_key)[name], metadata=metadata)

        return table

    return [build(name) for name in hand_made_model()]


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
) -> dg.ExecuteInProcessResult:
    """The model stand-ins and the KPI asset, for one partition."""
    return dg.materialize(
        [*model_assets(tables_by_day), media_kpis],
        partition_key=partition_key,
        resources=resources_for(root),
        instance=instance,
        selection=selection,
        raise_on_error=False,
    )


def model_of_day(partition_key: str) -> Mapping[str, pl.DataFrame]:
    return hand_made_model() if partition_key == DAY_2 else previous_day_model()


# --- expectations in DuckDB ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sql() -> Callable[[str], list[dict]]:
    connection = duckdb.connect()
    for name, frame in hand_made_model().items():
        connection.register(name, frame.to_arrow())
    connection.register("previous_ratings", previous_day_model()["fact_ratings"].to_arrow())

    def query(text: str) -> list[dict]:
        cursor = connection.execute(text)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    return query


LIMITS = KpiLimits(
    top_titles=4, top_people=3, trending_titles=3, longest_careers=2, min_career_credits=5, recent_years=30
)


@pytest.fixture(scope="module")
def report() -> KpiReport:
    model = {name: frame.lazy() for name, frame in hand_made_model().items()}
    previous = RatingsSnapshot(dt.date.fromisoformat(DAY_1), previous_day_model()["fact_ratings"].lazy())
    return compute_kpis(StarSchema(**model), dt.date.fromisoformat(DAY_2), PARAMETERS, previous, None, LIMITS)


def assert_rows(actual: list[dict], expected: list[dict]) -> None:
    assert [list(row) for row in actual] == [list(row) for row in expected], "columns differ"
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        for column, value in want.items():
            if isinstance(value, float):
                assert got[column] == pytest.approx(value), (column, got, want)
            else:
                assert got[column] == value, (column, got, want)


CURRENT = "(select * from dim_title where is_current)"
RATED = f"""(select r.*, t.tconst, t.primary_title, t.title_type, t.start_year
    from fact_ratings r join {CURRENT} t using (title_id))"""
GENRE_TITLES = f"""(select b.title_id, b.weighting_factor, g.genre_name from title_genre_bridge b
    join dim_genre g using (genre_id) where b.title_id in (select title_id from {CURRENT}))"""


def test_titles_coverage_and_parameters(report: KpiReport, sql) -> None:
    expected_types = {
        row["title_type"]: row["n"] for row in sql(f"select title_type, count(*) n from {CURRENT} group by 1")
    }
    assert report.kpis["titles_by_type"].values == expected_types
    assert expected_types == {"movie": 8, "tvSeries": 2, "tvMiniSeries": 1, "tvMovie": 1}  # history rows left out

    [coverage] = sql(f"""select count(*) scoped,
                         count(*) filter (where title_id in (select title_id from fact_ratings)) rated
                         from {CURRENT}""")
    values = report.kpis["rating_coverage"].values
    assert (values["scoped_titles"], values["rated_titles"]) == (coverage["scoped"], coverage["rated"]) == (12, 11)
    assert values["coverage"] == pytest.approx(11 / 12)

    [stats] = sql("select median(num_votes) median_votes, count(*) rated from fact_ratings")
    assert report.kpis["rating_parameters"].values == {
        "C": 7.0,
        "m": 1000.0,
        "median_votes": stats["median_votes"],
        "rated_titles": stats["rated"],
    }


def test_top_rated_titles_with_tie_break(report: KpiReport, sql) -> None:
    def expected(types: str) -> list[dict]:
        return sql(f"""select
                   row_number() over (order by bayesian_weighted_rating desc, num_votes desc, title_id)::int rank,
                   title_id, tconst, primary_title, title_type, start_year,
                   bayesian_weighted_rating, average_rating, num_votes
                   from {RATED} where title_type in ({types})
                   order by rank limit {LIMITS.top_titles}""")

    tables = report.kpis["top_rated_titles"].tables
    assert_rows(tables["movies"], expected("'movie'"))
    assert_rows(tables["tv_series"], expected("'tvSeries', 'tvMiniSeries'"))
    # 10 and 12 tie on rating and votes: the smaller title_id wins the last place.
    assert [row["title_id"] for row in tables["movies"]] == [1, 2, 3, 10]


def test_vote_tiers_and_rating_buckets(report: KpiReport, sql) -> None:
    tiers = sql("""select vote_tier, count(*) titles, count(*) / sum(count(*)) over () share from fact_ratings
                   group by 1 order by case vote_tier when 'low' then 0 when 'medium' then 1 else 2 end""")
    assert_rows(report.kpis["vote_tier_distribution"].tables["vote_tiers"], tiers)
    buckets = sql("""select rating_bucket, count(*) titles, count(*) / sum(count(*)) over () share from fact_ratings
                     group by 1 order by split_part(rating_bucket, '-', 1)::int""")
    assert_rows(report.kpis["rating_bucket_distribution"].tables["rating_buckets"], buckets)


def test_genre_kpis(report: KpiReport, sql) -> None:
    popularity = sql(f"""select genre_name, count(*) titles, count(r.num_votes) rated_titles,
                         coalesce(sum(r.num_votes), 0)::bigint total_votes
                         from {GENRE_TITLES} g left join fact_ratings r using (title_id)
                         group by 1 order by total_votes desc, titles desc, genre_name""")
    assert_rows(report.kpis["genre_popularity"].tables["genres"], popularity)
    by_genre = sql(f"""select genre_name, count(*) rated_titles, avg(average_rating) mean_rating,
                       avg(bayesian_weighted_rating) mean_weighted_rating
                       from {GENRE_TITLES} g join fact_ratings r using (title_id)
                       group by 1 order by mean_weighted_rating desc, genre_name""")
    assert_rows(report.kpis["rating_by_genre"].tables["genres"], by_genre)
    shares = sql(f"""select d.decade, d.decade_label, g.genre_name, sum(g.weighting_factor) weighted_titles,
                     sum(g.weighting_factor) / sum(sum(g.weighting_factor)) over (partition by d.decade) share
                     from {GENRE_TITLES} g join {CURRENT} t using (title_id) join dim_date d on d.year = t.start_year
                     group by 1, 2, 3 order by decade, share desc, genre_name""")
    assert_rows(report.kpis["genre_share_by_decade"].tables["shares"], shares)
    # Each title counts once per decade: the shares of a decade add up to 1.
    by_decade: dict[int, float] = {}
    for row in report.kpis["genre_share_by_decade"].tables["shares"]:
        by_decade[row["decade"]] = by_decade.get(row["decade"], 0) + row["share"]
    assert all(total == pytest.approx(1) for total in by_decade.values())


def _expected_prolific(sql, categories: str) -> list[dict]:
    return sql(f"""
        with credits as (select * from fact_cast_crew where category in ({categories})
                         and title_id in (select title_id from {CURRENT})),
        counts as (select person_id, count(*) credits, count(distinct title_id) titles from credits group by 1),
        ratings as (select person_id, avg(r.bayesian_weighted_rating) mean_weighted_rating
                    from (select distinct person_id, title_id from credits) c left join fact_ratings r using (title_id)
                    group by 1)
        select row_number() over (order by credits desc, person_id)::int rank, person_id, p.nconst, p.primary_name,
               credits, titles, mean_weighted_rating
        from counts join ratings using (person_id) join dim_person p using (person_id)
        order by rank limit {LIMITS.top_people}""")


def test_prolific_people(report: KpiReport, sql) -> None:
    actors = report.kpis["prolific_actors"].tables["people"]
    assert_rows(actors, _expected_prolific(sql, "'actor', 'actress'"))
    # Person 3 has 3 credits on 2 titles (two roles in title 3).
    assert [(row["person_id"], row["credits"], row["titles"]) for row in actors] == [(1, 5, 5), (2, 5, 5), (3, 3, 2)]
    assert_rows(report.kpis["prolific_directors"].tables["people"], _expected_prolific(sql, "'director'"))


def test_career_span(report: KpiReport, sql) -> None:
    careers = f"""(select c.person_id, count(*) credits, min(t.start_year) first_year, max(t.start_year) last_year,
                   max(t.start_year) - min(t.start_year) span_years
                   from fact_cast_crew c join {CURRENT} t using (title_id) group by 1 having count(*) >= 5)"""
    [summary] = sql(
        f"select count(*) people, avg(span_years) mean_span_years, median(span_years) median_span_years from {careers}"
    )
    assert report.kpis["career_span"].values == pytest.approx(summary)
    longest = sql(f"""select row_number() over (order by span_years desc, credits desc, person_id)::int rank, person_id,
                      p.nconst, p.primary_name, credits, first_year, last_year, span_years
                      from {careers} join dim_person p using (person_id)
                      order by rank limit {LIMITS.longest_careers}""")
    assert_rows(report.kpis["career_span"].tables["longest"], longest)
    # Writer Seven and Actor One both span 51 years: the one with more credits comes first.
    assert [row["person_id"] for row in longest] == [4, 7]


def test_production_volume_and_runtime(report: KpiReport, sql) -> None:
    tables = report.kpis["production_volume"].tables
    by_decade = sql(f"""select d.decade, d.decade_label, count(*) titles
                        from {CURRENT} t join dim_date d on d.year = t.start_year group by 1, 2 order by 1""")
    assert_rows(tables["by_decade"], by_decade)
    by_year = sql(f"""select y.year::int "year", count(t.title_id) titles from range(1997, 2027) y(year)
                      left join {CURRENT} t on t.start_year = y.year group by 1 order by 1""")
    assert_rows(tables["by_year"], by_year)
    assert len(tables["by_year"]) == 30 and sum(row["titles"] for row in tables["by_year"]) == 9
    runtime = sql(f"""select d.decade, d.decade_label, count(*) movies, avg(runtime_minutes) mean_runtime_minutes,
                      median(runtime_minutes) median_runtime_minutes
                      from {CURRENT} t join dim_date d on d.year = t.start_year
                      where title_type = 'movie' and runtime_minutes is not null group by 1, 2 order by 1""")
    assert_rows(report.kpis["movie_runtime_trend"].tables["by_decade"], runtime)


def test_trending_titles(report: KpiReport, sql) -> None:
    trending = report.kpis["trending_titles"]
    expected = sql(f"""select row_number() over (order by r.num_votes - p.num_votes desc, title_id)::int rank, title_id,
                       t.tconst, t.primary_title, t.title_type, r.num_votes - p.num_votes vote_gain,
                       p.num_votes previous_votes, r.num_votes, r.bayesian_weighted_rating
                       from fact_ratings r join previous_ratings p using (title_id) join {CURRENT} t using (title_id)
                       where r.num_votes > p.num_votes order by rank limit {LIMITS.trending_titles}""")
    assert_rows(trending.tables["titles"], expected)
    assert [row["title_id"] for row in expected] == [6, 1, 10]
    [compared] = sql("select count(*) n from fact_ratings join previous_ratings using (title_id)")
    assert trending.values == {"previous_snapshot_date": DAY_1, "titles_compared": compared["n"]}


def test_first_day_skips_trending_and_revenue(sql) -> None:
    model = {name: frame.lazy() for name, frame in hand_made_model().items()}
    report = compute_kpis(StarSchema(**model), dt.date.fromisoformat(DAY_2), PARAMETERS)
    for name in ("trending_titles", "revenue_roi"):
        assert report.kpis[name].skipped and report.kpis[name].note
        assert report.kpis[name].tables == {}
    assert list(report.kpis) == [kpi.name for kpi in sorted(report.kpis.values(), key=lambda kpi: kpi.id)]
    assert [kpi.id for kpi in report.kpis.values()] == list(range(1, 17))


# Titles 1 and 2 have both figures: revenue 140 over budget 60; ROIs 4 and 2. Title 3 has no budget.
TMDB_DETAILS = pl.DataFrame(
    {
        "tconst": ["tt0000001", "tt0000002", "tt0000003", "tt0000004"],
        "status": ["found", "found", "found", "not_found"],
        "budget": [10, 50, 0, None],
        "revenue": [40, 100, 7, None],
    },
    schema_overrides={"budget": pl.Int64, "revenue": pl.Int64},
)


def test_revenue_roi_from_tmdb_details() -> None:
    model = {name: frame.lazy() for name, frame in hand_made_model().items()}
    report = compute_kpis(StarSchema(**model), dt.date.fromisoformat(DAY_2), PARAMETERS, tmdb_details=TMDB_DETAILS)
    revenue = report.kpis["revenue_roi"]
    assert not revenue.skipped
    assert revenue.values["total_revenue"] == 140 and revenue.values["total_budget"] == 60
    assert revenue.values["overall_roi"] == pytest.approx(140 / 60)
    assert revenue.values["median_roi"] == pytest.approx(3.0)
    assert [row["tconst"] for row in revenue.tables["rows"]] == ["tt0000002", "tt0000001"]


def test_empty_day_gives_empty_figures_and_valid_json() -> None:
    model = {name: frame.clear().lazy() for name, frame in hand_made_model().items()}
    report = compute_kpis(StarSchema(**model), dt.date.fromisoformat(DAY_2), RatingParameters(m=None, C=None))
    assert report.kpis["rating_coverage"].values == {"scoped_titles": 0, "rated_titles": 0, "coverage": None}
    assert report.kpis["top_rated_titles"].tables == {"movies": [], "tv_series": []}
    assert [row["titles"] for row in report.kpis["production_volume"].tables["by_year"]] == [0] * 30
    json.dumps(report.model_dump(mode="json"), allow_nan=False)


def test_missing_title_type_is_counted() -> None:
    model = {name: frame.lazy() for name, frame in hand_made_model().items()}
    model["dim_title"] = model["dim_title"].with_columns(
        title_type=pl.when(pl.col("title_id") == 8).then(None).otherwise(pl.col("title_type"))
    )
    report = compute_kpis(StarSchema(**model), dt.date.fromisoformat(DAY_2), PARAMETERS)
    assert report.kpis["titles_by_type"].values == {"movie": 8, "tvSeries": 2, "(missing)": 1, "tvMiniSeries": 1}


def test_missing_dim_date_year_is_an_error() -> None:
    model = {name: frame.lazy() for name, frame in hand_made_model().items()}
    model["dim_date"] = model["dim_date"].filter(pl.col("year") != 1957)
    with pytest.raises(ValueError, match=r"dim_date has no row for the start years \[1957\]"):
        compute_kpis(StarSchema(**model), dt.date.fromisoformat(DAY_2), PARAMETERS)


def test_media_kpis_asset_writes_documented_kpis_json(tmp_path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    lake = DataLake(root=str(tmp_path))
    # The TMDb enrichment ran on day 2 only (it is no input: its file is read when present).
    tmdb_path = lake.table_path("tmdb_title_details", DAY_2)
    tmdb_path.parent.mkdir(parents=True)
    TMDB_DETAILS.write_parquet(tmdb_path)
    for day in (DAY_1, DAY_2):
        assert materialize_day(day, model_of_day, str(tmp_path), instance).success
    day_1 = KpiReport.model_validate_json((lake.kpi_dir(DAY_1) / "kpis.json").read_text())
    assert day_1.kpis["trending_titles"].skipped and day_1.kpis["revenue_roi"].skipped
    path = lake.kpi_dir(DAY_2) / "kpis.json"
    document = json.loads(path.read_text())
    # The documented structure, field by field, then the model (extra fields forbidden) as a whole.
    assert set(document) == {"snapshot_date", "parameters", "kpis"}
    assert document["snapshot_date"] == DAY_2 and document["parameters"] == {"m": 1000.0, "C": 7.0}
    for name, kpi in document["kpis"].items():
        assert set(kpi) == {"id", "name", "description", "values", "tables", "skipped", "note"}
        assert kpi["name"] == name and kpi["description"]
        assert all(
            isinstance(rows, list) and all(isinstance(row, dict) for row in rows) for rows in kpi["tables"].values()
        )
    report = KpiReport.model_validate_json(path.read_text())
    assert report.kpis["trending_titles"].values["previous_snapshot_date"] == DAY_1
    assert report.kpis["rating_coverage"].values["coverage"] == pytest.approx(11 / 12)
    assert not list(path.parent.glob(".*.tmp"))

    [materialization] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("media_kpis"), asset_partitions=[DAY_2]), limit=1
    ).records
    metadata = materialization.asset_materialization.metadata
    # Numbers stay numbers so that the UI plots them across partitions; tables are Markdown.
    assert isinstance(metadata["02_rating_coverage/coverage"], dg.FloatMetadataValue)
    assert metadata["01_titles_by_type/movie"] == dg.MetadataValue.int(8)
    assert isinstance(metadata["04_top_rated_titles/movies"], dg.MarkdownMetadataValue)
    assert "The Shawshank Redemption" in metadata["04_top_rated_titles/movies"].value
    assert metadata["16_revenue_roi/total_revenue"] == dg.MetadataValue.int(140)
    assert "tt0000002" in metadata["16_revenue_roi/rows"].value
    # No quality audit ran over the stand-in tables: no gate was evaluated, so there is no score.
    assert metadata["quality_score"].value is None
