"""Robust HTTP download of one file: conditional GET, resume, retries, atomic replace.

Files kept beside `dest`:
- `<dest>.meta.json`: what `dest` is (`url`, `etag`, `last_modified`, `bytes`, `sha256`, `downloaded_at`); its
  validators make the next call a conditional GET, so an unchanged file costs one 304.
- `<dest>.part` + `<dest>.part.meta.json`: a transfer in progress or broken; the next attempt (in this call or a
  later one) asks only for the missing bytes (`Range` + `If-Range`, so a changed file is never spliced).

The caller's `httpx.Client` owns timeouts and redirects. Expected: `follow_redirects=True`; a connect timeout
of ~10-30 s and a read timeout of ~30-120 s (the longest silence tolerated between two chunks); no overall
deadline, since IMDb's largest file (title.principals, ~740 MB) takes minutes. A timeout or broken connection is
retried here, resuming from the bytes already on disk.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import httpx

from media_assets.atomic_files import write_json_atomically

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20
_MAX_BACKOFF_SECONDS = 60.0
# Identity: a server must not compress the (already gzip) body again, which would also break byte ranges and
# may give the compressed variant a different ETag than HEAD reports.
_IDENTITY = {"Accept-Encoding": "identity"}
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", re.IGNORECASE)


@dataclass(frozen=True)
class DownloadResult:
    """What `download_file` left at `path`."""

    path: Path
    url: str
    downloaded: bool
    """False when the server answered 304: the file at `path` was already current and was not touched."""
    bytes: int
    etag: str | None
    last_modified: str | None
    resumed: bool
    """True when part of the file came from an earlier, broken transfer (HTTP 206)."""
    attempts: int
    """GET requests made in this call."""
    sha256: str | None = None
    """Hex SHA-256 of the file (None only for a 304 on a file whose metadata predates this field)."""


class DownloadError(RuntimeError):
    """A download failed for good; the message names the URL or file and what went wrong."""


def download_file(
    client: httpx.Client, url: str, dest: Path, *, max_attempts: int = 5, backoff_seconds: float = 1.0
) -> DownloadResult:
    """Download the file at `url` to `dest` unless `dest` is already current.

    Streams to `<dest>.part` (hashing as it goes), then atomically replaces `dest`. The content is not checked
    here: the raw archive verifies every file it takes, whatever its source (`media_assets.sources.archive`).
    Connection errors, timeouts, 408/429 and 5xx are retried with exponential backoff (`backoff_seconds`, doubled
    each time, plus up to 10% jitter) up to `max_attempts` failures, each retry resuming from the bytes already on
    disk. Any other 4xx fails at once.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    dest = Path(dest)
    meta_path = _meta_path(dest)
    current = _current_meta(dest, meta_path, url)
    part = _PartFile.from_disk(dest.with_name(dest.name + ".part"), url)
    outcome, requests = _request_with_retries(client, url, current, part, max_attempts, backoff_seconds)
    if outcome is _Outcome.NOT_MODIFIED:
        assert current is not None  # a 304 is only accepted after a conditional request
        part.discard()  # a broken transfer of a version that is no longer current
        return _result(dest, current, downloaded=False, resumed=False, attempts=requests)

    meta = {
        "url": url,
        "etag": part.etag,
        "last_modified": part.last_modified,
        "bytes": part.size,
        "sha256": part.sha256.hexdigest(),
        "downloaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    os.replace(part.path, dest)
    # Meta after the file: a crash in between leaves a file without meta (re-downloaded next time), never a meta
    # that vouches for an older file.
    write_json_atomically(meta_path, meta)
    part.meta_path.unlink(missing_ok=True)
    return _result(dest, meta, downloaded=True, resumed=part.resumed, attempts=requests)


def _request_with_retries(
    client: httpx.Client,
    url: str,
    current: dict[str, Any] | None,
    part: _PartFile,
    max_attempts: int,
    backoff_seconds: float,
) -> tuple[_Outcome, int]:
    """GET until the part file is complete or the server says `dest` is current: the outcome, and the requests
    made. Retryable failures wait with backoff, up to `max_attempts` of them; the others fail at once."""
    failures = 0
    requests = 0
    while True:
        requests += 1
        try:
            outcome = _request_once(client, url, current, part)
        except (*_RETRYABLE_ERRORS, _RetryableStatus) as error:
            failures += 1
            if failures >= max_attempts:
                raise DownloadError(
                    f"GET {url}: gave up after {failures} failed attempts; last error: {_describe(error)}"
                ) from error
            delay = min(backoff_seconds * 2 ** (failures - 1), _MAX_BACKOFF_SECONDS)
            delay += random.uniform(0, delay / 10)
            logger.warning(
                "GET %s failed (%s); attempt %d of %d in %.1f s, keeping %d bytes already received",
                url,
                _describe(error),
                failures + 1,
                max_attempts,
                delay,
                part.size,
            )
            time.sleep(delay)
            continue
        except httpx.HTTPError as error:  # not transient: a bad URL or scheme, too many redirects, ...
            raise DownloadError(f"GET {url}: {_describe(error)}") from error
        if outcome is not _Outcome.RESTART:
            return outcome, requests


def _result(dest: Path, meta: dict[str, Any], *, downloaded: bool, resumed: bool, attempts: int) -> DownloadResult:
    """What a call left at `dest`, from the metadata that describes the file there."""
    return DownloadResult(
        path=dest,
        url=meta["url"],
        downloaded=downloaded,
        bytes=meta["bytes"],
        etag=meta.get("etag"),
        last_modified=meta.get("last_modified"),
        resumed=resumed,
        attempts=attempts,
        sha256=meta.get("sha256"),
    )


def head_validators(client: httpx.Client, url: str) -> tuple[str | None, str | None]:
    """`(etag, last_modified)` of `url` from one HEAD request, to notice a new release without downloading it."""
    try:
        response = client.head(url, headers=_IDENTITY)
    except httpx.HTTPError as error:
        raise DownloadError(f"HEAD {url}: {_describe(error)}") from error
    if not response.is_success:
        raise DownloadError(f"HEAD {url}: HTTP {response.status_code} {response.reason_phrase}")
    return response.headers.get("ETag"), response.headers.get("Last-Modified")


def last_modified_day(last_modified: str) -> dt.date:
    """The UTC date of a `Last-Modified` value: the day of the snapshot IMDb's server serves (it refreshes once a
    day)."""
    return email.utils.parsedate_to_datetime(last_modified).astimezone(dt.UTC).date()


class _Outcome(Enum):
    COMPLETE = "the part file holds the whole body"
    NOT_MODIFIED = "304: dest is current"
    RESTART = "the partial content was unusable and was discarded; ask again from byte 0"


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code} {response.reason_phrase}")


class _PartFile:
    """`<dest>.part`, the validators of the version it holds, and a running SHA-256 of its bytes."""

    def __init__(self, path: Path, url: str):
        self.path = path
        self.meta_path = _meta_path(path)
        self.url = url
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.resumed = False

    @classmethod
    def from_disk(cls, path: Path, url: str) -> _PartFile:
        """Pick up a broken earlier transfer of `url` if it can be resumed safely, else discard it."""
        part = cls(path, url)
        meta = _read_json(part.meta_path)
        if not path.exists() or meta is None or meta.get("url") != url:
            part.discard()
            return part
        part.etag, part.last_modified = meta.get("etag"), meta.get("last_modified")
        if part.if_range() is None:
            part.discard()
            return part
        # The final SHA-256 covers the whole file, so the bytes already on disk are hashed first.
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK_BYTES):
                part.sha256.update(chunk)
                part.size += len(chunk)
        return part

    def if_range(self) -> str | None:
        """The validator for If-Range: a strong ETag, else Last-Modified (weak ETags are not allowed there)."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified

    def start_over(self, response: httpx.Response) -> None:
        """Empty the part file and record the validators of the version `response` is about to deliver."""
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.resumed = False
        self.etag = response.headers.get("ETag")
        self.last_modified = response.headers.get("Last-Modified")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"")
        write_json_atomically(self.meta_path, {"url": self.url, "etag": self.etag, "last_modified": self.last_modified})

    def append(self, response: httpx.Response) -> None:
        """Stream the body onto the part file; size and hash always match what is on disk, even if it breaks."""
        with self.path.open("ab") as file:
            for chunk in response.iter_raw(_CHUNK_BYTES):
                file.write(chunk)
                self.sha256.update(chunk)
                self.size += len(chunk)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.resumed = False


def _request_once(client: httpx.Client, url: str, current: dict[str, Any] | None, part: _PartFile) -> _Outcome:
    """One GET. Conditional on `dest`'s validators, and a range request when a resumable part exists.

    Servers evaluate If-None-Match before If-Range (RFC 9110 §13.2.2), so one request covers all cases: 304 if
    `dest` is current, 206 if the part's version is still served, 200 (start over) otherwise.
    """
    headers = dict(_IDENTITY)
    if current is not None:
        if current.get("etag"):
            headers["If-None-Match"] = current["etag"]
        if current.get("last_modified"):
            headers["If-Modified-Since"] = current["last_modified"]
    if_range = part.if_range()
    ranged = part.size > 0 and if_range is not None
    if ranged:
        headers["Range"] = f"bytes={part.size}-"
        headers["If-Range"] = if_range
    with client.stream("GET", url, headers=headers) as response:
        status = response.status_code
        if status == 304 and current is not None:
            return _Outcome.NOT_MODIFIED
        if status == 200:  # also when the server ignored the range or the file changed since the part began
            part.start_over(response)
            part.append(response)
            return _Outcome.COMPLETE
        if status == 206 and ranged:
            start, _ = _content_range(response)
            if start != part.size:
                logger.warning("GET %s: 206 starts at byte %s, not %d; starting over", url, start, part.size)
                part.discard()
                return _Outcome.RESTART
            part.resumed = True
            part.append(response)
            return _Outcome.COMPLETE
        if status == 416 and ranged:
            _, total = _content_range(response)
            if total == part.size:  # the earlier transfer had in fact received every byte
                part.resumed = True
                return _Outcome.COMPLETE
            logger.warning("GET %s: range from byte %d not satisfiable; starting over", url, part.size)
            part.discard()
            return _Outcome.RESTART
        if status in (408, 429) or status >= 500:
            raise _RetryableStatus(response)
        hint = " (redirects are not followed: use httpx.Client(follow_redirects=True))" if 300 <= status < 400 else ""
        raise DownloadError(f"GET {url}: HTTP {status} {response.reason_phrase}{hint}")


def _content_range(response: httpx.Response) -> tuple[int | None, int | None]:
    """(first byte, total length) from a Content-Range header; None where absent or `*`."""
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if match is None:
        return None, None
    first, total = match.groups()
    return (int(first) if first else None), (int(total) if total != "*" else None)


def _current_meta(dest: Path, meta_path: Path, url: str) -> dict[str, Any] | None:
    """`dest`'s recorded validators, if `dest` exists and is the file that metadata describes."""
    meta = _read_json(meta_path)
    if meta is None or not dest.exists():
        return None
    if meta.get("url") != url or meta.get("bytes") != dest.stat().st_size:
        return None
    return meta


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        # Only a cache of validators: unreadable means "download again", not a failed run.
        logger.warning("ignoring unreadable download metadata %s: %s", path, error)
        return None
    return value if isinstance(value, dict) else None


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
