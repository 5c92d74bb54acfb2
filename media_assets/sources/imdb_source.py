"""Where IMDb snapshots come from: one abstract resource, and one subclass per kind of source.

Each subclass holds its own settings and says only how to offer a day's file as a local file; archiving it
(verify, copy, rename, sidecars, the rules for published days and live sources) is `media_assets.sources.archive`,
the same for all. `media_assets.definitions` picks the subclass from the settings.
"""

import datetime as dt
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import dagster as dg
import httpx
from pydantic import Field

from media_assets.sources.archive import (
    ArchiveRequest,
    ArchiveResult,
    ReadAlong,
    SourceFile,
    archive_file,
    check_free_space,
)
from media_assets.sources.http_download import download_file, head_validators, last_modified_day
from media_assets.sources.imdb_files import ImdbFile
from media_assets.sources.sample_snapshots import sample_snapshot_folder

IMDB_BASE_URL = "https://datasets.imdbws.com/"
DEFAULT_SAMPLE_SCALE = 0.0005


class ImdbSource(dg.ConfigurableResource, ABC):
    """Where the four IMDb files of a day come from, and how they are archived under `raw/<day>/`."""

    kind: ClassVar[str]
    """`sample`, `file` or `http`: recorded in metadata, and how the release sensor tells sources apart."""

    refetch_published: bool = Field(
        default=False,
        description="Replace a published day's archived file when its source changed (env IMDB_REFETCH_PUBLISHED=1). "
        "Off: the change is reported and the archive kept.",
    )
    min_free_bytes: int = Field(
        default=256 << 20,
        description="Free space to leave on the data directory's file system after archiving a file.",
    )

    @property
    @abstractmethod
    def description(self) -> str:
        """The origin, in one phrase, as recorded in metadata."""

    @property
    def live(self) -> bool:
        """True when the source serves only its newest snapshot, like IMDb's URL: a past day then comes from the
        archive only, and a file equal to the latest archived day's is no new release."""
        return False

    @abstractmethod
    def offer(self, imdb_file: ImdbFile, snapshot_date: dt.date, cache_dir: Path) -> SourceFile:
        """The day's file as a local file to read (`cache_dir` is this source's own folder for downloads)."""

    def still_serves(self, imdb_file: ImdbFile, snapshot_date: dt.date) -> bool:
        """For a live source asked for a past day: whether what it serves now is still that day's snapshot."""
        return False

    def archive(
        self,
        imdb_file: ImdbFile,
        snapshot_date: dt.date,
        raw_root: Path,
        published: bool,
        read_along: ReadAlong | None = None,
    ) -> ArchiveResult:
        """Bring `raw_root/<day>/<file>` up to date from this source (see `media_assets.sources.archive`; a new file's
        text is handed to `read_along` as it is copied)."""
        request = ArchiveRequest(
            imdb_file=imdb_file,
            day=snapshot_date,
            raw_root=raw_root,
            source_name=self.description,
            live=self.live,
            published=published,
            refetch_published=self.refetch_published,
            min_free_bytes=self.min_free_bytes,
            serves_past_day=lambda: self.still_serves(imdb_file, snapshot_date),
        )
        return archive_file(
            request, lambda: self.offer(imdb_file, snapshot_date, raw_root / ".cache" / self.kind), read_along
        )


class SampleImdbSource(ImdbSource):
    """The built-in deterministic generator (offline): each day's four files are generated once, into the cache."""

    kind: ClassVar[str] = "sample"

    scale: float = Field(
        default=DEFAULT_SAMPLE_SCALE, description="1.0 is IMDb's full size (~12M titles); 0.0005 is ~6,000 titles."
    )
    seed: int = Field(default=42, description="Seed of the deterministic generator.")

    @property
    def description(self) -> str:
        return f"sample(scale={self.scale}, seed={self.seed})"

    def offer(self, imdb_file: ImdbFile, snapshot_date: dt.date, cache_dir: Path) -> SourceFile:
        folder = sample_snapshot_folder(cache_dir, snapshot_date, self.scale, self.seed)
        return SourceFile(folder / imdb_file.file_name, self.description, ours=True)


class FileImdbSource(ImdbSource):
    """A local folder of `.tsv.gz` files: with `{date}` in its path, a dated mirror (one folder per day); without,
    a live mirror that, like IMDb's URL, holds only the newest snapshot."""

    kind: ClassVar[str] = "file"

    folder: str = Field(description="Folder of the four .tsv.gz files; `{date}` is replaced by the partition day.")

    @property
    def description(self) -> str:
        return self.folder

    @property
    def live(self) -> bool:
        return "{date}" not in self.folder

    def source_path(self, imdb_file: ImdbFile, snapshot_date: dt.date) -> Path:
        """Where the mirror keeps this file for this day."""
        return Path(self.folder.replace("{date}", snapshot_date.isoformat())).expanduser() / imdb_file.file_name

    def offer(self, imdb_file: ImdbFile, snapshot_date: dt.date, cache_dir: Path) -> SourceFile:
        path = self.source_path(imdb_file, snapshot_date)
        if not path.is_file():
            raise FileNotFoundError(
                f"IMDb file source: {path} does not exist (folder={self.folder!r}, snapshot {snapshot_date})"
            )
        return SourceFile(path, str(path), ours=False)


class HttpImdbSource(ImdbSource):
    """IMDb's server (or one like it): today's snapshot only; conditional, resumable downloads into the cache."""

    kind: ClassVar[str] = "http"

    base_url: str = Field(default=IMDB_BASE_URL, description="Where the four files are served.")
    timeout_seconds: float = Field(default=60.0, description="Connect/read timeout.")
    max_attempts: int = Field(default=5, description="Tries per file on connection errors and 5xx.")

    @property
    def description(self) -> str:
        return self.base_url

    @property
    def live(self) -> bool:
        return True

    def url_of(self, imdb_file: ImdbFile) -> str:
        return self.base_url.rstrip("/") + "/" + imdb_file.file_name

    def still_serves(self, imdb_file: ImdbFile, snapshot_date: dt.date) -> bool:
        """True when the file's Last-Modified falls on `snapshot_date` (UTC), as the release sensor dates a release:
        a release seen just after midnight UTC is filed under its own day, and is still served then."""
        with httpx.Client(timeout=httpx.Timeout(self.timeout_seconds), follow_redirects=True) as client:
            _, last_modified = head_validators(client, self.url_of(imdb_file))
        return last_modified is not None and last_modified_day(last_modified) == snapshot_date

    def offer(self, imdb_file: ImdbFile, snapshot_date: dt.date, cache_dir: Path) -> SourceFile:
        url = self.url_of(imdb_file)
        cached = cache_dir / imdb_file.file_name
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Before the server answers, the previous download's size is the best guess of the next one's.
        check_free_space(cache_dir, cached.stat().st_size if cached.exists() else 0, self.min_free_bytes, url)
        with httpx.Client(timeout=httpx.Timeout(self.timeout_seconds), follow_redirects=True) as client:
            result = download_file(client, url, cached, max_attempts=self.max_attempts)
        served_day = last_modified_day(result.last_modified) if result.last_modified else None
        if snapshot_date < dt.datetime.now(dt.UTC).date() and served_day != snapshot_date:
            # IMDb refreshed between the check and the download: these are another day's files.
            raise FileNotFoundError(
                f"{url} now serves the snapshot of {served_day} (Last-Modified {result.last_modified}), no longer "
                f"the one of past day {snapshot_date}, which was not archived. Materialize today's partition instead."
            )
        return SourceFile(result.path, url, ours=True, etag=result.etag, last_modified=result.last_modified)
