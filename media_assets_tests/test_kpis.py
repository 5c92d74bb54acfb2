"""KPIs over a small hand-made star schema (`star_schema_support`), checked against the same figures computed in
DuckDB SQL; the KPI asset over published days; and kpis.json byte for byte across two computations of a large day
read in different row orders and row-group sizes."""

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from media_assets.atomic_files import write_json_atomically
from media_assets.clean.schemas import CLEAN_NAME_BASICS_SCHEMA, CLEAN_TITLE_PRINCIPALS_SCHEMA
from media_assets.kpis.assets import PUBLISHED_STAR_SCHEMA, media_kpis
from media_assets.kpis.context import KpiContext, KpiLimits, PreviousRatings, StarSchema
from media_assets.kpis.registry import KPI_SPECS, compute_kpis
from media_assets.kpis.report import KpiReport
from media_assets.model.transforms import (
    DIM_GENRE_SCHEMA,
    DIM_TITLE_SCHEMA,
    build_fact_ratings,
    rating_statistics,
)
from media_assets.resources import DataLake
from media_assets.sources.imdb_files import IMDB_GENRES
from media_assets_tests.star_schema_support import (
    DAY_1,
    DAY_2,
    hand_made_model,
    materialize_day,
    model_assets,
    model_of_day,
    previous_day_model,
    quality_report,
    resources_for,
    star_schema,
)


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


def kpis_of(
    model: dict[str, pl.DataFrame],
    previous: PreviousRatings | None = None,
    tmdb_details: pl.DataFrame | None = None,
    limits: KpiLimits = LIMITS,
) -> KpiReport:
    star_schema = StarSchema(**{name: frame.lazy() for name, frame in model.items()})
    return compute_kpis(KpiContext.load(star_schema, dt.date.fromisoformat(DAY_2), previous, tmdb_details, limits))


@pytest.fixture(scope="module")
def report() -> KpiReport:
    previous = PreviousRatings(dt.date.fromisoformat(DAY_1), previous_day_model()["fact_ratings"])
    return kpis_of(hand_made_model(), previous)


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

    [stats] = sql("""select median(num_votes) median_votes, count(*) rated, quantile_cont(num_votes, 0.25) m,
                     avg(average_rating) mean_rating from fact_ratings""")
    values = report.kpis["rating_parameters"].values
    assert (values["median_votes"], values["rated_titles"]) == (stats["median_votes"], stats["rated"])
    # m: votes sorted, position 0.25 x 10 = 2.5, halfway between 800 and 150,000. C: 86.1 / 11, from 861 tenths.
    assert values["m"] == stats["m"] == 75_400.0
    assert values["C"] == 861 / 110 == pytest.approx(stats["mean_rating"])
    assert report.parameters.model_dump() == {"m": values["m"], "C": values["C"]}


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


def test_registry_lists_every_kpi_once_in_order() -> None:
    report = kpis_of(hand_made_model())
    assert [kpi.id for kpi in report.kpis.values()] == [spec.id for spec in KPI_SPECS] == list(range(1, 17))
    assert list(report.kpis) == [spec.name for spec in KPI_SPECS]
    # Descriptions state the limits in force.
    assert report.kpis["top_rated_titles"].description.startswith(f"Top {LIMITS.top_titles} movies")
    assert not any("{" in kpi.description for kpi in report.kpis.values())


def test_first_day_skips_trending_and_revenue() -> None:
    report = kpis_of(hand_made_model())
    for name in ("trending_titles", "revenue_roi"):
        assert report.kpis[name].skipped and report.kpis[name].note
        assert report.kpis[name].tables == {}
    assert "no published day before" in report.kpis["trending_titles"].note


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
    revenue = kpis_of(hand_made_model(), tmdb_details=TMDB_DETAILS).kpis["revenue_roi"]
    assert not revenue.skipped and revenue.note is None
    assert revenue.values["total_revenue"] == 140 and revenue.values["total_budget"] == 60
    assert revenue.values["overall_roi"] == pytest.approx(140 / 60)
    assert revenue.values["median_roi"] == pytest.approx(3.0)
    assert [row["tconst"] for row in revenue.tables["rows"]] == ["tt0000002", "tt0000001"]


def test_empty_day_gives_empty_figures_and_valid_json() -> None:
    report = kpis_of({name: frame.clear() for name, frame in hand_made_model().items()})
    assert report.parameters.model_dump() == {"m": None, "C": None}
    assert report.kpis["rating_coverage"].values == {"scoped_titles": 0, "rated_titles": 0, "coverage": None}
    assert report.kpis["top_rated_titles"].tables == {"movies": [], "tv_series": []}
    assert report.kpis["career_span"].values == {"people": 0, "mean_span_years": None, "median_span_years": None}
    assert [row["titles"] for row in report.kpis["production_volume"].tables["by_year"]] == [0] * 30
    json.dumps(report.model_dump(mode="json"), allow_nan=False)


def test_missing_title_type_is_counted() -> None:
    model = hand_made_model()
    model["dim_title"] = model["dim_title"].with_columns(
        title_type=pl.when(pl.col("title_id") == 8).then(None).otherwise(pl.col("title_type"))
    )
    report = kpis_of(model)
    assert report.kpis["titles_by_type"].values == {"movie": 8, "tvSeries": 2, "(missing)": 1, "tvMiniSeries": 1}


def test_missing_dim_date_year_is_an_error() -> None:
    model = hand_made_model()
    model["dim_date"] = model["dim_date"].filter(pl.col("year") != 1957)
    with pytest.raises(ValueError, match=r"dim_date has no row for the start years \[1957\]"):
        kpis_of(model)


def test_duplicate_bridge_pairs_count_once() -> None:
    model = hand_made_model()
    bridge = model["title_genre_bridge"]
    model["title_genre_bridge"] = pl.concat([bridge.filter(pl.col("title_id") == 1), bridge])
    assert kpis_of(model).kpis["genre_popularity"] == kpis_of(hand_made_model()).kpis["genre_popularity"]


# --- the asset, over published days ------------------------------------------------------------------------------

DAY_3 = "2026-01-06"


def test_media_kpis_reads_nothing_but_the_published_state() -> None:
    assert media_kpis.dependency_keys == {PUBLISHED_STAR_SCHEMA}


def test_media_kpis_asset_writes_documented_kpis_json(tmp_path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    lake = DataLake(root=str(tmp_path))
    # The TMDb enrichment ran on day 2 only (it is no input: its file is read when present).
    tmdb_path = lake.table_path("tmdb_title_details", DAY_2)
    tmdb_path.parent.mkdir(parents=True)
    TMDB_DETAILS.write_parquet(tmdb_path)
    # Day 2's audit left a report; the publish step records it, the metrics read it.
    report_path = lake.quality_dir(DAY_2) / "quality.json"
    report_path.parent.mkdir(parents=True)
    report_path.write_text(json.dumps(quality_report({"rating_range": (1.0, 11, 0), "genre_coverage": (0.9, 10, 1)})))
    for day in (DAY_1, DAY_2):
        assert materialize_day(day, model_of_day, str(tmp_path), instance).success
    day_1 = KpiReport.model_validate_json((lake.kpi_dir(DAY_1) / "kpis.json").read_text())
    assert day_1.kpis["trending_titles"].skipped and day_1.kpis["revenue_roi"].skipped
    path = lake.kpi_dir(DAY_2) / "kpis.json"
    document = json.loads(path.read_text())
    # The documented structure, field by field, then the model (extra fields forbidden) as a whole.
    assert set(document) == {"snapshot_date", "parameters", "kpis"}
    assert document["snapshot_date"] == DAY_2 and document["parameters"] == {"m": 75_400.0, "C": 861 / 110}
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
    assert metadata["quality_score"].value == pytest.approx(0.95)
    assert metadata["quality/genre_coverage_pass_rate"].value == pytest.approx(0.9)
    assert metadata["previous_published_day"].value == DAY_1


def test_trending_compares_with_the_latest_published_day_only(tmp_path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    root, lake = str(tmp_path), DataLake(root=str(tmp_path))

    def trending_of(day: str) -> dict:
        return json.loads((lake.kpi_dir(day) / "kpis.json").read_text())["kpis"]["trending_titles"]

    # Day 1 staged but never published (as when a gate blocks it): its file is there, the KPIs ignore it.
    staged_only = dg.materialize(
        model_assets(model_of_day), partition_key=DAY_1, resources=resources_for(root), instance=instance
    )
    assert staged_only.success and lake.table_path("fact_ratings", DAY_1).is_file()
    assert materialize_day(DAY_3, model_of_day, root, instance).success
    assert trending_of(DAY_3)["skipped"] and "no published day before" in trending_of(DAY_3)["note"]

    # Day 1 published, day 2 missed: day 3 compares with day 1.
    assert materialize_day(DAY_1, model_of_day, root, instance).success
    assert materialize_day(DAY_3, model_of_day, root, instance, selection=[media_kpis]).success
    assert trending_of(DAY_3)["values"]["previous_snapshot_date"] == DAY_1


def test_an_unpublished_day_fails_saying_what_to_do(tmp_path) -> None:
    result = materialize_day(DAY_2, model_of_day, str(tmp_path), dg.DagsterInstance.ephemeral(), selection=[media_kpis])
    assert not result.success
    message = result.failure_data_for_node("media_kpis").user_failure_data.description
    assert f"{DAY_2} is not published" in message and "Materialize published_star_schema" in message
    assert not (DataLake(root=str(tmp_path)).kpi_dir(DAY_2) / "kpis.json").exists()


# --- reproducibility ---------------------------------------------------------------------------------------------


def large_star_schema(titles: int, seed: int = 7) -> dict[str, pl.DataFrame]:
    """A day of `titles` current titles with few distinct ratings, vote counts and genre sets, so that weighted
    ratings, genre shares and credit counts tie often; about 5 credits per title."""
    rng = np.random.default_rng(seed)
    title_ids = np.arange(1, titles + 1, dtype=np.int64)
    genre_sets = [["Drama"], ["Comedy", "Drama"], ["Action", "Crime", "Drama"], ["Documentary"], []]
    dim_title = pl.DataFrame(
        {
            "title_sk": title_ids + 1_000_000,
            "title_id": title_ids,
            "tconst": [f"tt{title_id:07d}" for title_id in title_ids],
            "primary_title": [f"Title {title_id}" for title_id in title_ids],
            "original_title": [f"Title {title_id}" for title_id in title_ids],
            "title_type": rng.choice(["movie", "tvMovie", "tvSeries", "tvMiniSeries"], titles),
            "start_year": rng.integers(1950, 2026, titles),
            "end_year": None,
            "runtime_minutes": rng.integers(60, 180, titles),
            "is_adult": False,
            "genres": [genre_sets[index] for index in rng.integers(0, len(genre_sets), titles)],
            "row_hash": title_ids,
            "valid_from": dt.date(2026, 1, 1),
            "valid_to": None,
            "is_current": True,
        },
        schema=DIM_TITLE_SCHEMA,
    )
    rated = (
        dim_title.select("title_id", "tconst", "title_sk")
        .sample(fraction=0.8, seed=seed)
        .with_columns(
            average_rating=pl.Series(rng.choice([5.5, 6.1, 7.3, 8.8, 9.9], int(titles * 0.8))),
            num_votes=pl.Series(rng.choice([5, 120, 4_000, 250_000], int(titles * 0.8))),
        )
        .sort("title_id")
    )
    fact_ratings = build_fact_ratings(rated, dt.date.fromisoformat(DAY_2), rating_statistics(rated), 1_000, 100_000)
    genre_ids = {name: index for index, name in enumerate(IMDB_GENRES, start=1)}
    bridge = (
        dim_title.select("title_id", genre_name=pl.col("genres"))
        .explode("genre_name")
        .drop_nulls()
        .select(
            "title_id",
            genre_id=pl.col("genre_name").replace_strict(genre_ids, return_dtype=DIM_GENRE_SCHEMA["genre_id"]),
            weighting_factor=1.0 / pl.len().over("title_id"),
        )
    )
    people = titles // 4
    credits = titles * 5
    fact_cast_crew = pl.DataFrame(
        {
            "credit_id": np.arange(1, credits + 1),
            "title_id": rng.integers(1, titles + 1, credits),
            "ordering": np.tile(np.arange(1, 6, dtype=np.int32), titles),
            "person_id": rng.integers(1, people + 1, credits),
            "category": rng.choice(["actor", "actress", "director", "writer"], credits),
            "job": None,
            "characters": None,
        },
        schema={"credit_id": pl.Int64} | CLEAN_TITLE_PRINCIPALS_SCHEMA | {"characters": pl.List(pl.String)},
    )
    dim_person = pl.DataFrame(
        {"person_id": np.arange(1, people + 1), "primary_name": [f"Person {index}" for index in range(1, people + 1)]}
    ).select(
        "person_id",
        nconst=pl.format("nm{}", pl.col("person_id").cast(pl.String).str.zfill(7)),
        primary_name="primary_name",
        **{
            name: pl.lit(None, dtype)
            for name, dtype in CLEAN_NAME_BASICS_SCHEMA.items()
            if name not in {"person_id", "nconst", "primary_name"}
        },
        is_inferred=pl.lit(False),
    )
    return star_schema(dim_title, dim_person, bridge, fact_ratings, fact_cast_crew)


def write_tables(model: dict[str, pl.DataFrame], folder: Path, shuffle_seed: int | None, row_group_size: int):
    """The tables as Parquet files, in their order or shuffled, cut into row groups of `row_group_size`."""
    paths = {}
    for name, frame in model.items():
        if shuffle_seed is not None:
            frame = frame.sample(fraction=1.0, shuffle=True, seed=shuffle_seed)
        paths[name] = folder / f"{name}.parquet"
        frame.write_parquet(paths[name], row_group_size=row_group_size)
    return paths


def test_kpis_json_is_byte_identical_across_row_orders_and_row_groups(tmp_path) -> None:
    assert pl.thread_pool_size() >= 2  # the collections run on several threads
    model = large_star_schema(200_000)
    assert model["fact_cast_crew"].height == 1_000_000
    # Gains in {0, 1, 2} votes: many ties in the trending ranking.
    previous = model["fact_ratings"].with_columns(num_votes=pl.col("num_votes") - pl.col("title_id") % 3)
    written = []
    for run, (shuffle_seed, row_group_size) in enumerate([(None, 65_536), (11, 100_000)]):
        folder = tmp_path / f"run_{run}"
        folder.mkdir()
        tables = write_tables(model, folder, shuffle_seed, row_group_size)
        assert pq.ParquetFile(tables["fact_cast_crew"]).metadata.num_row_groups >= 10
        previous_ratings = previous if shuffle_seed is None else previous.sample(fraction=1.0, shuffle=True, seed=5)
        context = KpiContext.load(
            StarSchema.scan(tables),
            dt.date.fromisoformat(DAY_2),
            PreviousRatings(dt.date.fromisoformat(DAY_1), previous_ratings),
        )
        report = compute_kpis(context)
        write_json_atomically(folder / "kpis.json", report.model_dump(mode="json"))
        written.append((folder / "kpis.json").read_bytes())
    assert written[0] == written[1]

    # The test could fail: summed as floats in the two row orders, the weighted ratings differ ...
    ratings = model["fact_ratings"]["bayesian_weighted_rating"]
    shuffled = ratings.sample(fraction=1.0, shuffle=True, seed=11)
    assert sum(ratings.to_list()) != sum(shuffled.to_list())
    # ... and the rankings are full of ties that only the keys decide.
    kpis = json.loads(written[0])["kpis"]
    movies = kpis["top_rated_titles"]["tables"]["movies"]
    assert len({row["bayesian_weighted_rating"] for row in movies}) < len(movies)
    assert [row["title_id"] for row in movies] == sorted(row["title_id"] for row in movies)
    assert len({row["vote_gain"] for row in kpis["trending_titles"]["tables"]["titles"]}) == 1
