"""A fake TMDb API on 127.0.0.1 for tests: real HTTP in a background thread, TMDb's JSON shapes, and knobs for the
failures a real run meets (401, 404, 429 with Retry-After, 5xx, slow or hanging answers).

Every request is recorded with its arrival time (time.monotonic, the clock asyncio uses) so that tests can check
rates, waits and which ids were asked for.
"""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

V3_API_KEY = "0123456789abcdef0123456789abcdef"
V4_READ_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJmYWtlLXRtZGIiLCJzY29wZXMiOlsiYXBpX3JlYWQiXX0.ZmFrZS1zaWduYXR1cmU"

INVALID_KEY_BODY = {
    "status_code": 7,
    "status_message": "Invalid API key: You must be granted a valid key.",
    "success": False,
}
NOT_FOUND_BODY = {
    "success": False,
    "status_code": 34,
    "status_message": "The resource you requested could not be found.",
}


def movie_details(imdb_id: str, tmdb_id: int, title: str, **values: Any) -> dict[str, Any]:
    """A `/3/movie/{id}` answer with every field TMDb sends; `values` override the defaults."""
    details = {
        "adult": False,
        "backdrop_path": None,
        "belongs_to_collection": None,
        "budget": 0,
        "genres": [{"id": 18, "name": "Drama"}],
        "homepage": "",
        "id": tmdb_id,
        "imdb_id": imdb_id,
        "origin_country": ["US"],
        "original_language": "en",
        "original_title": title,
        "overview": "",
        "popularity": 1.0,
        "poster_path": None,
        "production_companies": [],
        "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
        "release_date": "",
        "revenue": 0,
        "runtime": 100,
        "spoken_languages": [{"english_name": "English", "iso_639_1": "en", "name": "English"}],
        "status": "Released",
        "tagline": "",
        "title": title,
        "video": False,
        "vote_average": 0.0,
        "vote_count": 0,
    }
    details.update(values)
    return details


def tv_details(tmdb_id: int, name: str, **values: Any) -> dict[str, Any]:
    """A `/3/tv/{id}` answer with TMDb's fields (no budget, revenue nor imdb_id); `values` override the defaults."""
    details = {
        "adult": False,
        "backdrop_path": None,
        "created_by": [],
        "episode_run_time": [],
        "first_air_date": "",
        "genres": [{"id": 18, "name": "Drama"}],
        "homepage": "",
        "id": tmdb_id,
        "in_production": False,
        "languages": ["en"],
        "last_air_date": "",
        "name": name,
        "networks": [],
        "number_of_episodes": 10,
        "number_of_seasons": 1,
        "origin_country": ["US"],
        "original_language": "en",
        "original_name": name,
        "overview": "",
        "popularity": 1.0,
        "poster_path": None,
        "status": "Ended",
        "type": "Scripted",
        "vote_average": 0.0,
        "vote_count": 0,
    }
    details.update(values)
    return details


def _find_result(media_type: str, details: dict[str, Any]) -> dict[str, Any]:
    """The short form of a title inside a `/3/find` answer."""
    common = {
        key: details[key]
        for key in ("adult", "backdrop_path", "id", "original_language", "overview", "poster_path", "popularity")
    }
    common.update(
        media_type=media_type,
        genre_ids=[genre["id"] for genre in details["genres"]],
        vote_average=details["vote_average"],
        vote_count=details["vote_count"],
    )
    if media_type == "movie":
        common.update(
            title=details["title"],
            original_title=details["original_title"],
            release_date=details["release_date"],
            video=details["video"],
        )
    else:
        common.update(
            name=details["name"],
            original_name=details["original_name"],
            first_air_date=details["first_air_date"],
            origin_country=details["origin_country"],
        )
    return common


@dataclass(frozen=True)
class RecordedRequest:
    time: float
    """time.monotonic() at arrival."""
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class FakeTmdb:
    """A TMDb stand-in serving `catalogue` (IMDb id -> ("movie" | "tv", details answer)).

    Knobs, settable while it runs: `script(path, ...)` queues answers for a path before its normal one;
    `not_found_paths` answer 404; `delay_seconds` slows every answer; `hang_after(n)` makes every request after
    the first n wait until `release()` (or the server stops).
    """

    def __init__(self, catalogue: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.catalogue = catalogue
        self._details = {(kind, details["id"]): details for kind, details in catalogue.values()}
        self.not_found_paths: set[str] = set()
        self.delay_seconds = 0.0
        self._hang_after: int | None = None
        self._scripted: dict[str, deque[tuple[int, dict[str, str], dict[str, Any]]]] = {}
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-tmdb", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeTmdb":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> "FakeTmdb":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def script(self, path: str, *answers: tuple[int, dict[str, str]]) -> None:
        """Answer the next requests to `path` with these (status, headers), TMDb-style JSON bodies included."""
        bodies = {401: INVALID_KEY_BODY, 404: NOT_FOUND_BODY}
        generic = {"success": False, "status_code": 25, "status_message": "Your request count is over the limit."}
        with self._lock:
            queue = self._scripted.setdefault(path, deque())
            queue.extend((status, headers, bodies.get(status, generic)) for status, headers in answers)

    def hang_after(self, answered: int) -> None:
        """Answer until `answered` requests are recorded (see `clear_requests`), then hold every later one."""
        self._released.clear()
        self._hang_after = answered

    def release(self) -> None:
        """Let held requests go on, and stop holding new ones."""
        self._hang_after = None
        self._released.set()

    def times(self, path: str | None = None) -> list[float]:
        """Arrival times of the requests to `path` (all paths when None), in order."""
        with self._lock:
            return [request.time for request in self.requests if path is None or request.path == path]

    def paths(self) -> list[str]:
        with self._lock:
            return [request.path for request in self.requests]

    def requested_find_ids(self) -> list[str]:
        """The IMDb ids asked for with /3/find, in arrival order."""
        return [path.removeprefix("/3/find/") for path in self.paths() if path.startswith("/3/find/")]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    def _next_scripted(self, path: str) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        with self._lock:
            queue = self._scripted.get(path)
            return queue.popleft() if queue else None

    def _authorized(self, query: dict[str, list[str]], authorization: str | None) -> bool:
        return query.get("api_key") == [V3_API_KEY] or authorization == f"Bearer {V4_READ_TOKEN}"

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if path in self.not_found_paths:
            return 404, NOT_FOUND_BODY
        if len(parts) == 3 and parts[:2] == ["3", "find"]:
            if query.get("external_source") != ["imdb_id"]:
                return 400, {"success": False, "status_code": 22, "status_message": "Invalid parameters."}
            found: dict[str, list[Any]] = {
                "movie_results": [],
                "person_results": [],
                "tv_results": [],
                "tv_episode_results": [],
                "tv_season_results": [],
            }
            if parts[2] in self.catalogue:
                kind, details = self.catalogue[parts[2]]
                found[f"{kind}_results"].append(_find_result(kind, details))
            return 200, found
        if len(parts) == 3 and parts[0] == "3" and parts[1] in ("movie", "tv") and parts[2].isdigit():
            details = self._details.get((parts[1], int(parts[2])))
            return (200, details) if details is not None else (404, NOT_FOUND_BODY)
        return 404, NOT_FOUND_BODY

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                authorization = self.headers.get("Authorization")
                number = fake._record(RecordedRequest(time.monotonic(), url.path, query, authorization))
                if fake._hang_after is not None and number > fake._hang_after:
                    fake._released.wait(timeout=60)
                if fake.delay_seconds:
                    time.sleep(fake.delay_seconds)
                headers: dict[str, str] = {}
                if not fake._authorized(query, authorization):
                    status, body = 401, INVALID_KEY_BODY
                elif (scripted := fake._next_scripted(url.path)) is not None:
                    status, headers, body = scripted
                else:
                    status, body = fake._answer(url.path, query)
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout or cancelled run): nothing to answer to

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler
