"""The star schema: keys, filters, and an independent recomputation of the facts and the bridge in DuckDB SQL.

The model is materialized once per module with Dagster over two days of a seeded random snapshot (plus
hand-written rows at the edges), from upstream assets standing in for the clean layer with its exact schemas
(`model_support`; the `snapshots` and `model_run` fixtures are in conftest.py).
"""

import datetime as dt
import json

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from media_assets.clean.schemas import CLEAN_TITLE_BASICS_SCHEMA, CLEAN_TITLE_RATINGS_SCHEMA
from media_assets.io_managers import write_parquet_computing
from media_assets.model import transforms
from media_assets.model.assets import model_assets
from media_assets.model.transforms import MODEL_TABLES
from media_assets.resources import ModelSettings
from media_assets_tests.model_support import (
    DAY_1,
    DAY_2,
    NEW_GENRE,
    SCOPED_TYPES,
    clean_frame,
    materialize_model,
)

# --- keys --------------------------------------------------------------------------------------------------------

PRIMARY_KEYS = {
    "dim_title": ["title_sk"],
    "dim_person": ["person_id"],
    "dim_genre": ["genre_id"],
    "dim_date": ["year"],
    "title_genre_bridge": ["title_id", "genre_id"],
    "fact_ratings": ["rating_id"],
    "fact_cast_crew": ["credit_id"],
}


def test_every_model_table_is_a_warehouse_table():
    assert {key.to_user_string() for a in model_assets for key in a.keys} == set(MODEL_TABLES)
    assert set(PRIMARY_KEYS) == set(MODEL_TABLES)


@pytest.mark.parametrize("partition_key", [DAY_1, DAY_2])
@pytest.mark.parametrize("table", sorted(PRIMARY_KEYS))
def test_primary_keys_are_unique_and_not_null(model_run, table, partition_key):
    frame = model_run.table(table, partition_key)
    keys = frame.select(PRIMARY_KEYS[table])
    # Not vacuous: the table has rows, as many as the catalogue recorded for it.
    assert frame.height == model_run.metadata[table][partition_key]["dagster/row_count"] > 0
    assert keys.null_count().sum_horizontal().item() == 0
    assert not keys.is_duplicated().any()


@pytest.mark.parametrize("partition_key", [DAY_1, DAY_2])
def test_natural_keys_are_unique(model_run, partition_key):
    current = model_run.table("dim_title", partition_key).filter("is_current")
    assert not current["title_id"].is_duplicated().any()
    assert not model_run.table("dim_person", partition_key)["nconst"].is_duplicated().any()
    assert not model_run.table("dim_genre", partition_key)["genre_name"].is_duplicated().any()


def _dangling(child: pl.DataFrame, parent: pl.DataFrame, child_key: str, parent_key: str) -> pl.DataFrame:
    return child.drop_nulls(child_key).join(parent, left_on=child_key, right_on=parent_key, how="anti")


@pytest.mark.parametrize("partition_key", [DAY_1, DAY_2])
def test_every_foreign_key_resolves(model_run, partition_key):
    tables = {name: model_run.table(name, partition_key) for name in MODEL_TABLES}
    current = tables["dim_title"].filter("is_current")
    facts = tables["fact_ratings"]
    assert _dangling(facts, current, "title_id", "title_id").is_empty()
    # the version of the fact is the title's current version that day
    assert facts.join(current, on="title_sk")["title_id"].to_list() == facts["title_id"].to_list()
    for child, key in [("fact_cast_crew", "title_id"), ("title_genre_bridge", "title_id")]:
        assert _dangling(tables[child], current, key, "title_id").is_empty(), child
    assert _dangling(tables["fact_cast_crew"], tables["dim_person"], "person_id", "person_id").is_empty()
    assert _dangling(tables["title_genre_bridge"], tables["dim_genre"], "genre_id", "genre_id").is_empty()
    for year in ("start_year", "end_year"):
        assert _dangling(tables["dim_title"], tables["dim_date"], year, "year").is_empty(), year


def test_rating_and_credit_ids_decode_to_their_definition(model_run):
    facts = model_run.table("fact_ratings", DAY_1)
    assert (facts["rating_id"] == int(DAY_1.replace("-", "")) * 10**9 + facts["title_id"]).all()
    assert (facts["snapshot_date"] == dt.date.fromisoformat(DAY_1)).all()
    credits = model_run.table("fact_cast_crew", DAY_1)
    assert (credits["credit_id"] == credits["title_id"] * 10_000 + credits["ordering"]).all()


# --- an independent recomputation in DuckDB SQL ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sql(model_run):
    """A DuckDB connection with the day-1 cleaned inputs as views `basics`, `ratings`, `names`, `principals`, and
    `scoped` (the titles of the scoped types)."""
    connection = duckdb.connect()
    for view, table in [
        ("basics", "clean_title_basics"),
        ("ratings", "clean_title_ratings"),
        ("names", "clean_name_basics"),
        ("principals", "clean_title_principals"),
    ]:
        connection.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{model_run.path(table, DAY_1)}')")
    types = ", ".join(f"'{t}'" for t in SCOPED_TYPES)
    connection.execute(f"CREATE VIEW scoped AS SELECT * FROM basics WHERE title_type IN ({types})")
    yield connection
    connection.close()


def test_weighted_rating_tiers_and_buckets_equal_sql(model_run, sql):
    expected = sql.sql(
        """
        WITH rated AS (SELECT r.* FROM ratings r JOIN scoped s USING (title_id)),
             constants AS (SELECT quantile_cont(num_votes, 0.25) AS m, avg(average_rating) AS c FROM rated)
        SELECT title_id,
               num_votes / (num_votes + m) * average_rating + m / (num_votes + m) * c AS bayesian_weighted_rating,
               CASE WHEN num_votes >= 100000 THEN 'high' WHEN num_votes >= 1000 THEN 'medium' ELSE 'low' END
                   AS vote_tier,
               CASE WHEN floor(average_rating) <= 2 THEN '1-2' WHEN floor(average_rating) <= 4 THEN '3-4'
                    WHEN floor(average_rating) <= 6 THEN '5-6' WHEN floor(average_rating) <= 8 THEN '7-8'
                    ELSE '9-10' END AS rating_bucket,
               m, c
        FROM rated, constants
        ORDER BY title_id
        """
    ).pl()
    facts = model_run.table("fact_ratings", DAY_1)
    columns = ["title_id", "vote_tier", "rating_bucket"]
    assert facts.select(columns).equals(expected.select(columns))
    assert set(facts["vote_tier"]) == {"low", "medium", "high"}
    assert set(facts["rating_bucket"]) == {"1-2", "3-4", "5-6", "7-8", "9-10"}
    # A mean of floats depends on the order of summation by the last bit: equal up to that rounding.
    difference = (facts["bayesian_weighted_rating"] - expected["bayesian_weighted_rating"]).abs().max()
    assert difference < 1e-12
    metadata = model_run.metadata["fact_ratings"][DAY_1]
    assert metadata["m"] == expected["m"][0]
    assert metadata["C"] == pytest.approx(expected["c"][0], rel=1e-14, abs=0)
    assert metadata["ratings_in"] - metadata["removed_title_out_of_scope"] == facts.height == expected.height


def test_bridge_and_genre_counts_equal_sql(model_run, sql):
    expected_bridge = sql.sql(
        """
        WITH pairs AS (SELECT DISTINCT title_id, unnest(genres) AS genre_name FROM scoped)
        SELECT title_id, genre_name, 1::DOUBLE / count(*) OVER (PARTITION BY title_id) AS weighting_factor
        FROM pairs ORDER BY title_id, genre_name
        """
    ).pl()
    genres = model_run.table("dim_genre", DAY_1)
    bridge = model_run.table("title_genre_bridge", DAY_1).join(genres, on="genre_id")
    assert bridge.select(expected_bridge.columns).sort("title_id", "genre_name").equals(expected_bridge)

    expected_counts = dict(
        sql.execute(
            "SELECT genre_name, count(DISTINCT title_id) FROM (SELECT title_id, unnest(genres) AS genre_name "
            "FROM scoped) GROUP BY genre_name"
        ).fetchall()
    )
    model_counts = dict(bridge.group_by("genre_name").len().iter_rows())
    assert model_counts == expected_counts
    assert model_run.metadata["title_genre_bridge"][DAY_1]["titles_by_genre"] == expected_counts
    assert set(expected_counts) <= set(genres["genre_name"])


def test_cast_crew_and_person_filters_equal_sql(model_run, sql):
    expected_credits = sql.execute(
        """
        SELECT p.title_id, p.ordering, p.person_id FROM principals p
        WHERE p.title_id IN (SELECT title_id FROM scoped) AND p.title_id IN (SELECT title_id FROM ratings)
        ORDER BY 1, 2
        """
    ).fetchall()
    credits = model_run.table("fact_cast_crew", DAY_1)
    assert credits.select("title_id", "ordering", "person_id").sort("title_id", "ordering").rows() == expected_credits

    (unknown_credits,) = sql.execute(
        """
        SELECT count(*) FROM principals p
        WHERE p.title_id IN (SELECT title_id FROM scoped) AND p.title_id IN (SELECT title_id FROM ratings)
          AND p.person_id NOT IN (SELECT person_id FROM names)
        """
    ).fetchone()
    (credits_in,) = sql.execute("SELECT count(*) FROM principals").fetchone()
    (out_of_scope,) = sql.execute(
        "SELECT count(*) FROM principals WHERE title_id NOT IN (SELECT title_id FROM scoped)"
    ).fetchone()
    assert unknown_credits > 0
    assert model_run.metadata["dim_person"][DAY_1]["unknown_person_credits"] == unknown_credits
    metadata = model_run.metadata["fact_cast_crew"][DAY_1]
    assert metadata["credits_in"] == credits_in
    assert metadata["removed_title_out_of_scope"] == out_of_scope
    assert metadata["removed_title_unrated"] == credits_in - out_of_scope - len(expected_credits)
    assert metadata["credits_kept"] == len(expected_credits)

    expected_people = sql.execute(
        """
        WITH credited AS (
            SELECT DISTINCT person_id FROM principals
            WHERE title_id IN (SELECT title_id FROM scoped) AND title_id IN (SELECT title_id FROM ratings)),
        known_for AS (
            SELECT DISTINCT person_id FROM (SELECT person_id, unnest(known_for_titles) AS title_id FROM names)
            WHERE title_id IN (SELECT title_id FROM scoped))
        SELECT person_id, person_id IN (SELECT person_id FROM names) AS known
        FROM (SELECT person_id FROM credited UNION SELECT person_id FROM known_for) ORDER BY 1
        """
    ).fetchall()
    people = model_run.table("dim_person", DAY_1).sort("person_id")
    assert people.select("person_id", ~pl.col("is_inferred")).rows() == expected_people
    inferred = people.filter("is_inferred")
    assert inferred["nconst"].to_list() == [f"nm{p:07d}" for p in inferred["person_id"]]
    assert inferred["primary_name"].null_count() == inferred.height
    person_metadata = model_run.metadata["dim_person"][DAY_1]
    assert person_metadata["people_kept"] == sum(known for _, known in expected_people)
    assert person_metadata["people_inferred"] == sum(not known for _, known in expected_people)


def test_title_type_filter_counts_equal_sql(model_run, sql):
    removed = dict(
        sql.execute(
            f"SELECT title_type, count(*) FROM basics WHERE title_type NOT IN "
            f"({', '.join(repr(t) for t in SCOPED_TYPES)}) GROUP BY 1"
        ).fetchall()
    )
    metadata = model_run.metadata["dim_title"][DAY_1]
    assert metadata["removed_title_types"] == removed
    assert metadata["removed_by_title_type"] == sum(removed.values())
    (scoped,) = sql.execute("SELECT count(*) FROM scoped").fetchone()
    assert metadata["current_titles"] == scoped == model_run.table("dim_title", DAY_1).height
    assert metadata["predecessor_day"] == "none (first day)"
    assert model_run.metadata["dim_title"][DAY_2]["predecessor_day"] == DAY_1


def test_dim_date_covers_every_title_year_without_gaps(model_run, sql):
    (first, last) = sql.execute(
        "SELECT least(min(start_year), min(end_year)), greatest(max(start_year), max(end_year)) FROM scoped"
    ).fetchone()
    dates = model_run.table("dim_date", DAY_1)
    assert dates["year"].to_list() == list(range(first, last + 1))
    row_1999, row_2000, row_2001 = (dates.filter(pl.col("year") == y).row(0, named=True) for y in (1999, 2000, 2001))
    assert row_1999 == {"year": 1999, "decade": 1990, "decade_label": "1990s", "century": 20}
    assert row_2000 == {"year": 2000, "decade": 2000, "decade_label": "2000s", "century": 20}
    assert row_2001 == {"year": 2001, "decade": 2000, "decade_label": "2000s", "century": 21}


def test_fact_ratings_do_not_depend_on_input_row_order(model_run, snapshots):
    """Rebuilds must be identical to the bit: C must not depend on the order rows come out of a join."""
    current = transforms.current_titles(model_run.table("dim_title", DAY_1).lazy())
    ratings = snapshots[DAY_1]["clean_title_ratings"]
    day = dt.date.fromisoformat(DAY_1)

    def facts(order_seed: int) -> pl.DataFrame:
        rated = transforms.rated_titles(ratings.sample(fraction=1.0, shuffle=True, seed=order_seed).lazy(), current)
        return transforms.build_fact_ratings(rated, day, transforms.rating_statistics(rated), 1000, 100_000)

    assert facts(1).equals(facts(2))
    assert facts(1).equals(model_run.table("fact_ratings", DAY_1))


# --- genres ------------------------------------------------------------------------------------------------------


def test_genre_ids_are_imdbs_vocabulary_and_never_change(model_run, snapshots):
    day_1 = model_run.table("dim_genre", DAY_1)
    day_2 = model_run.table("dim_genre", DAY_2)
    assert day_1.equals(day_2)
    assert day_1.height == 28
    ids = dict(day_1.select("genre_name", "genre_id").iter_rows())
    assert (ids["Action"], ids["Drama"], ids["Western"]) == (1, 9, 28)  # alphabetical positions, hand-counted
    # Westerns are all gone on day 2 (the genre keeps its id); a genre outside the vocabulary gets no bridge row
    bridge_2 = model_run.table("title_genre_bridge", DAY_2).join(day_2, on="genre_id")
    assert "Western" not in set(bridge_2["genre_name"])
    assert NEW_GENRE not in set(day_2["genre_name"])
    anime_title = snapshots[DAY_2]["clean_title_basics"].filter(pl.col("genres").list.contains(NEW_GENRE))
    bridged = bridge_2.filter(pl.col("title_id") == anime_title["title_id"].item())["genre_name"]
    assert set(bridged) == set(anime_title["genres"].item()) - {NEW_GENRE}


def test_genre_attributes_follow_the_documented_grouping(model_run):
    genres = {row["genre_name"]: row for row in model_run.table("dim_genre", DAY_1).iter_rows(named=True)}
    expected_groups = {
        "Action": "Action-Adventure",
        "Adult": "Other",
        "Comedy": "Comedy",
        "Documentary": "Factual",
        "Drama": "Drama",
        "Horror": "Thriller-Horror",
        "Romance": "Drama",
        "Sci-Fi": "Action-Adventure",
        "Sport": "Factual",
        "Thriller": "Thriller-Horror",
        "Western": "Action-Adventure",
    }
    assert {name: genres[name]["genre_group"] for name in expected_groups} == expected_groups
    assert {name for name, row in genres.items() if not row["is_fiction"]} == {
        "Biography",
        "Documentary",
        "Game-Show",
        "News",
        "Reality-TV",
        "Sport",
        "Talk-Show",
    }


def test_bridge_has_no_duplicate_pairs_when_a_title_repeats_a_genre():
    titles = pl.LazyFrame(
        {"title_id": [1, 2, 3], "genres": [["Drama", "Drama", "Comedy"], [], None]},
        schema={name: CLEAN_TITLE_BASICS_SCHEMA[name] for name in ("title_id", "genres")},
    )
    bridge = transforms.build_title_genre_bridge(titles, transforms.build_dim_genre().lazy())
    assert bridge.rows() == [(1, 6, 0.5), (1, 9, 0.5)]  # Comedy, Drama


# --- hand-checked bands ------------------------------------------------------------------------------------------


def test_rating_buckets_pair_the_integer_part():
    ratings = pl.DataFrame({"average_rating": [1.0, 2.5, 2.99, 3.0, 4.9, 5.0, 6.5, 7.0, 8.9, 9.0, 10.0]})
    buckets = ratings.select(transforms.rating_bucket())["rating_bucket"].to_list()
    assert buckets == ["1-2", "1-2", "1-2", "3-4", "3-4", "5-6", "5-6", "7-8", "7-8", "9-10", "9-10"]


def test_vote_tiers_start_at_their_thresholds():
    votes = pl.DataFrame({"num_votes": [0, 999, 1000, 99_999, 100_000, 5_000_000]})
    tiers = votes.select(transforms.vote_tier(1000, 100_000))["vote_tier"].to_list()
    assert tiers == ["low", "low", "medium", "medium", "high", "high"]
    with pytest.raises(ValueError, match="medium_votes_from < high_votes_from"):
        transforms.vote_tier(100, 100)


def test_bad_ratings_fail_naming_each_problem():
    rated = pl.DataFrame(
        {"title_id": [1, 2, 2], "average_rating": [0.5, 7.0, 7.0], "num_votes": [10, 20, None]},
        schema={name: CLEAN_TITLE_RATINGS_SCHEMA[name] for name in ("title_id", "average_rating", "num_votes")},
    )
    with pytest.raises(ValueError) as error:
        transforms.rating_statistics(rated)
    assert str(error.value) == (
        "clean_title_ratings: 1 average_rating value(s) outside [1.0, 10.0] or null; "
        "1 negative or null num_votes value(s); 2 rows share a title_id with another rating"
    )


def test_duplicate_credits_fail_naming_the_table_and_replace_nothing(tmp_path):
    principals = clean_frame(
        "clean_title_principals",
        [
            {"title_id": 1, "ordering": 1, "person_id": 5, "category": "actor"},
            {"title_id": 1, "ordering": 1, "person_id": 6, "category": "actor"},
        ],
    )
    titles = pl.DataFrame({"title_id": [1], "is_rated": [True]})
    plan = transforms.plan_fact_cast_crew(principals.lazy(), titles, rated_only=True)
    path = tmp_path / "fact_cast_crew.parquet"
    path.write_bytes(b"the previous day's file")
    results = write_parquet_computing({path: plan.table}, plan.queries, replace_if=lambda r: not plan.problems(r))
    assert path.read_bytes() == b"the previous day's file"
    assert list(tmp_path.iterdir()) == [path]
    with pytest.raises(ValueError, match=r"clean_title_principals: 1 duplicate \(title_id, ordering\)"):
        plan.counts(results)


def test_credits_cleaned_by_an_older_version_with_decoded_characters_give_the_same_fact():
    """Clean tables written before `characters` was kept as JSON text hold lists: a model-only rebuild of such a day
    gives the fact it gives from the text."""
    rows = [
        {"title_id": 1, "ordering": 1, "person_id": 5, "category": "actor", "characters": '["A \\"B\\"","\\u00e9"]'},
        {"title_id": 1, "ordering": 2, "person_id": 6, "category": "self", "characters": "[]"},
        {"title_id": 1, "ordering": 3, "person_id": 7, "category": "writer", "characters": None},
    ]
    titles = pl.DataFrame({"title_id": [1], "is_rated": [True]})
    from_text = transforms.build_fact_cast_crew(clean_frame("clean_title_principals", rows).lazy(), titles, True)
    decoded = [None if row["characters"] is None else json.loads(row["characters"]) for row in rows]
    with_lists = clean_frame("clean_title_principals", rows).with_columns(
        characters=pl.Series(decoded, dtype=pl.List(pl.String))
    )
    from_lists = transforms.build_fact_cast_crew(with_lists.lazy(), titles, True)
    assert from_text.collect()["characters"].to_list() == [['A "B"', "é"], [], None]
    assert_frame_equal(from_lists.collect(), from_text.collect())


# --- scope settings ----------------------------------------------------------------------------------------------


def test_settings_change_the_scope(tmp_path, snapshots):
    """Only tvSeries, and credits of unrated titles too: the counts follow."""
    settings = ModelSettings(title_types=["tvSeries"], facts_rated_only=False, medium_votes_from=10, high_votes_from=20)
    assets = [a for a in model_assets if {"dim_title", "fact_ratings", "fact_cast_crew"} & {k.path[-1] for k in a.keys}]
    run = materialize_model(tmp_path, {DAY_1: snapshots[DAY_1]}, assets, [DAY_1], settings)
    basics = snapshots[DAY_1]["clean_title_basics"]
    series = basics.filter(pl.col("title_type") == "tvSeries")["title_id"]
    assert run.table("dim_title", DAY_1)["title_id"].sort().to_list() == series.sort().to_list()
    credits = run.table("fact_cast_crew", DAY_1)
    principals = snapshots[DAY_1]["clean_title_principals"]
    assert credits.height == principals.filter(pl.col("title_id").is_in(series.implode())).height
    assert run.metadata["fact_cast_crew"][DAY_1]["removed_title_unrated"] == 0
    votes = run.table("fact_ratings", DAY_1)
    expected_tiers = np.select([votes["num_votes"] >= 20, votes["num_votes"] >= 10], ["high", "medium"], "low")
    assert votes["vote_tier"].to_list() == expected_tiers.tolist()
