"""IMDb's current release as the triggers see it: the validators of the four files and the snapshot day they stand
for, read without downloading anything (plain functions; the schedule and the release sensor decide with them).

- `http`: ETag and Last-Modified of `<base_url>/<file>` (one HEAD each). The release's day is the UTC date of the
  files' Last-Modified (all four the same day, else the release is still in progress): IMDb refreshes once a day,
  so a tick before the refresh sees yesterday's files as yesterday's, never as today's.
- `file`: size and modification time of the four files in the folder of the day (`{date}` in the folder is the
  day); a missing file means the release is not complete yet.
- `sample`: the generator makes any day on demand: there are no releases.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from media_assets.settings import ImdbSourceSettings
from media_assets.sources.http_download import head_validators, last_modified_day
from media_assets.sources.imdb_files import IMDB_FILES

HEAD_TIMEOUT_SECONDS = 10.0
"""Per HEAD request; four of them stay well within the 60 s a sensor or schedule tick may take."""


class ReleaseIncomplete(Exception):
    """The files of the current release cannot all be seen yet; the message says what is missing."""


@dataclass(frozen=True)
class Release:
    day: dt.date
    """The snapshot day the files stand for (the partition to run)."""
    validators: Mapping[str, str]
    """`{file name: "etag=...; last-modified=..."}` (http) or `{file name: "size=...; mtime_ns=..."}` (file)."""

    @property
    def id(self) -> str:
        """A short, stable fingerprint: the same four validators always give the same id."""
        canonical = json.dumps(dict(sorted(self.validators.items())), separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def current_release(source: ImdbSourceSettings, today: dt.date) -> Release:
    """The release `source` serves now (`today`: the current UTC date, the day of a `file` release)."""
    if source.kind == "http":
        return http_release(source)
    if source.kind == "file":
        return file_release(source, today)
    raise ValueError(f"the {source.kind} source has no releases")


def http_release(source: ImdbSourceSettings) -> Release:
    validators, days = {}, []
    with httpx.Client(timeout=HEAD_TIMEOUT_SECONDS, follow_redirects=True) as client:
        for imdb_file in IMDB_FILES:
            url = source.url_of(imdb_file.file_name)
            etag, last_modified = head_validators(client, url)
            if last_modified is None:
                raise ValueError(
                    f"HEAD {url}: the server sends no Last-Modified, so the day of its snapshot cannot be told; "
                    "use the file source with a mirror that keeps each day in its own folder."
                )
            days.append(last_modified_day(last_modified))
            validators[imdb_file.file_name] = f"etag={etag}; last-modified={last_modified}"
    if len(set(days)) > 1:
        dates = ", ".join(f"{name} of {day}" for name, day in zip(validators, days, strict=True))
        raise ReleaseIncomplete(f"Release in progress: the files are of different days ({dates}).")
    return Release(day=days[0], validators=validators)


def file_release(source: ImdbSourceSettings, today: dt.date) -> Release:
    folder = source.folder_of(today)
    validators, missing = {}, []
    for imdb_file in IMDB_FILES:
        path = folder / imdb_file.file_name
        try:
            stat = path.stat()
        except FileNotFoundError:
            missing.append(str(path))
            continue
        validators[imdb_file.file_name] = f"size={stat.st_size}; mtime_ns={stat.st_mtime_ns}"
    if missing:
        raise ReleaseIncomplete(
            f"Waiting for the release of {today}: {len(missing)} of {len(IMDB_FILES)} files not there yet "
            f"({', '.join(missing)})."
        )
    return Release(day=today, validators=validators)
