"""TMDb enrichment client against a fake TMDb on 127.0.0.1: values, auth, retries, rate limit, cache and resume."""

import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from media_assets.enrich.tmdb import (
    TMDB_DETAILS_SCHEMA,
    EnrichmentSummary,
    TmdbAuthError,
    TmdbClient,
    fetch_title_details,
)
from media_assets.kpis.revenue import revenue_roi_figures
from media_assets_tests.fake_tmdb import V3_API_KEY, V4_READ_TOKEN, FakeTmdb, movie_details, tv_details

# Real TMDb facts of a few IMDb titles (ids, money, dates and poster paths as TMDb shows them), under TMDb's field
# names; a movie's 0 budget or revenue is TMDb's "unknown".
MOVIE_FIELDS = ("release_date", "budget", "revenue", "popularity", "vote_average", "vote_count", "poster_path")
MOVIES = {  # IMDb id: TMDb id, title, then MOVIE_FIELDS
    "tt0111161": (278, "The Shawshank Redemption", "1994-09-23", 25000000, 28341469, 27.889, 8.708, 27640,
                  "/9cqNxx0GxF0bflZmeSMuL5tnGzr.jpg"),
    "tt0068646": (238, "The Godfather", "1972-03-14", 6000000, 245066411, 23.5, 8.69, 20800,
                  "/3bhkrj58Vtu7enYsRolD1fZdja1.jpg"),
    "tt0468569": (155, "The Dark Knight", "2008-07-16", 185000000, 1004558444, 30.1, 8.5, 33000,
                  "/qJ2tW6WMUDux911r6m7haRef0WH.jpg"),
    "tt0110912": (680, "Pulp Fiction", "1994-09-10", 8000000, 213900000, 25.2, 8.5, 28500,
                  "/d5iIlFn5s0ImszYzBPb8JPIfbXD.jpg"),
    "tt0000001": (16612, "Carmencita", "1894-03-10", 0, 0, 2, 5.6, 224, None),
}  # fmt: skip
SERIES_FIELDS = ("first_air_date", "popularity", "vote_average", "vote_count", "poster_path")
SERIES = {  # IMDb id: TMDb id, name, then SERIES_FIELDS
    "tt0903747": (1396, "Breaking Bad", "2008-01-20", 61.8, 8.9, 15200, "/ztkUQFLlC19CCMYHW9o1zWhJRNq.jpg"),
    "tt0185906": (4613, "Band of Brothers", "2001-09-09", 40.0, 8.6, 3900, "/8JMXquNmdMUy2n2RgW8gfOM0O3l.jpg"),
}  # fmt: skip
CATALOGUE: dict[str, tuple[str, dict[str, Any]]] = {
    **{
        imdb_id: ("movie", movie_details(imdb_id, tmdb_id, title, **dict(zip(MOVIE_FIELDS, values, strict=True))))
        for imdb_id, (tmdb_id, title, *values) in MOVIES.items()
    },
    **{
        imdb_id: ("tv", tv_details(tmdb_id, name, **dict(zip(SERIES_FIELDS, values, strict=True))))
        for imdb_id, (tmdb_id, name, *values) in SERIES.items()
    },
}
# Plain movies for tests that need many ids: tt2000000..tt2000029, TMDb ids 500000..500029.
BULK_IDS = [f"tt{2000000 + n}" for n in range(30)]
for n, bulk_id in enumerate(BULK_IDS):
    CATALOGUE[bulk_id] = ("movie", movie_details(bulk_id, 500000 + n, f"Bulk {n}", release_date="2020-01-01"))

UNKNOWN_ID = "tt9999999"  # TMDb's find answers 200 with empty result lists for ids it does not know


@pytest.fixture
def fake() -> FakeTmdb:
    with FakeTmdb(CATALOGUE) as server:
        yield server


def fetch(
    fake: FakeTmdb, titles: list[tuple[str, str]], cache_dir: Path, **overrides: Any
) -> tuple[pl.DataFrame, EnrichmentSummary]:
    """Run the fetch against the fake with fast test settings; `overrides` replace any of them."""
    return asyncio.run(fetch_title_details(titles, **fetch_settings(fake, cache_dir, **overrides)))


def fetch_settings(fake: FakeTmdb, cache_dir: Path, **overrides: Any) -> dict[str, Any]:
    """`fetch_title_details`' settings for the fake: fast, with `overrides` replacing any of them."""
    settings: dict[str, Any] = dict(
        base_url=fake.base_url,
        api_key=V3_API_KEY,
        cache_dir=cache_dir,
        max_age=dt.timedelta(days=30),
        requests_per_second=1000.0,
        max_concurrency=4,
        max_attempts=5,
        timeout_seconds=5.0,
        backoff_base_seconds=0.05,
    )
    settings.update(overrides)
    return settings


def without_fetch_time(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.drop("fetched_at").to_dicts()


def row(tconst: str, status: str, **values: Any) -> dict[str, Any]:
    """An expected output row (without fetched_at): every column null unless given."""
    expected = dict.fromkeys(name for name in TMDB_DETAILS_SCHEMA if name != "fetched_at")
    expected.update(tconst=tconst, status=status, **values)
    return expected


# The rows TMDb's answers for four of CATALOGUE's titles become, as `found_row`'s arguments: tconst, tmdb_id,
# media_type, budget, revenue, popularity, vote_average, vote_count, poster, release_date.
FOUND_ROWS = [
    ("tt0111161", 278, "movie", 25000000, 28341469, 27.889, 8.708, 27640, "9cqNxx0GxF0bflZmeSMuL5tnGzr", "1994-09-23"),
    ("tt0903747", 1396, "tv", None, None, 61.8, 8.9, 15200, "ztkUQFLlC19CCMYHW9o1zWhJRNq", "2008-01-20"),
    ("tt0185906", 4613, "tv", None, None, 40.0, 8.6, 3900, "8JMXquNmdMUy2n2RgW8gfOM0O3l", "2001-09-09"),
    ("tt0000001", 16612, "movie", 0, 0, 2.0, 5.6, 224, None, "1894-03-10"),  # TMDb's 0 money, no poster
]  # fmt: skip


def found_row(
    tconst: str,
    tmdb_id: int,
    media_type: str,
    budget: int | None,
    revenue: int | None,
    popularity: float,
    vote_average: float,
    vote_count: int,
    poster: str | None,
    release_date: str,
) -> dict[str, Any]:
    """An expected output row of a title TMDb knows (all of the catalogue's are in English)."""
    return row(
        tconst,
        "found",
        tmdb_id=tmdb_id,
        media_type=media_type,
        budget=budget,
        revenue=revenue,
        popularity=popularity,
        vote_average=vote_average,
        vote_count=vote_count,
        poster_url=None if poster is None else f"https://image.tmdb.org/t/p/w500/{poster}.jpg",
        release_date=dt.date.fromisoformat(release_date),
        original_language="en",
    )


def test_movie_and_series_values(fake: FakeTmdb, tmp_path: Path) -> None:
    started = dt.datetime.now(dt.UTC)
    titles = [
        ("tt0111161", "movie"),
        ("tt0903747", "tvSeries"),
        ("tt0185906", "tvMiniSeries"),
        ("tt0000001", "short"),
        (UNKNOWN_ID, "movie"),
        ("tt0111161", "movie"),  # a repeated id is asked and reported once
    ]
    frame, summary = fetch(fake, titles, tmp_path)

    assert frame.schema == pl.Schema(TMDB_DETAILS_SCHEMA)
    assert without_fetch_time(frame) == [*(found_row(*values) for values in FOUND_ROWS), row(UNKNOWN_ID, "not_found")]
    assert summary == EnrichmentSummary(requested=5, from_cache=0, fetched=5, not_found=1, failed=0)
    assert frame["fetched_at"].is_between(started, dt.datetime.now(dt.UTC)).all()
    # Series are read from /3/tv, other types from /3/movie; an unknown id needs no details request.
    assert sorted(fake.paths()) == sorted(
        [f"/3/find/{tconst}" for tconst, _ in titles[:5]]
        + ["/3/movie/278", "/3/tv/1396", "/3/tv/4613", "/3/movie/16612"]
    )


@pytest.mark.parametrize(
    ("api_key", "sent_as_query", "sent_as_header"),
    [
        (V3_API_KEY, [V3_API_KEY], None),
        (V4_READ_TOKEN, None, f"Bearer {V4_READ_TOKEN}"),
        (f" {V3_API_KEY}\n", [V3_API_KEY], None),  # as pasted into a .env file
    ],
    ids=["v3-api-key", "v4-read-token", "v3-api-key-with-blanks"],
)
def test_v3_key_and_v4_token(
    fake: FakeTmdb, tmp_path: Path, api_key: str, sent_as_query: list[str] | None, sent_as_header: str | None
) -> None:
    frame, _ = fetch(fake, [("tt0068646", "movie")], tmp_path, api_key=api_key)

    assert frame["status"].to_list() == ["found"]
    assert frame["revenue"].to_list() == [245066411]
    assert len(fake.requests) == 2
    for request in fake.requests:
        assert request.query.get("api_key") == sent_as_query
        assert request.authorization == sent_as_header


def test_429_waits_for_retry_after(fake: FakeTmdb, tmp_path: Path) -> None:
    fake.script("/3/find/tt0111161", (429, {"Retry-After": "1"}))

    # At 4 requests/s the second title's first request is due 250 ms after the first one's, well after the 429.
    frame, summary = fetch(
        fake, [("tt0111161", "movie"), ("tt0068646", "movie")], tmp_path, requests_per_second=4, max_concurrency=2
    )

    assert frame["status"].to_list() == ["found", "found"]
    first, retry = fake.times("/3/find/tt0111161")
    # Retry-After is honoured: at least 1 s, and not stretched by more than the other title's slot (0.25 s) ...
    assert 1.0 <= retry - first < 1.6
    # ... and it pauses every request, not only the one that got the 429.
    assert fake.times("/3/find/tt0068646")[0] - first >= 1.0
    assert summary == EnrichmentSummary(requested=2, from_cache=0, fetched=2, not_found=0, failed=0)


def test_5xx_retried_with_growing_backoff(fake: FakeTmdb, tmp_path: Path) -> None:
    fake.script("/3/movie/278", (500, {}), (503, {}))

    frame, _ = fetch(fake, [("tt0111161", "movie")], tmp_path, backoff_base_seconds=0.2)

    assert frame["status"].to_list() == ["found"]
    first, second, third = fake.times("/3/movie/278")
    # Equal jitter: the n-th wait is between half and all of 0.2 * 2^(n-1) seconds.
    assert 0.1 <= second - first < 0.2 + 0.15
    assert 0.2 <= third - second < 0.4 + 0.15


def test_5xx_until_max_attempts_is_failed_and_not_cached(fake: FakeTmdb, tmp_path: Path) -> None:
    fake.script("/3/find/tt0068646", *[(500, {})] * 3)

    frame, summary = fetch(fake, [("tt0068646", "movie"), ("tt0110912", "movie")], tmp_path, max_attempts=3)

    assert frame["status"].to_list() == ["failed", "found"]
    assert "gave up after 3 attempts" in frame["error"][0] and "HTTP 500" in frame["error"][0]
    assert fake.paths().count("/3/find/tt0068646") == 3
    assert summary == EnrichmentSummary(requested=2, from_cache=0, fetched=1, not_found=0, failed=1)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tt0110912.json"]

    fake.clear_requests()
    frame, summary = fetch(fake, [("tt0068646", "movie"), ("tt0110912", "movie")], tmp_path)
    assert fake.requested_find_ids() == ["tt0068646"]  # the failed id is tried again, the other comes from cache
    assert frame["status"].to_list() == ["found", "found"]
    assert summary == EnrichmentSummary(requested=2, from_cache=1, fetched=1, not_found=0, failed=0)


def test_timeout_is_retried_then_failed(fake: FakeTmdb, tmp_path: Path) -> None:
    fake.delay_seconds = 0.6

    frame, summary = fetch(fake, [("tt0068646", "movie")], tmp_path, timeout_seconds=0.2, max_attempts=2)

    assert frame["status"].to_list() == ["failed"]
    assert "ReadTimeout" in frame["error"][0]
    assert fake.paths() == ["/3/find/tt0068646"] * 2
    assert summary.failed == 1 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("missing_path", ["/3/find/tt0111161", "/3/movie/278"], ids=["find", "details"])
def test_404_is_not_found_and_not_retried(fake: FakeTmdb, tmp_path: Path, missing_path: str) -> None:
    fake.not_found_paths.add(missing_path)

    frame, summary = fetch(fake, [("tt0111161", "movie")], tmp_path)

    assert without_fetch_time(frame) == [row("tt0111161", "not_found")]
    assert fake.paths().count(missing_path) == 1
    assert summary == EnrichmentSummary(requested=1, from_cache=0, fetched=1, not_found=1, failed=0)
    # "Not found" is cached too: the next run asks nothing.
    fake.clear_requests()
    frame, summary = fetch(fake, [("tt0111161", "movie")], tmp_path)
    assert fake.paths() == []
    assert frame["status"].to_list() == ["not_found"]
    assert summary == EnrichmentSummary(requested=1, from_cache=1, fetched=0, not_found=1, failed=0)


def test_401_stops_everything_with_a_message_about_the_key(fake: FakeTmdb, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(TmdbAuthError) as raised:
        fetch(fake, [(tconst, "movie") for tconst in BULK_IDS], tmp_path, api_key="f" * 32, max_concurrency=4)

    message = str(raised.value)
    assert "TMDB_API_KEY" in message and "Invalid API key" in message and "v3 api_key" in message
    # Each of the 4 workers sent at most its first request; nothing was retried or cached.
    assert len(fake.requests) <= 4
    assert time.monotonic() - started < 1.0
    assert list(tmp_path.iterdir()) == []


def test_rate_limit_holds_at_the_server(fake: FakeTmdb, tmp_path: Path) -> None:
    # httpx imports its async backend on the first request of the process (~70 ms, far more on a busy machine),
    # which would delay only that request after its slot: warm up so that what follows measures the limiter.
    fetch(fake, [(UNKNOWN_ID, "movie")], tmp_path / "warm-up")
    fake.clear_requests()
    rate = 5
    titles = [(tconst, "movie") for tconst in BULK_IDS[:8]]  # 16 requests, ~3 s

    frame, _ = fetch(fake, titles, tmp_path, requests_per_second=rate, max_concurrency=8)

    assert frame["status"].to_list() == ["found"] * 8
    times = fake.times()
    assert len(times) == 16
    # No 1-second window holds more than `rate` arrivals: request i+rate comes at least 1 s after request i.
    # The slack absorbs delivery jitter between the client's send and the server thread's clock reading (new
    # connections, the server sharing the GIL): at most ~20 ms measured with both cores busy. A limiter running
    # at rate+1 would give 0.83 s and fail.
    slack = 0.1
    closest = min(later - earlier for earlier, later in zip(times, times[rate:], strict=False))
    assert closest >= 1.0 - slack
    # ... and the limiter does not throttle much below the rate either.
    assert (len(times) - 1) / rate - slack <= times[-1] - times[0] < (len(times) - 1) / rate + 0.5


def rewrite_fetch_time(cache_file: Path, fetched_at: dt.datetime) -> None:
    entry = json.loads(cache_file.read_text())
    entry["fetched_at"] = fetched_at.isoformat()
    cache_file.write_text(json.dumps(entry))


def test_cache_serves_fresh_ids_and_refetches_stale_ones(fake: FakeTmdb, tmp_path: Path) -> None:
    titles = [("tt0111161", "movie"), ("tt0903747", "tvSeries"), (UNKNOWN_ID, "movie")]
    first_frame, _ = fetch(fake, titles, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"{tconst}.json" for tconst, _ in sorted(titles)]
    cached = json.loads((tmp_path / "tt0111161.json").read_text())
    assert cached["tconst"] == "tt0111161" and cached["budget"] == 25000000
    assert dt.datetime.fromisoformat(cached["fetched_at"]) == first_frame["fetched_at"][0]

    fake.clear_requests()
    second_frame, summary = fetch(fake, titles, tmp_path)
    assert fake.paths() == []
    assert second_frame.equals(first_frame)  # fetch times included: these are the cached answers
    assert summary == EnrichmentSummary(requested=3, from_cache=3, fetched=0, not_found=1, failed=0)

    rewrite_fetch_time(tmp_path / "tt0903747.json", dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
    fake.clear_requests()
    third_frame, summary = fetch(fake, titles, tmp_path, max_age=dt.timedelta(days=30))
    assert sorted(fake.paths()) == ["/3/find/tt0903747", "/3/tv/1396"]
    assert summary == EnrichmentSummary(requested=3, from_cache=2, fetched=1, not_found=1, failed=0)
    assert without_fetch_time(third_frame) == without_fetch_time(first_frame)
    assert third_frame["fetched_at"][1] > first_frame["fetched_at"][1]

    # An entry that cannot be read (hand-edited, older format) is fetched again and rewritten.
    (tmp_path / "tt0111161.json").write_text('{"tconst": "tt0111161", "budget": ')
    fake.clear_requests()
    fourth_frame, summary = fetch(fake, titles, tmp_path)
    assert sorted(fake.paths()) == ["/3/find/tt0111161", "/3/movie/278"]
    assert summary == EnrichmentSummary(requested=3, from_cache=2, fetched=1, not_found=1, failed=0)
    assert without_fetch_time(fourth_frame) == without_fetch_time(first_frame)
    assert json.loads((tmp_path / "tt0111161.json").read_text())["budget"] == 25000000


def test_interrupted_run_keeps_what_it_fetched(fake: FakeTmdb, tmp_path: Path) -> None:
    titles = [(tconst, "movie") for tconst in BULK_IDS[:12]]
    answered = 9
    fake.hang_after(answered)

    async def run_then_cancel() -> None:
        task = asyncio.create_task(
            fetch_title_details(
                titles, **fetch_settings(fake, tmp_path, max_concurrency=2, max_attempts=3, timeout_seconds=30)
            )
        )
        # Both workers end up waiting on a held request: answered + 2 requests arrived.
        deadline = time.monotonic() + 10
        while len(fake.requests) < answered + 2:
            assert time.monotonic() < deadline, "the fetch never reached the held requests"
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_then_cancel())
    fake.release()

    # A title is cached exactly when its details request was among the answered ones.
    answered_paths = [request.path for request in fake.requests[:answered]]
    completed = {tconst for tconst in BULK_IDS[:12] if f"/3/movie/{500000 + BULK_IDS.index(tconst)}" in answered_paths}
    assert 0 < len(completed) < len(titles)
    assert {path.name for path in tmp_path.iterdir()} == {f"{tconst}.json" for tconst in completed}

    fake.clear_requests()
    frame, summary = fetch(fake, titles, tmp_path)
    assert sorted(fake.requested_find_ids()) == sorted(set(BULK_IDS[:12]) - completed)
    assert frame["status"].to_list() == ["found"] * 12
    assert summary == EnrichmentSummary(
        requested=12, from_cache=len(completed), fetched=12 - len(completed), not_found=0, failed=0
    )


def test_bad_details_field_fails_that_title_only(fake: FakeTmdb, tmp_path: Path) -> None:
    broken = dict(CATALOGUE)
    broken["tt0068646"] = ("movie", movie_details("tt0068646", 238, "The Godfather", budget="6 million"))
    with FakeTmdb(broken) as broken_fake:
        frame, summary = fetch(broken_fake, [("tt0068646", "movie"), ("tt0110912", "movie")], tmp_path)

    assert frame["status"].to_list() == ["failed", "found"]
    assert frame["error"][0] == "details of TMDb id 238: budget is '6 million', expected int"
    assert summary.failed == 1


def test_ids_that_are_not_tconsts_are_refused(fake: FakeTmdb, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'\.\./etc' is not an IMDb title id"):
        fetch(fake, [("tt0111161", "movie"), ("../etc", "movie")], tmp_path)
    assert fake.paths() == []


@pytest.mark.parametrize("api_key", [None, ""], ids=["none", "empty"])
def test_resource_without_key_fails_before_any_request(fake: FakeTmdb, tmp_path: Path, api_key: str | None) -> None:
    client = TmdbClient(api_key=api_key, base_url=fake.base_url)

    assert not client.is_configured
    with pytest.raises(TmdbAuthError, match="set the TMDB_API_KEY environment variable"):
        client.fetch([("tt0111161", "movie")], tmp_path)
    assert fake.paths() == []


def test_resource_fetches_with_its_settings(fake: FakeTmdb, tmp_path: Path) -> None:
    client = TmdbClient(api_key=V4_READ_TOKEN, base_url=fake.base_url, requests_per_second=100)

    frame, summary = client.fetch([("tt0468569", "movie"), ("tt0903747", "tvSeries")], tmp_path)

    assert frame.select("tconst", "tmdb_id", "status").rows() == [
        ("tt0468569", 155, "found"),
        ("tt0903747", 1396, "found"),
    ]
    assert summary == EnrichmentSummary(requested=2, from_cache=0, fetched=2, not_found=0, failed=0)


def test_revenue_roi_kpi_matches_sql(fake: FakeTmdb, tmp_path: Path) -> None:
    titles = [
        ("tt0111161", "movie"),
        ("tt0068646", "movie"),
        ("tt0468569", "movie"),
        ("tt0110912", "movie"),
        ("tt0000001", "short"),  # budget and revenue 0: left out
        ("tt0903747", "tvSeries"),  # no budget at all: left out
        (UNKNOWN_ID, "movie"),
    ]
    details, _ = fetch(fake, titles, tmp_path)

    kpi = revenue_roi_figures(details)

    rows_sql = duckdb.sql(
        "select tconst, budget, revenue, revenue / budget as roi from details "
        "where status = 'found' and budget > 0 and revenue > 0 order by revenue desc"
    ).fetchall()
    totals = duckdb.sql(
        "select sum(budget), sum(revenue), sum(revenue) / sum(budget), median(revenue / budget) from details "
        "where status = 'found' and budget > 0 and revenue > 0"
    ).fetchall()[0]
    rows, values = kpi.tables["rows"], kpi.values
    assert [(kpi_row["tconst"], kpi_row["budget"], kpi_row["revenue"]) for kpi_row in rows] == [
        sql_row[:3] for sql_row in rows_sql
    ]
    assert [kpi_row["roi"] for kpi_row in rows] == pytest.approx([sql_row[3] for sql_row in rows_sql])
    assert [kpi_row["tconst"] for kpi_row in rows] == ["tt0468569", "tt0068646", "tt0110912", "tt0111161"]
    assert (values["total_budget"], values["total_revenue"]) == (totals[0], totals[1])
    assert values["overall_roi"] == pytest.approx(totals[2])
    assert values["median_roi"] == pytest.approx(totals[3])
    assert not kpi.skipped and values["titles_found"] == 6 and values["titles_with_budget_and_revenue"] == 4


def test_revenue_roi_kpi_skips_without_details() -> None:
    for details in (None, pl.DataFrame(schema=TMDB_DETAILS_SCHEMA)):
        kpi = revenue_roi_figures(details)
        assert kpi.skipped and "TMDB_API_KEY" in kpi.note


def test_revenue_roi_kpi_without_money_has_no_rows(fake: FakeTmdb, tmp_path: Path) -> None:
    details, _ = fetch(fake, [("tt0000001", "short"), ("tt0903747", "tvSeries")], tmp_path)

    kpi = revenue_roi_figures(details)

    assert kpi.tables["rows"] == [] and kpi.values["titles_with_budget_and_revenue"] == 0
    assert kpi.values["median_roi"] is None and kpi.values["overall_roi"] is None
    assert "none of the 2 titles" in kpi.note
