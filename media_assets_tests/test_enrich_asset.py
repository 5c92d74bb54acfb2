"""The tmdb_title_details asset: top titles by weighted rating, enriched through the fake TMDb server."""

import dagster as dg
import polars as pl
import pytest

from media_assets.enrich.assets import tmdb_title_details
from media_assets.enrich.tmdb import TmdbClient
from media_assets.enrich.transforms import top_rated_titles
from media_assets.io_managers import ParquetIOManager
from media_assets.model.transforms import DIM_TITLE_SCHEMA
from media_assets.partitions import daily_partitions
from media_assets.resources import DataLake
from media_assets_tests.fake_tmdb import V3_API_KEY, FakeTmdb, movie_details, tv_details

PARTITION = "2026-03-01"
# title_id -> (tconst, title_type, weighted rating, votes); 3 and 2 tie on rating, votes break the tie.
TITLES = {
    1: ("tt0000001", "movie", 7.0, 100),
    2: ("tt0000002", "tvSeries", 8.5, 50),
    3: ("tt0000003", "movie", 8.5, 900),
    4: ("tt10000004", "movie", 6.0, 10),
}
CATALOGUE = {
    "tt0000003": ("movie", movie_details("tt0000003", 303, "Three", budget=10, revenue=40)),
    "tt0000002": ("tv", tv_details(202, "Two", first_air_date="2001-02-03")),
}


@dg.asset(name="fact_ratings", partitions_def=daily_partitions)
def hand_made_fact_ratings() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "title_id": list(TITLES),
            "bayesian_weighted_rating": [rating for _, _, rating, _ in TITLES.values()],
            "num_votes": [votes for _, _, _, votes in TITLES.values()],
        }
    )


@dg.asset(name="dim_title", partitions_def=daily_partitions)
def hand_made_dim_title() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "title_id": list(TITLES),
            "tconst": [tconst for tconst, *_ in TITLES.values()],
            "title_type": [title_type for _, title_type, *_ in TITLES.values()],
            "is_current": [True] * len(TITLES),
        },
        schema={name: DIM_TITLE_SCHEMA[name] for name in ("title_id", "tconst", "title_type", "is_current")},
    )


def _materialize(tmp_path, tmdb: TmdbClient, top_n: int) -> dg.ExecuteInProcessResult:
    lake = DataLake(root=str(tmp_path))
    return dg.materialize(
        [hand_made_fact_ratings, hand_made_dim_title, tmdb_title_details],
        partition_key=PARTITION,
        resources={"data_lake": lake, "io_manager": ParquetIOManager(data_lake=lake), "tmdb": tmdb},
        run_config={"ops": {"tmdb_title_details": {"config": {"top_n": top_n}}}},
        raise_on_error=False,
    )


def test_top_titles_are_enriched_then_served_from_cache(tmp_path):
    with FakeTmdb(CATALOGUE) as fake:
        tmdb = TmdbClient(api_key=V3_API_KEY, base_url=fake.base_url, requests_per_second=50)
        result = _materialize(tmp_path, tmdb, top_n=2)
        assert result.success
        details = pl.read_parquet(DataLake(root=str(tmp_path)).table_path("tmdb_title_details", PARTITION))
        # 8.5 with 900 votes ranks above 8.5 with 50 votes; 7.0 and 6.0 are beyond the top 2.
        assert details["tconst"].to_list() == ["tt0000003", "tt0000002"]
        assert details["budget"].to_list() == [10, None]
        assert details["revenue"].to_list() == [40, None]
        assert details["status"].to_list() == ["found", "found"]
        metadata = result.get_asset_materialization_events()[-1].materialization.metadata
        assert (metadata["requested"].value, metadata["fetched"].value, metadata["from_cache"].value) == (2, 2, 0)
        assert sorted(fake.requested_find_ids()) == ["tt0000002", "tt0000003"]

        fake.clear_requests()
        rerun = _materialize(tmp_path, tmdb, top_n=2)
        assert rerun.success
        assert fake.paths() == [], "fresh cached titles must not be asked again"
        metadata = rerun.get_asset_materialization_events()[-1].materialization.metadata
        assert metadata["from_cache"].value == 2


def test_without_a_key_the_asset_fails_fast_saying_how_to_set_it(tmp_path):
    result = _materialize(tmp_path, TmdbClient(api_key=None, base_url="http://127.0.0.1:9"), top_n=2)
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    error = failure.step_failure_data.error
    assert error.cause.cls_name == "TmdbAuthError"
    assert "TMDB_API_KEY" in error.cause.message


def _step_starts(result: dg.ExecuteInProcessResult, step_key: str) -> list[dg.DagsterEventType]:
    return [
        event.event_type
        for event in result.all_events
        if event.step_key == step_key
        and event.event_type in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_RESTARTED)
    ]


def test_a_rejected_key_fails_at_once_without_the_retry_policy(tmp_path):
    assert tmdb_title_details.op.retry_policy is not None, "the step retries network failures"
    with FakeTmdb(CATALOGUE) as fake:
        bad_key = "f" * 32
        result = _materialize(tmp_path, TmdbClient(api_key=bad_key, base_url=fake.base_url), top_n=2)
        assert not result.success
        assert fake.paths(), "the key reached the server"
    assert _step_starts(result, "tmdb_title_details") == [dg.DagsterEventType.STEP_START]
    assert not [event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert failure.step_failure_data.error.cause.cls_name == "TmdbAuthError"
    assert "TMDB_API_KEY" in failure.step_failure_data.error.cause.message


@pytest.mark.parametrize("top_n", [1, 4])
def test_top_n_is_respected(tmp_path, top_n):
    with FakeTmdb(CATALOGUE) as fake:
        result = _materialize(tmp_path, TmdbClient(api_key=V3_API_KEY, base_url=fake.base_url), top_n=top_n)
        assert result.success
        details = pl.read_parquet(DataLake(root=str(tmp_path)).table_path("tmdb_title_details", PARTITION))
        assert details.height == top_n
        # Titles TMDb does not know are kept and marked, never dropped.
        assert details.filter(pl.col("tconst") == "tt0000001")["status"].to_list() in ([], ["not_found"])


def test_float_noise_in_the_weighted_rating_does_not_decide_the_order():
    # 8.5 and 8.5 plus a rounding error are one rating at 6 decimals: the votes decide, as in the KPIs' ranking.
    fact_ratings = pl.LazyFrame(
        {"title_id": [2, 3], "bayesian_weighted_rating": [8.5 + 1e-12, 8.5], "num_votes": [50, 900]}
    )
    dim_title = pl.LazyFrame(
        {
            "title_id": [2, 3],
            "tconst": ["tt0000002", "tt0000003"],
            "title_type": ["movie"] * 2,
            "is_current": [True] * 2,
        }
    )
    assert top_rated_titles(fact_ratings, dim_title, 2)["title_id"].to_list() == [3, 2]
