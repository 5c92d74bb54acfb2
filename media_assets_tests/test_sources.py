"""The IMDb source resource (sample, file, http), the raw assets' header check and the raw files' stats."""

import datetime as dt
import gzip
import hashlib
import json
import os
import threading

import dagster as dg
import pytest

from media_assets.resources import DataLake, ImdbSource
from media_assets.sources.assets import raw_asset_key, raw_assets
from media_assets.sources.imdb_files import IMDB_FILES, NAME_BASICS, TITLE_BASICS, TITLE_RATINGS, ImdbFile
from media_assets.sources.raw_files import RawFileStats, raw_file_stats
from media_assets_tests.http_fixtures import LocalFileServer

RATINGS_GZ = gzip.compress(b"tconst\taverageRating\tnumVotes\ntt0000001\t5.7\t2150\n", mtime=0)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_sample_source_generates_a_day_once_and_reuses_it(tmp_path):
    source = ImdbSource(kind="sample", sample_scale=0.00003)
    day = dt.date(2026, 3, 1)
    first = [source.fetch(imdb_file, day, tmp_path) for imdb_file in IMDB_FILES]
    assert [fetched.fetched for fetched in first] == [True, False, False, False]
    contents = {fetched.path: fetched.path.read_bytes() for fetched in first}
    again = source.fetch(TITLE_BASICS, day, tmp_path)
    assert not again.fetched
    # Another scale is another snapshot: it is generated afresh.
    other = ImdbSource(kind="sample", sample_scale=0.00006).fetch(TITLE_BASICS, day, tmp_path)
    assert other.fetched and other.path.read_bytes() != contents[again.path]


def test_file_source_reads_the_days_folder_and_skips_unchanged_files(tmp_path):
    mirror = tmp_path / "mirror" / "2026-03-01"
    mirror.mkdir(parents=True)
    (mirror / TITLE_RATINGS.file_name).write_bytes(RATINGS_GZ)
    source = ImdbSource(kind="file", folder=str(tmp_path / "mirror" / "{date}"))
    raw_dir = tmp_path / "raw"
    first = source.fetch(TITLE_RATINGS, dt.date(2026, 3, 1), raw_dir)
    assert first.fetched and first.path.read_bytes() == RATINGS_GZ
    assert not source.fetch(TITLE_RATINGS, dt.date(2026, 3, 1), raw_dir).fetched
    with pytest.raises(FileNotFoundError, match=r"2026-03-02.*title\.ratings\.tsv\.gz"):
        source.fetch(TITLE_RATINGS, dt.date(2026, 3, 2), raw_dir)


def test_http_source_downloads_today_and_refuses_a_past_day_it_never_downloaded(tmp_path):
    with LocalFileServer({"/title.ratings.tsv.gz": RATINGS_GZ}) as server:
        source = ImdbSource(kind="http", base_url=server.url("/"), timeout_seconds=5)
        today = source.fetch(TITLE_RATINGS, _today(), tmp_path / "today")
        assert today.fetched and today.path.read_bytes() == RATINGS_GZ
        assert today.etag == server.file("/title.ratings.tsv.gz").etag

        with pytest.raises(FileNotFoundError, match="serves only the current snapshot"):
            source.fetch(TITLE_RATINGS, _today() - dt.timedelta(days=3), tmp_path / "past")
        # A past day downloaded on its day is kept, without asking the server (it now serves another snapshot).
        requests_before = len(server.requests)
        kept = source.fetch(TITLE_RATINGS, _today() - dt.timedelta(days=1), tmp_path / "today")
        assert not kept.fetched and len(server.requests) == requests_before


def test_raw_asset_with_a_wrong_header_fails_naming_file_expected_and_found(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / TITLE_RATINGS.file_name).write_bytes(gzip.compress(b"tconst\trating\tvotes\ntt0000001\t5.7\t2150\n"))
    result = dg.materialize(
        raw_assets,
        selection=[raw_asset_key(TITLE_RATINGS)],
        partition_key="2026-03-01",
        resources=_file_source_resources(mirror, tmp_path),
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert "title.ratings.tsv.gz" in message
    assert "expected: 'tconst\\taverageRating\\tnumVotes'" in message
    assert "found:    'tconst\\trating\\tvotes'" in message


def _raw_file_bytes(imdb_file: ImdbFile) -> bytes:
    """A one-row file with the official header; each file's bytes differ, and so do their checksums."""
    row = "\t".join([f"{imdb_file.dataset}-row"] * len(imdb_file.header_line.split("\t")))
    return gzip.compress(f"{imdb_file.header_line}\n{row}\n".encode(), mtime=0)


def _file_source_resources(mirror, tmp_path) -> dict:
    return {"imdb_source": ImdbSource(kind="file", folder=str(mirror)), "data_lake": DataLake(root=str(tmp_path))}


def _step_events(result: dg.ExecuteInProcessResult, event_type: dg.DagsterEventType) -> list[dg.DagsterEvent]:
    return [event for event in result.all_events if event.event_type == event_type]


def test_a_subset_of_the_raw_assets_fetches_only_its_files(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for imdb_file in IMDB_FILES:
        (mirror / imdb_file.file_name).write_bytes(_raw_file_bytes(imdb_file))
    result = dg.materialize(
        raw_assets,
        selection=[raw_asset_key(TITLE_RATINGS)],
        partition_key="2026-03-01",
        resources=_file_source_resources(mirror, tmp_path),
    )
    assert result.success
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [raw_asset_key(TITLE_RATINGS)]
    raw_dir = DataLake(root=str(tmp_path)).raw_dir("2026-03-01")
    assert sorted(path.name for path in raw_dir.glob("*.tsv.gz")) == [TITLE_RATINGS.file_name]


class _ServerAnsweringFourDownloadsAtOnce(LocalFileServer):
    """Holds every GET until four are waiting: files fetched one after the other would never get an answer."""

    def __init__(self, files: dict[str, bytes]):
        super().__init__(files)
        self.downloads_together = threading.Barrier(len(files), timeout=10)

    def _respond(self, handler, send_body: bool) -> None:
        if send_body:
            self.downloads_together.wait()
        super()._respond(handler, send_body)


def test_the_four_raw_files_are_downloaded_side_by_side_in_one_step(tmp_path):
    contents = {imdb_file: _raw_file_bytes(imdb_file) for imdb_file in IMDB_FILES}
    with _ServerAnsweringFourDownloadsAtOnce({f"/{f.file_name}": data for f, data in contents.items()}) as server:
        result = dg.materialize(
            raw_assets,
            partition_key=_today().isoformat(),
            resources={
                "imdb_source": ImdbSource(kind="http", base_url=server.url("/"), timeout_seconds=20, max_attempts=1),
                "data_lake": DataLake(root=str(tmp_path)),
            },
        )
        assert len(server.requests_to("/title.basics.tsv.gz", method="GET")) == 1
    assert result.success
    [step] = _step_events(result, dg.DagsterEventType.STEP_SUCCESS)
    materializations = _step_events(result, dg.DagsterEventType.ASSET_MATERIALIZATION)
    assert {event.step_key for event in materializations} == {step.step_key}
    by_key = {event.asset_key: event.step_materialization_data.materialization for event in materializations}
    # One materialization per file, in the files' order, each versioned by the checksum of the bytes served.
    assert list(by_key) == [raw_asset_key(imdb_file) for imdb_file in IMDB_FILES]
    for imdb_file, data in contents.items():
        materialization = by_key[raw_asset_key(imdb_file)]
        assert materialization.tags["dagster/data_version"] == hashlib.sha256(data).hexdigest(), imdb_file.dataset
        assert materialization.metadata["bytes"].value == len(data), imdb_file.dataset
        assert materialization.metadata["fetched"].value is True, imdb_file.dataset


def test_a_file_that_fails_fails_the_step_with_its_own_error_and_the_others_are_recorded(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for imdb_file in IMDB_FILES:
        if imdb_file != NAME_BASICS:
            (mirror / imdb_file.file_name).write_bytes(_raw_file_bytes(imdb_file))
    result = dg.materialize(
        raw_assets, partition_key="2026-03-01", resources=_file_source_resources(mirror, tmp_path), raise_on_error=False
    )
    assert not result.success
    [failure] = _step_events(result, dg.DagsterEventType.STEP_FAILURE)
    cause = failure.step_failure_data.error.cause
    assert cause.cls_name == "FileNotFoundError"
    assert f"{mirror / NAME_BASICS.file_name} does not exist" in cause.message
    assert [event.asset_key for event in result.get_asset_materialization_events()] == [
        raw_asset_key(imdb_file) for imdb_file in IMDB_FILES if imdb_file != NAME_BASICS
    ]


def test_raw_file_stats_are_size_and_sha256_of_the_file_as_stored(tmp_path):
    # A truncated gzip stream: the stats do not inflate the file, so they do not fail on it (the clean step does).
    raw_path = tmp_path / TITLE_RATINGS.file_name
    raw_path.write_bytes(RATINGS_GZ[:-5])
    assert raw_file_stats(raw_path) == RawFileStats(
        bytes=len(RATINGS_GZ) - 5, sha256=hashlib.sha256(RATINGS_GZ[:-5]).hexdigest()
    )
    cached = json.loads((tmp_path / "title.ratings.tsv.gz.stats.json").read_text())
    assert cached["stats"] == {"bytes": len(RATINGS_GZ) - 5, "sha256": hashlib.sha256(RATINGS_GZ[:-5]).hexdigest()}


def test_raw_file_stats_are_cached_by_size_and_mtime(tmp_path):
    raw_path = tmp_path / TITLE_RATINGS.file_name
    raw_path.write_bytes(RATINGS_GZ)
    first = raw_file_stats(raw_path)
    mtime_ns = raw_path.stat().st_mtime_ns
    # Other bytes of the same size and mtime are taken for the same file: the cache answers without reading it.
    other = bytes(len(RATINGS_GZ))
    raw_path.write_bytes(other)
    os.utime(raw_path, ns=(mtime_ns, mtime_ns))
    assert raw_file_stats(raw_path) == first
    # Another mtime is another file: read again.
    os.utime(raw_path, ns=(mtime_ns + 1_000_000_000, mtime_ns + 1_000_000_000))
    assert raw_file_stats(raw_path) == RawFileStats(bytes=len(other), sha256=hashlib.sha256(other).hexdigest())


def test_raw_file_stats_read_a_cache_written_with_a_row_count(tmp_path):
    raw_path = tmp_path / TITLE_RATINGS.file_name
    raw_path.write_bytes(RATINGS_GZ)
    stat = raw_path.stat()
    sha256 = hashlib.sha256(RATINGS_GZ).hexdigest()
    (tmp_path / "title.ratings.tsv.gz.stats.json").write_text(
        json.dumps(
            {
                "key": {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
                "stats": {"bytes": stat.st_size, "sha256": sha256, "rows": 1},
            }
        )
    )
    assert raw_file_stats(raw_path) == RawFileStats(bytes=len(RATINGS_GZ), sha256=sha256)
