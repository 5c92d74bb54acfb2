"""TMDb enrichment: budget, revenue, popularity and posters of IMDb titles, fetched politely and cached on disk.

For each IMDb id the client asks `GET /3/find/{tconst}?external_source=imdb_id`, then the details of the match
(`/3/movie/{id}` or `/3/tv/{id}`). Requests run concurrently (bounded) behind a client-side rate limit, with
retries on 429/5xx/timeouts. Every answered id is written to its own cache file as soon as it arrives, so a rerun
asks only for new or stale ids and an interrupted run loses nothing it already fetched.
"""

import asyncio
import datetime as dt
import email.utils
import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import polars as pl
from pydantic import Field

from media_assets.atomic_files import write_json_atomically

POSTER_BASE_URL = "https://image.tmdb.org/t/p/w500"
SERIES_TITLE_TYPES = frozenset({"tvSeries", "tvMiniSeries"})
"""IMDb title types looked up among TMDb's tv shows first; every other type is looked up among movies first."""

TMDB_DETAILS_SCHEMA: dict[str, pl.DataType] = {
    "tconst": pl.String(),
    "tmdb_id": pl.Int64(),
    "media_type": pl.String(),
    "budget": pl.Int64(),
    "revenue": pl.Int64(),
    "popularity": pl.Float64(),
    "vote_average": pl.Float64(),
    "vote_count": pl.Int64(),
    "poster_url": pl.String(),
    "release_date": pl.Date(),
    "original_language": pl.String(),
    "status": pl.String(),
    "fetched_at": pl.Datetime("us", "UTC"),
    "error": pl.String(),
}
"""One row per requested title. `status` is found / not_found / failed; `error` says why a title failed."""

_TCONST = re.compile(r"tt\d{7,}")
_CACHE_FORMAT = 1
_BACKOFF_MAX_SECONDS = 30.0
_RETRY_AFTER_MAX_SECONDS = 120.0
_log = logging.getLogger(__name__)


class TmdbAuthError(RuntimeError):
    """TMDb refused the API key (HTTP 401), or no key is configured. Stops the whole fetch."""


@dataclass
class EnrichmentSummary:
    """Counts of one fetch. `requested` = `from_cache` + `fetched` + `failed` (distinct ids); `not_found` counts
    ids TMDb does not know, whether they came from the cache or from the API."""

    requested: int = 0
    from_cache: int = 0
    fetched: int = 0
    not_found: int = 0
    failed: int = 0


class _TitleFailed(Exception):
    """No usable answer for one title; recorded as status `failed`, the fetch goes on."""


class _RateLimiter:
    """Spaced slots: a request may start only `1/rate` seconds after the previous one actually started, so no
    1-second window holds more than `rate` starts. A 429's Retry-After pauses every request, not only its own."""

    def __init__(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError(f"requests_per_second must be positive, got {requests_per_second}")
        self._interval = 1.0 / requests_per_second
        self._next_slot = 0.0
        self._paused_until = 0.0
        # Waiters queue on the lock (FIFO) and sleep while holding it: the next slot is set from the moment the
        # previous request really started, so a late wake-up never lets two requests bunch up.
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            while (wait := max(self._next_slot, self._paused_until) - loop.time()) > 0:
                await asyncio.sleep(wait)  # loops again when a pause began meanwhile
            self._next_slot = loop.time() + self._interval

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, asyncio.get_running_loop().time() + seconds)


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header as seconds (it may be a number or an HTTP date), capped; None when absent/garbled."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" means UTC without saying so
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), _RETRY_AFTER_MAX_SECONDS)


def _is_read_access_token(api_key: str) -> bool:
    # A v4 read access token is a JWT (base64 of '{"alg"...' starts with eyJ); anything else is sent as a v3 key.
    return api_key.startswith("eyJ")


def _auth_description(api_key: str) -> str:
    return "v4 Bearer token" if _is_read_access_token(api_key) else "v3 api_key query parameter"


def _http_client(base_url: str, api_key: str, max_concurrency: int, timeout_seconds: float) -> httpx.AsyncClient:
    headers = {"Accept": "application/json"}
    params = {}
    if _is_read_access_token(api_key):
        headers["Authorization"] = f"Bearer {api_key}"
    else:
        params["api_key"] = api_key
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        params=params,
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_connections=max_concurrency),
    )


class _TitleFetcher:
    """Asks TMDb about one title at a time, with retries; shared by the concurrent workers."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        limiter: _RateLimiter,
        *,
        api_key_kind: str,
        max_attempts: int,
        backoff_base_seconds: float,
        log: logging.Logger,
    ) -> None:
        self._client = client
        self._limiter = limiter
        self._api_key_kind = api_key_kind
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base_seconds
        self._log = log

    def _backoff(self, failures: int) -> float:
        # Exponential with "equal jitter": between half and all of base * 2^(failures-1).
        ceiling = min(_BACKOFF_MAX_SECONDS, self._backoff_base * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The JSON object at `path`, or None on 404. Retries 429, 5xx and transport errors."""
        last_problem = ""
        for attempt in range(1, self._max_attempts + 1):
            await self._limiter.acquire()
            try:
                response = await self._client.get(path, params=params)
            except httpx.TransportError as error:  # timeouts, refused/reset connections
                last_problem = f"{type(error).__name__}: {error}".rstrip(": ")
                wait = self._backoff(attempt)
            else:
                if response.status_code == 200:
                    try:
                        body = response.json()
                    except ValueError as error:
                        raise _TitleFailed(f"GET {path}: answer is not JSON ({error})") from error
                    if not isinstance(body, dict):
                        raise _TitleFailed(f"GET {path}: answer is not a JSON object")
                    return body
                if response.status_code == 404:
                    return None
                if response.status_code == 401:
                    raise TmdbAuthError(
                        f"TMDb rejected the API key (HTTP 401 on GET {path}: {_tmdb_message(response)}). "
                        f"The key was sent as a {self._api_key_kind}. Check TMDB_API_KEY: it must hold a TMDb v3 "
                        "API key (32 hex characters) or a v4 API Read Access Token (a long token starting with "
                        "'eyJ'), both shown at https://www.themoviedb.org/settings/api."
                    )
                if response.status_code != 429 and response.status_code < 500:
                    raise _TitleFailed(f"GET {path}: HTTP {response.status_code} ({_tmdb_message(response)})")
                last_problem = f"HTTP {response.status_code}"
                retry_after = _retry_after_seconds(response)
                if response.status_code == 429 and retry_after is not None:
                    self._limiter.pause(retry_after)
                wait = retry_after if retry_after is not None else self._backoff(attempt)
            if attempt < self._max_attempts:
                self._log.warning(f"TMDb GET {path}: {last_problem}; retry {attempt} in {wait:.2f}s")
                await asyncio.sleep(wait)
        raise _TitleFailed(f"GET {path}: gave up after {self._max_attempts} attempts, last: {last_problem}")

    async def fetch_title(self, tconst: str, title_type: str) -> dict[str, Any]:
        """The output row of one title: found, not_found or failed."""
        fetched_at = dt.datetime.now(dt.UTC)
        try:
            found = await self.get_json(f"/3/find/{tconst}", {"external_source": "imdb_id"})
            match = _pick_match(found, title_type) if found is not None else None
            if match is None:
                return _row(tconst, "not_found", fetched_at)
            media_type, tmdb_id = match
            details = await self.get_json(f"/3/{media_type}/{tmdb_id}")
            if details is None:
                return _row(tconst, "not_found", fetched_at)
            return _found_row(tconst, media_type, details, fetched_at)
        except _TitleFailed as failure:
            self._log.warning(f"TMDb {tconst}: {failure}")
            return _row(tconst, "failed", fetched_at, error=str(failure))


def _tmdb_message(response: httpx.Response) -> str:
    """TMDb's `status_message` when the body has one, else the start of the body."""
    try:
        return str(response.json()["status_message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _pick_match(found: dict[str, Any], title_type: str) -> tuple[str, int] | None:
    """(media_type, TMDb id) of the find result, preferring the kind that matches the IMDb title type.

    The other kind is the fallback because the two catalogues disagree at the edges (an IMDb tvMovie or tvSpecial
    can be a TMDb tv show, an IMDb tvMiniSeries a TMDb movie).
    """
    kinds = ("tv", "movie") if title_type in SERIES_TITLE_TYPES else ("movie", "tv")
    for media_type in kinds:
        results = found.get(f"{media_type}_results") or []
        if results:
            tmdb_id = results[0].get("id")
            if not isinstance(tmdb_id, int):
                raise _TitleFailed(f"find answer has a {media_type} result without an integer id: {results[0]!r}")
            return media_type, tmdb_id
    return None


def _row(tconst: str, status: str, fetched_at: dt.datetime, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(TMDB_DETAILS_SCHEMA)
    row.update(tconst=tconst, status=status, fetched_at=fetched_at, **values)
    return row


def _found_row(tconst: str, media_type: str, details: dict[str, Any], fetched_at: dt.datetime) -> dict[str, Any]:
    date_field = "release_date" if media_type == "movie" else "first_air_date"
    date_text = details.get(date_field) or None  # TMDb sends "" for an unknown date
    try:
        release_date = dt.date.fromisoformat(date_text) if date_text else None
    except ValueError as error:
        raise _TitleFailed(f"{media_type} {details.get('id')}: bad {date_field} {date_text!r}") from error
    poster_path = _field(details, "poster_path", (str,))
    return _row(
        tconst,
        "found",
        fetched_at,
        tmdb_id=_field(details, "id", (int,)),
        media_type=media_type,
        budget=_field(details, "budget", (int,)),  # tv shows have neither budget nor revenue
        revenue=_field(details, "revenue", (int,)),
        popularity=_field(details, "popularity", (int, float)),
        vote_average=_field(details, "vote_average", (int, float)),
        vote_count=_field(details, "vote_count", (int,)),
        poster_url=f"{POSTER_BASE_URL}{poster_path}" if poster_path else None,
        release_date=release_date,
        original_language=_field(details, "original_language", (str,)),
    )


def _field(details: dict[str, Any], name: str, kinds: tuple[type, ...]) -> Any:
    """`details[name]` (None when absent), checked to be of the JSON type the output column needs."""
    value = details.get(name)
    if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
        expected = " or ".join(kind.__name__ for kind in kinds)
        raise _TitleFailed(f"details of TMDb id {details.get('id')}: {name} is {value!r}, expected {expected}")
    return value


def _cache_path(cache_dir: Path, tconst: str) -> Path:
    return cache_dir / f"{tconst}.json"


def _write_cache(cache_dir: Path, row: dict[str, Any]) -> None:
    """One small JSON file per title, replaced atomically so that a crash never leaves half an entry."""
    entry = {
        "cache_format": _CACHE_FORMAT,
        **row,
        "fetched_at": row["fetched_at"].isoformat(),
        "release_date": row["release_date"].isoformat() if row["release_date"] else None,
    }
    write_json_atomically(_cache_path(cache_dir, row["tconst"]), entry)


def _read_cache(cache_dir: Path, tconst: str, now: dt.datetime, max_age: dt.timedelta) -> dict[str, Any] | None:
    """The cached row of `tconst` when present and younger than `max_age`, else None (fetch it again)."""
    path = _cache_path(cache_dir, tconst)
    try:
        entry = json.loads(path.read_text())
        if entry["cache_format"] != _CACHE_FORMAT or entry["tconst"] != tconst:
            raise ValueError(f"written for {entry['tconst']!r} in cache format {entry['cache_format']!r}")
        fetched_at = dt.datetime.fromisoformat(entry["fetched_at"])
        age = now - fetched_at
        release_date = dt.date.fromisoformat(entry["release_date"]) if entry["release_date"] else None
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        _log.warning(f"TMDb cache {path} is unusable ({type(error).__name__}: {error}); fetching {tconst} again")
        return None
    if age > max_age:
        return None
    row = {name: entry.get(name) for name in TMDB_DETAILS_SCHEMA}
    row.update(fetched_at=fetched_at, release_date=release_date)
    return row


def _distinct_titles(tconsts: Sequence[tuple[str, str]]) -> dict[str, str]:
    """tconst -> title type, in first-seen order; fails on ids that are not IMDb title ids (they also name files)."""
    titles: dict[str, str] = {}
    for tconst, title_type in tconsts:
        if not isinstance(tconst, str) or not _TCONST.fullmatch(tconst):
            raise ValueError(f"TMDb enrichment: {tconst!r} is not an IMDb title id (tt followed by 7+ digits)")
        titles.setdefault(tconst, title_type)
    return titles


def _fresh_cached_rows(cache_dir: Path, titles: dict[str, str], max_age: dt.timedelta) -> dict[str, dict[str, Any]]:
    """tconst -> cached row, of the titles whose cache entry is younger than `max_age`."""
    now = dt.datetime.now(dt.UTC)
    rows: dict[str, dict[str, Any]] = {}
    for tconst in titles:
        cached = _read_cache(cache_dir, tconst, now, max_age)
        if cached is not None:
            rows[tconst] = cached
    return rows


async def _fetch_and_cache(
    fetcher: _TitleFetcher,
    pending: Sequence[tuple[str, str]],
    workers: int,
    cache_dir: Path,
    rows: dict[str, dict[str, Any]],
    summary: EnrichmentSummary,
) -> None:
    """Fetch the `pending` (tconst, title type) pairs with `workers` concurrent workers into `rows`, caching each
    answer (not the failures) and counting them in `summary`. The first error (TmdbAuthError) stops every worker,
    as does cancelling this coroutine."""
    titles = iter(pending)

    async def work() -> None:
        for tconst, title_type in titles:  # one iterator shared by all workers
            row = await fetcher.fetch_title(tconst, title_type)
            if row["status"] == "failed":
                summary.failed += 1
            else:
                _write_cache(cache_dir, row)
                summary.fetched += 1
            rows[tconst] = row

    tasks = [asyncio.create_task(work()) for _ in range(workers)]
    try:
        for finished in asyncio.as_completed(tasks):
            await finished  # the first error stops the loop ...
    finally:
        for task in tasks:  # ... and the other workers with it
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fetch_title_details(
    tconsts: Sequence[tuple[str, str]],
    *,
    base_url: str,
    api_key: str,
    cache_dir: Path,
    max_age: dt.timedelta,
    requests_per_second: float,
    max_concurrency: int,
    max_attempts: int,
    timeout_seconds: float,
    backoff_base_seconds: float = 0.5,
    log: logging.Logger | None = None,
) -> tuple[pl.DataFrame, EnrichmentSummary]:
    """TMDb details of (tconst, IMDb title type) pairs: one row per distinct tconst (schema
    `TMDB_DETAILS_SCHEMA`, input order) and the counts of the fetch.

    Fresh cache entries are used as they are; the other ids are fetched by `max_concurrency` workers sharing a
    `requests_per_second` limit. Each answer (found or not found) is cached at once; failures are not cached, so
    the next run tries them again. A 401 raises `TmdbAuthError` and cancels every request in flight.
    """
    if max_concurrency < 1 or max_attempts < 1:
        raise ValueError(f"max_concurrency ({max_concurrency}) and max_attempts ({max_attempts}) must be >= 1")
    log = log or _log
    api_key = api_key.strip()  # a key pasted into .env often carries a trailing newline or space
    titles = _distinct_titles(tconsts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    rows = _fresh_cached_rows(cache_dir, titles, max_age)
    summary = EnrichmentSummary(requested=len(titles), from_cache=len(rows))
    pending = [(tconst, title_type) for tconst, title_type in titles.items() if tconst not in rows]
    async with _http_client(base_url, api_key, max_concurrency, timeout_seconds) as client:
        fetcher = _TitleFetcher(
            client,
            _RateLimiter(requests_per_second),
            api_key_kind=_auth_description(api_key),
            max_attempts=max_attempts,
            backoff_base_seconds=backoff_base_seconds,
            log=log,
        )
        await _fetch_and_cache(fetcher, pending, max_concurrency, cache_dir, rows, summary)

    frame = pl.DataFrame([rows[tconst] for tconst in titles], schema=TMDB_DETAILS_SCHEMA)
    summary.not_found = frame.filter(pl.col("status") == "not_found").height
    return frame, summary


class TmdbClient(dg.ConfigurableResource):
    """TMDb API access for the optional enrichment of IMDb titles (budget, revenue, popularity, posters)."""

    api_key: str | None = Field(
        default=None,
        description="TMDb v3 API key or v4 API Read Access Token, from TMDB_API_KEY; empty = enrichment off.",
    )
    base_url: str = Field(default="https://api.themoviedb.org", description="TMDb API root (without /3).")
    requests_per_second: float = Field(default=20.0, description="Client-side rate limit (TMDb allows ~50).")
    max_concurrency: int = Field(default=8, description="Requests in flight at once.")
    max_attempts: int = Field(default=5, description="Tries per request on 429, 5xx and timeouts.")
    timeout_seconds: float = Field(default=10.0, description="Connect/read timeout of each request.")
    cache_max_age_days: float = Field(default=30.0, description="Cached answers older than this are fetched again.")

    @property
    def is_configured(self) -> bool:
        return bool(self.api_key and self.api_key.strip())

    def fetch(
        self, tconsts: Sequence[tuple[str, str]], cache_dir: Path, log: logging.Logger | None = None
    ) -> tuple[pl.DataFrame, EnrichmentSummary]:
        """TMDb details of (tconst, IMDb title type) pairs, cached in `cache_dir`; see `fetch_title_details`."""
        if not self.is_configured:
            raise TmdbAuthError(
                "TMDb enrichment needs an API key and none is configured: set the TMDB_API_KEY environment "
                "variable (e.g. in .env) to a TMDb v3 API key or v4 API Read Access Token, from "
                "https://www.themoviedb.org/settings/api (free account), then reload the code location."
            )
        return asyncio.run(
            fetch_title_details(
                tconsts,
                base_url=self.base_url,
                api_key=self.api_key,
                cache_dir=cache_dir,
                max_age=dt.timedelta(days=self.cache_max_age_days),
                requests_per_second=self.requests_per_second,
                max_concurrency=self.max_concurrency,
                max_attempts=self.max_attempts,
                timeout_seconds=self.timeout_seconds,
                log=log,
            )
        )
