"""Resources: where files live (`DataLake`), where IMDb snapshots come from (`ImdbSource`), model settings."""

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import dagster as dg
import httpx
from pydantic import Field

from media_assets.atomic_files import write_json_atomically
from media_assets.publish.state import PublishedState
from media_assets.sources.imdb_files import ImdbFile


class DataLake(dg.ConfigurableResource):
    """The data directory: raw snapshots, cleaned/model tables, quarantine, KPIs and the DuckDB warehouse."""

    root: str = Field(default="data", description="Base directory of every file the pipeline writes.")

    @property
    def root_path(self) -> Path:
        return Path(self.root).expanduser().resolve()

    @property
    def tables_dir(self) -> Path:
        """Where the IO manager keeps one Parquet file per asset and partition."""
        return self.root_path / "tables"

    def raw_dir(self, partition_key: str) -> Path:
        return self.root_path / "raw" / partition_key

    def quarantine_dir(self, partition_key: str) -> Path:
        return self.root_path / "quarantine" / partition_key

    def kpi_dir(self, partition_key: str) -> Path:
        return self.root_path / "kpis" / partition_key

    def quality_dir(self, partition_key: str) -> Path:
        """The day's quality reports: `quality.json` (latest attempt) and `attempts/<run id>.json`."""
        return self.root_path / "quality" / partition_key

    @property
    def published(self) -> PublishedState:
        """Which days readers may see (see `media_assets.publish.state`)."""
        return PublishedState(self.root_path)

    def table_path(self, asset_name: str, partition_key: str) -> Path:
        """The Parquet file the IO manager writes for an asset's partition."""
        return self.tables_dir / asset_name / f"{partition_key}.parquet"

    @property
    def tmdb_cache_dir(self) -> Path:
        """One JSON answer per title, so TMDb enrichment reruns ask only for new or stale titles."""
        return self.root_path / "cache" / "tmdb"

    @property
    def warehouse_path(self) -> Path:
        return self.root_path / "warehouse.duckdb"


@dataclass(frozen=True)
class FetchedFile:
    """A raw IMDb file placed in the raw folder of a partition."""

    path: Path
    origin: str
    """The URL, folder or sample parameters the file came from."""
    fetched: bool
    """False when the file already in place was kept (unchanged upstream)."""
    etag: str | None = None
    last_modified: str | None = None


SourceKind = Literal["sample", "http", "file"]


class ImdbSource(dg.ConfigurableResource):
    """Where IMDb snapshots come from: the built-in `sample` generator (offline), IMDb's `http` server, or a local
    `file` mirror."""

    kind: SourceKind = Field(default="sample", description="sample | http | file")
    base_url: str = Field(
        default="https://datasets.imdbws.com/", description="For kind=http: where the four files are served."
    )
    folder: str = Field(
        default="",
        description="For kind=file: folder holding the four .tsv.gz files; `{date}` is replaced by the partition day.",
    )
    sample_scale: float = Field(
        default=0.0005, description="For kind=sample: 1.0 is IMDb's full size (~12M titles); 0.0005 is ~6,000 titles."
    )
    sample_seed: int = Field(default=42, description="For kind=sample: seed of the deterministic generator.")
    timeout_seconds: float = Field(default=60.0, description="For kind=http: connect/read timeout.")
    max_attempts: int = Field(default=5, description="For kind=http: tries per file on connection errors and 5xx.")

    @property
    def description(self) -> str:
        """The origin, in one phrase, as recorded in metadata."""
        if self.kind == "http":
            return self.base_url
        if self.kind == "file":
            return self.folder
        return f"sample(scale={self.sample_scale}, seed={self.sample_seed})"

    def url_of(self, imdb_file: ImdbFile) -> str:
        return self.base_url.rstrip("/") + "/" + imdb_file.file_name

    def source_path(self, imdb_file: ImdbFile, snapshot_date: dt.date) -> Path:
        """For kind=file: where the user's mirror keeps this file for this day."""
        return Path(self.folder.replace("{date}", snapshot_date.isoformat())).expanduser() / imdb_file.file_name

    def fetch(self, imdb_file: ImdbFile, snapshot_date: dt.date, dest_dir: Path) -> FetchedFile:
        """Place the snapshot of `imdb_file` for `snapshot_date` in `dest_dir`, reusing what is already there."""
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / imdb_file.file_name
        if self.kind == "sample":
            return self._fetch_sample(imdb_file, snapshot_date, dest)
        if self.kind == "file":
            return self._fetch_file(imdb_file, snapshot_date, dest)
        if self.kind == "http":
            return self._fetch_http(imdb_file, snapshot_date, dest)
        raise ValueError(f"unknown IMDb source kind {self.kind!r}: use sample, http or file")

    def _fetch_sample(self, imdb_file: ImdbFile, snapshot_date: dt.date, dest: Path) -> FetchedFile:
        from media_assets.sample.generator import write_sample_snapshot

        origin = self.description
        # The generator writes the four files of a day at once: the first fetch to arrive generates them all, under
        # a lock so that fetches running side by side (threads, or runs) do not generate the same day twice.
        with _folder_lock(dest.parent):
            if _recorded_origin(dest) == origin:
                return FetchedFile(dest, origin, fetched=False)
            written = write_sample_snapshot(dest.parent, snapshot_date, self.sample_scale, self.sample_seed)
            for path in written.values():
                _record_origin(path, origin)
        return FetchedFile(dest, origin, fetched=True)

    def _fetch_file(self, imdb_file: ImdbFile, snapshot_date: dt.date, dest: Path) -> FetchedFile:
        source = self.source_path(imdb_file, snapshot_date)
        if not source.is_file():
            raise FileNotFoundError(
                f"IMDb file source: {source} does not exist (folder={self.folder!r}, snapshot {snapshot_date})"
            )
        stat = source.stat()
        origin = f"{source} (size={stat.st_size}, mtime={int(stat.st_mtime)})"
        if dest.exists() and _recorded_origin(dest) == origin:
            return FetchedFile(dest, str(source), fetched=False)
        _link_or_copy(source, dest)
        _record_origin(dest, origin)
        return FetchedFile(dest, str(source), fetched=True)

    def _fetch_http(self, imdb_file: ImdbFile, snapshot_date: dt.date, dest: Path) -> FetchedFile:
        from media_assets.sources.http_download import download_file

        url = self.url_of(imdb_file)
        if snapshot_date < dt.datetime.now(dt.UTC).date():
            # IMDb serves only the current snapshot: downloading now would file today's data under a past day.
            if dest.exists():
                return FetchedFile(dest, url, fetched=False)
            raise FileNotFoundError(
                f"{imdb_file.file_name} for past snapshot {snapshot_date} was not downloaded on that day, and "
                f"{self.base_url} serves only the current snapshot. Materialize today's partition instead, or use "
                "the `file` source with a mirror that kept that day."
            )
        timeout = httpx.Timeout(self.timeout_seconds)
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            result = download_file(client, url, dest, max_attempts=self.max_attempts)
        return FetchedFile(dest, url, result.downloaded, result.etag, result.last_modified)


class ModelSettings(dg.ConfigurableResource):
    """What the star schema covers and how ratings are banded."""

    title_types: list[str] = Field(
        default=["movie", "tvMovie", "tvSeries", "tvMiniSeries"],
        description="Title types in the model (episodes, shorts and video games are left out by default).",
    )
    facts_rated_only: bool = Field(
        default=True, description="Keep only rated titles in the facts (the architecture document's choice)."
    )
    medium_votes_from: int = Field(default=1_000, description="vote_tier is medium from this many votes.")
    high_votes_from: int = Field(default=100_000, description="vote_tier is high from this many votes.")


def _meta_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".origin.json")


def _recorded_origin(dest: Path) -> str | None:
    meta = _meta_path(dest)
    if not (dest.exists() and meta.exists()):
        return None
    return json.loads(meta.read_text()).get("origin")


def _record_origin(dest: Path, origin: str) -> None:
    write_json_atomically(_meta_path(dest), {"origin": origin})


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    with (folder / ".lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _link_or_copy(source: Path, dest: Path) -> None:
    """Hard-link when on the same file system (instant, no extra space), else copy; atomic either way."""
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, dest)
