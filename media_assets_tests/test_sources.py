"""The IMDb source resource (sample, file, http), the raw assets' header check and the raw files' stats."""

import datetime as dt
import gzip
import hashlib
import json
import os

import dagster as dg
import pytest

from media_assets.resources import DataLake, ImdbSource
from media_assets.sources.assets import build_raw_asset
from media_assets.sources.imdb_files import IMDB_FILES, TITLE_BASICS, TITLE_RATINGS
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
        [build_raw_asset(TITLE_RATINGS)],
        partition_key="2026-03-01",
        resources={
            "imdb_source": ImdbSource(kind="file", folder=str(mirror)),
            "data_lake": DataLake(root=str(tmp_path)),
        },
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert "title.ratings.tsv.gz" in message
    assert "expected: 'tconst\\taverageRating\\tnumVotes'" in message
    assert "found:    'tconst\\trating\\tvotes'" in message


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
