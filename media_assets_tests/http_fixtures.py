"""A real HTTP file server on 127.0.0.1 for tests, with knobs to misbehave; no remote host is ever contacted.

    with LocalFileServer({"/title.basics.tsv.gz": gz_bytes}) as server:
        response = httpx.get(server.url("title.basics.tsv.gz"))
        server.set_file("/title.basics.tsv.gz", new_bytes)   # a new release: new content, ETag, Last-Modified
        server.fail_next("/title.basics.tsv.gz", times=2)    # the next 2 requests get 503
        server.cut_next("/title.basics.tsv.gz", after_bytes=1000)  # next GET body breaks after 1000 bytes
        server.ranges_enabled = False                        # ignore Range, always 200 (like some proxies)
        assert server.requests_to("/title.basics.tsv.gz")[-1].status == 304

It speaks HTTP/1.1 with keep-alive and serves files held in memory with:
- `ETag` (strong, from the content) and `Last-Modified` on 200, 206, 304 and HEAD;
- 304 on a matching `If-None-Match` (or, without it, `If-Modified-Since` not older than the file);
- `Range: bytes=a-` / `bytes=a-b` (one range) with `If-Range` (ETag or exact date) -> 206 with `Content-Range`,
  416 (`Content-Range: bytes */<length>`) when the start is past the end, 200 when If-Range does not match;
- 404 for unknown paths; HEAD answers like GET without a body.
Every request is recorded (method, path, headers with lower-case names, status, body bytes sent).
A truncated or corrupt file is served by passing those bytes as the content.
"""

import email.utils
import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

_FIRST_LAST_MODIFIED = 1_700_000_000.0  # 2023-11-14; each set_file moves the clock on by a minute
_SINGLE_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass(frozen=True)
class ServedFile:
    """One file as the server currently serves it."""

    content: bytes
    etag: str
    """Quoted strong ETag, e.g. `"3f2a..."`."""
    last_modified: float
    """Epoch seconds (whole)."""

    @property
    def last_modified_header(self) -> str:
        """The `Last-Modified` value, e.g. `Tue, 14 Nov 2023 22:13:20 GMT`."""
        return email.utils.formatdate(self.last_modified, usegmt=True)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server answered."""

    method: str
    path: str
    headers: Mapping[str, str]
    """Request headers, names in lower case."""
    status: int
    body_bytes_sent: int


class LocalFileServer:
    """Threaded HTTP server on 127.0.0.1 (a free port) serving `files` ({"/path": bytes}); see module docs."""

    def __init__(self, files: Mapping[str, bytes] | None = None):
        self.ranges_enabled = True
        self._lock = threading.Lock()
        self._files: dict[str, ServedFile] = {}
        self._clock = _FIRST_LAST_MODIFIED
        self._failures: dict[str, list[int]] = {}
        self._cuts: dict[str, list[int]] = {}
        self._requests: list[RecordedRequest] = []
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for path, content in (files or {}).items():
            self.set_file(path, content)

    @classmethod
    def from_folder(cls, folder: Path) -> "LocalFileServer":
        """Serve every file under `folder` at `/<relative path>`."""
        return cls({"/" + p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()})

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> "LocalFileServer":
        handler = type("_BoundHandler", (_Handler,), {"owner": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True  # keep-alive connections left open by clients must not block stop()
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="LocalFileServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            assert self._thread is not None
            self._thread.join()
            self._http = self._thread = None

    def __enter__(self) -> "LocalFileServer":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this server (a leading `/` is optional)."""
        if self._http is None:
            raise RuntimeError("LocalFileServer is not running: use it as a context manager or call start()")
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/{path.lstrip('/')}"

    # -- content and knobs -----------------------------------------------------------------------------------
    def set_file(
        self, path: str, content: bytes, *, etag: str | None = None, last_modified: float | None = None
    ) -> ServedFile:
        """Serve `content` at `path` (adding or replacing); ETag defaults to a content hash, Last-Modified to a
        clock that moves on one minute per call, so a replaced file always looks newer."""
        with self._lock:
            self._clock += 60
            served = ServedFile(
                content,
                etag if etag is not None else f'"{hashlib.sha256(content).hexdigest()[:24]}"',
                float(int(last_modified if last_modified is not None else self._clock)),
            )
            self._files[_normalise(path)] = served
            return served

    def file(self, path: str) -> ServedFile:
        with self._lock:
            return self._files[_normalise(path)]

    def fail_next(self, path: str, times: int = 1, status: int = 503) -> None:
        """The next `times` requests to `path` (any method) get `status` with a short body."""
        with self._lock:
            self._failures.setdefault(_normalise(path), []).extend([status] * times)

    def cut_next(self, path: str, after_bytes: int, times: int = 1) -> None:
        """The next `times` GETs of `path` announce the full length, send `after_bytes` body bytes, then close."""
        with self._lock:
            self._cuts.setdefault(_normalise(path), []).extend([after_bytes] * times)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The requests to `path`, optionally only those with `method` (e.g. "GET")."""
        path = _normalise(path)
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    # -- request handling (called on the server's threads) ----------------------------------------------------
    def _respond(self, handler: BaseHTTPRequestHandler, send_body: bool) -> None:
        path = _normalise(urlsplit(handler.path).path)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            served = self._files.get(path)
            failure = _pop_first(self._failures, path)
            cut_after = _pop_first(self._cuts, path) if send_body else None
            ranges_enabled = self.ranges_enabled
        if failure is not None:
            status, response_headers, body = failure, {}, b"injected failure\n"
        elif served is None:
            status, response_headers, body = 404, {}, b"not found\n"
        else:
            status, response_headers, body = _answer(served, headers, ranges_enabled)
        sent = body if cut_after is None else body[:cut_after]
        # Recorded before answering, so a client that has its response always finds its request here.
        with self._lock:
            self._requests.append(
                RecordedRequest(handler.command, path, headers, status, len(sent) if send_body else 0)
            )
        handler.send_response(status)
        for name, value in response_headers.items():
            handler.send_header(name, value)
        if status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if send_body and status != 304:
            handler.wfile.write(sent)
        if cut_after is not None:
            handler.close_connection = True  # the client sees the connection end before Content-Length bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: LocalFileServer

    def do_GET(self) -> None:
        self.owner._respond(self, send_body=True)

    def do_HEAD(self) -> None:
        self.owner._respond(self, send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request log on stderr."""


def _answer(served: ServedFile, headers: Mapping[str, str], ranges_enabled: bool) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for a request to an existing file, per RFC 9110's precondition order."""
    validators = {"ETag": served.etag, "Last-Modified": served.last_modified_header}
    if _not_modified(served, headers):
        return 304, validators, b""
    content = served.content
    base = {**validators, "Content-Type": "application/octet-stream"}
    if ranges_enabled:
        base["Accept-Ranges"] = "bytes"
        match = _SINGLE_RANGE.fullmatch(headers.get("range", "").replace(" ", ""))
        if match is not None and _if_range_holds(served, headers.get("if-range")):
            start = int(match.group(1))
            end = min(int(match.group(2)), len(content) - 1) if match.group(2) else len(content) - 1
            if start >= len(content) or start > end:
                return 416, {**base, "Content-Range": f"bytes */{len(content)}"}, b""
            return 206, {**base, "Content-Range": f"bytes {start}-{end}/{len(content)}"}, content[start : end + 1]
    return 200, base, content


def _not_modified(served: ServedFile, headers: Mapping[str, str]) -> bool:
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:  # when present, If-Modified-Since is ignored
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or served.etag.removeprefix("W/") in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError):
        return False
    return served.last_modified <= since


def _if_range_holds(served: ServedFile, if_range: str | None) -> bool:
    if if_range is None:
        return True
    if if_range.startswith('"'):  # strong comparison; a weak ETag never matches
        return not served.etag.startswith("W/") and if_range == served.etag
    return if_range == served.last_modified_header


def _pop_first(queues: dict[str, list[int]], path: str) -> int | None:
    queue = queues.get(path)
    return queue.pop(0) if queue else None


def _normalise(path: str) -> str:
    return "/" + path.lstrip("/")
