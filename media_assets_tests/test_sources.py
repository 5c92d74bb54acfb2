"""The IMDb source resources (sample, file, http), the per-file raw assets and the archived files' checksums."""

import datetime as dt
import gzip
import hashlib
import json
import os

import dagster as dg
import pytest

from media_assets.clean.assets import file_assets
from media_assets.definitions import imdb_source
from media_assets.resources import DataLake
from media_assets.sample.generator import GENERATOR_FINGERPRINT, write_sample_snapshot
from media_assets.settings import SettingsError, read_settings
from media_assets.sources.archive import Outcome, archived_sha256, sidecar_path
from media_assets.sources.assets import RAW_GROUP, raw_asset_key
from media_assets.sources.imdb_files import IMDB_FILES, NAME_BASICS, TITLE_BASICS, TITLE_RATINGS, ImdbFile
from media_assets.sources.imdb_source import (
    FileImdbSource,
    HttpImdbSource,
    SampleImdbSource,
)
from media_assets.sources.sample_snapshots import sample_snapshot_folder
from media_assets_tests.http_fixtures import LocalFileServer

RATINGS_GZ = gzip.compress(b"tconst\taverageRating\tnumVotes\ntt0000001\t5.7\t2150\n", mtime=0)
DAY = dt.date(2026, 3, 1)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_sample_source_generates_a_day_once_and_reuses_it(tmp_path):
    source = SampleImdbSource(scale=0.00003)
    first = [source.archive(imdb_file, DAY, tmp_path, published=False) for imdb_file in IMDB_FILES]
    assert [result.outcome for result in first] == [Outcome.FETCHED] * 4
    generated = list((tmp_path / ".cache" / "sample" / DAY.isoformat()).iterdir())
    assert [folder.name for folder in generated if folder.is_dir()] == [
        f"scale=3e-05-seed=42-generator={GENERATOR_FINGERPRINT}"
    ]
    again = source.archive(TITLE_BASICS, DAY, tmp_path, published=False)
    assert again.outcome is Outcome.UNCHANGED
    contents = first[0].archived.path.read_bytes()
    # Another scale is another snapshot: it is generated afresh and replaces the unpublished day's file.
    other = SampleImdbSource(scale=0.00006).archive(TITLE_BASICS, DAY, tmp_path, published=False)
    assert other.outcome is Outcome.FETCHED and other.archived.path.read_bytes() != contents


def test_sample_source_never_reuses_a_day_generated_by_another_generator(tmp_path):
    # A day cached by an older generator: its files would jump away from the days the current generator makes.
    # Where days were cached before the generator's version was part of the name.
    stale = tmp_path / DAY.isoformat() / "scale=3e-05-seed=42"
    stale.mkdir(parents=True)
    for imdb_file in IMDB_FILES:
        (stale / imdb_file.file_name).write_bytes(RATINGS_GZ)
    folder = sample_snapshot_folder(tmp_path, DAY, 0.00003, 42)
    assert folder != stale
    fresh = write_sample_snapshot(tmp_path / "fresh", DAY, 0.00003, 42)
    assert all((folder / name).read_bytes() == path.read_bytes() for name, path in fresh.items())


def test_file_source_reads_the_days_folder_and_skips_unchanged_files(tmp_path):
    mirror = tmp_path / "mirror" / DAY.isoformat()
    mirror.mkdir(parents=True)
    (mirror / TITLE_RATINGS.file_name).write_bytes(RATINGS_GZ)
    source = FileImdbSource(folder=str(tmp_path / "mirror" / "{date}"))
    assert not source.live
    raw_root = tmp_path / "raw"
    first = source.archive(TITLE_RATINGS, DAY, raw_root, published=False)
    assert first.outcome is Outcome.FETCHED and first.archived.path.read_bytes() == RATINGS_GZ
    assert source.archive(TITLE_RATINGS, DAY, raw_root, published=False).outcome is Outcome.UNCHANGED
    with pytest.raises(FileNotFoundError, match=r"2026-03-02.*title\.ratings\.tsv\.gz"):
        source.archive(TITLE_RATINGS, DAY + dt.timedelta(days=1), raw_root, published=False)


def test_http_source_downloads_today_and_refuses_a_past_day_it_never_archived(tmp_path):
    with LocalFileServer({"/title.ratings.tsv.gz": RATINGS_GZ}) as server:
        source = HttpImdbSource(base_url=server.url("/"), timeout_seconds=5)
        today = source.archive(TITLE_RATINGS, _today(), tmp_path, published=False)
        assert today.outcome is Outcome.FETCHED and today.archived.path.read_bytes() == RATINGS_GZ
        assert today.archived.record["etag"] == server.file("/title.ratings.tsv.gz").etag

        with pytest.raises(FileNotFoundError, match="serves only the current snapshot"):
            source.archive(TITLE_RATINGS, _today() - dt.timedelta(days=3), tmp_path, published=False)
        # A past day archived on its day is kept, without asking the server (it now serves another snapshot).
        yesterday = _today() - dt.timedelta(days=1)
        (tmp_path / yesterday.isoformat()).mkdir()
        for name in (TITLE_RATINGS.file_name, TITLE_RATINGS.file_name + ".raw.json"):
            os.link(tmp_path / _today().isoformat() / name, tmp_path / yesterday.isoformat() / name)
        requests_before = len(server.requests)
        kept = source.archive(TITLE_RATINGS, yesterday, tmp_path, published=False)
        assert kept.outcome is Outcome.ARCHIVE_USED and len(server.requests) == requests_before


def test_http_source_archives_yesterday_while_the_server_still_serves_yesterdays_release(tmp_path):
    yesterday = _today() - dt.timedelta(days=1)
    # A release the sensor saw just after midnight UTC: its files were last modified at 23:50 UTC yesterday.
    released_at = dt.datetime.combine(yesterday, dt.time(23, 50), tzinfo=dt.UTC).timestamp()
    with LocalFileServer() as server:
        server.set_file("/title.ratings.tsv.gz", RATINGS_GZ, last_modified=released_at)
        source = HttpImdbSource(base_url=server.url("/"), timeout_seconds=5)
        assert source.still_serves(TITLE_RATINGS, yesterday)
        result = source.archive(TITLE_RATINGS, yesterday, tmp_path, published=False)
        assert result.outcome is Outcome.FETCHED
        assert (tmp_path / yesterday.isoformat() / TITLE_RATINGS.file_name).read_bytes() == RATINGS_GZ
        assert [request.method for request in server.requests_to("/title.ratings.tsv.gz")][0] == "HEAD"

        # The day before is not what the server serves: refused, and nothing is downloaded for it.
        two_days_ago = yesterday - dt.timedelta(days=1)
        downloads_before = len(server.requests_to("/title.ratings.tsv.gz", "GET"))
        with pytest.raises(FileNotFoundError, match=f"past snapshot {two_days_ago}.*serves only the current"):
            source.archive(TITLE_RATINGS, two_days_ago, tmp_path, published=False)
        assert len(server.requests_to("/title.ratings.tsv.gz", "GET")) == downloads_before
        assert not (tmp_path / two_days_ago.isoformat() / TITLE_RATINGS.file_name).exists()
        # Should IMDb refresh between the check and the download, the download says so and is not archived.
        with pytest.raises(FileNotFoundError, match=f"now serves the snapshot of {yesterday}"):
            source.offer(TITLE_RATINGS, two_days_ago, tmp_path / ".cache" / "http")


@pytest.mark.parametrize(
    "environment, expected",
    [
        ({}, SampleImdbSource(scale=0.0005)),
        ({"IMDB_SAMPLE_SCALE": "0.01"}, SampleImdbSource(scale=0.01)),
        ({"IMDB_SOURCE": "http"}, HttpImdbSource()),
        ({"IMDB_SOURCE": "sample", "IMDB_REFETCH_PUBLISHED": "1"}, SampleImdbSource(refetch_published=True)),
    ],
)
def test_the_source_is_chosen_from_the_settings(environment, expected):
    assert imdb_source(read_settings(environment).imdb_source) == expected


@pytest.mark.parametrize(
    "environment, message",
    [
        ({"IMDB_SOURCE": "ftp"}, "IMDB_SOURCE='ftp': expected one of sample (the default), http, file."),
        ({"IMDB_SOURCE": "file"}, "IMDB_SOURCE=file needs IMDB_FOLDER"),
        ({"IMDB_SAMPLE_SCALE": "tiny"}, "IMDB_SAMPLE_SCALE='tiny': expected a number above 0 and at most 1"),
        ({"IMDB_REFETCH_PUBLISHED": "yes please"}, "IMDB_REFETCH_PUBLISHED='yes please': expected 1 (replace)"),
    ],
)
def test_a_bad_source_setting_is_named(environment, message):
    with pytest.raises(SettingsError) as error:
        read_settings(environment)
    assert message in str(error.value)


def raw_file_bytes(imdb_file: ImdbFile) -> bytes:
    """A one-row file with the official header; each file's bytes differ, and so do their checksums."""
    row = "\t".join([f"{imdb_file.dataset}-row"] * len(imdb_file.columns))
    return gzip.compress(f"{imdb_file.header_line}\n{row}\n".encode(), mtime=0)


def file_source_resources(mirror, tmp_path) -> dict:
    """A dated mirror (`mirror/<day>/`) and a data directory under `tmp_path`."""
    return {
        "imdb_source": FileImdbSource(folder=str(mirror / "{date}")),
        "data_lake": DataLake(root=str(tmp_path / "data")),
    }


def test_raw_asset_with_a_wrong_header_fails_naming_file_expected_and_found(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / DAY.isoformat()).mkdir(parents=True)
    source_file = mirror / DAY.isoformat() / TITLE_RATINGS.file_name
    source_file.write_bytes(gzip.compress(b"tconst\trating\tvotes\ntt0000001\t5.7\t2150\n"))
    result = dg.materialize(
        file_assets,
        selection=[raw_asset_key(TITLE_RATINGS)],
        partition_key=DAY.isoformat(),
        resources=file_source_resources(mirror, tmp_path),
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert f"{source_file}: line 1" in message
    assert "expected: 'tconst\\taverageRating\\tnumVotes'" in message
    assert "found:    'tconst\\trating\\tvotes'" in message
    assert "missing: ['averageRating', 'numVotes']; not expected: ['rating', 'votes']" in message


def test_each_raw_file_is_its_own_step_and_a_subset_fetches_only_its_files(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / DAY.isoformat()).mkdir(parents=True)
    for imdb_file in IMDB_FILES:
        (mirror / DAY.isoformat() / imdb_file.file_name).write_bytes(raw_file_bytes(imdb_file))
    resources = file_source_resources(mirror, tmp_path)
    result = dg.materialize(
        file_assets, selection=[raw_asset_key(TITLE_RATINGS)], partition_key=DAY.isoformat(), resources=resources
    )
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [raw_asset_key(TITLE_RATINGS)]
    raw_dir = resources["data_lake"].raw_dir(DAY.isoformat())
    assert sorted(path.name for path in raw_dir.glob("*.tsv.gz")) == [TITLE_RATINGS.file_name]

    everything = dg.materialize(
        file_assets, selection=dg.AssetSelection.groups(RAW_GROUP), partition_key=DAY.isoformat(), resources=resources
    )
    materializations = everything.get_asset_materialization_events()
    assert {event.step_key for event in materializations} == {f.asset_suffix for f in IMDB_FILES}
    for event in materializations:
        imdb_file = next(f for f in IMDB_FILES if raw_asset_key(f) == event.asset_key)
        data = raw_file_bytes(imdb_file)
        materialization = event.step_materialization_data.materialization
        # Versioned by the checksum of the bytes served; the file already archived is not fetched again.
        assert materialization.tags["dagster/data_version"] == hashlib.sha256(data).hexdigest()
        assert materialization.metadata["bytes"].value == len(data)
        assert materialization.metadata["outcome"].value == ("unchanged" if imdb_file == TITLE_RATINGS else "fetched")


def test_a_file_that_fails_fails_its_own_step_and_the_others_are_archived(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / DAY.isoformat()).mkdir(parents=True)
    for imdb_file in IMDB_FILES:
        if imdb_file != NAME_BASICS:
            (mirror / DAY.isoformat() / imdb_file.file_name).write_bytes(raw_file_bytes(imdb_file))
    result = dg.materialize(
        file_assets,
        selection=dg.AssetSelection.groups(RAW_GROUP),
        partition_key=DAY.isoformat(),
        resources=file_source_resources(mirror, tmp_path),
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "name_basics"
    cause = failure.step_failure_data.error.cause
    assert cause.cls_name == "FileNotFoundError"
    assert f"{mirror / DAY.isoformat() / NAME_BASICS.file_name} does not exist" in cause.message
    assert sorted(event.asset_key for event in result.get_asset_materialization_events()) == sorted(
        raw_asset_key(imdb_file) for imdb_file in IMDB_FILES if imdb_file != NAME_BASICS
    )


def test_an_archived_files_checksum_is_recorded_and_recomputed_when_the_file_is_rewritten(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / DAY.isoformat()).mkdir(parents=True)
    (mirror / DAY.isoformat() / TITLE_RATINGS.file_name).write_bytes(RATINGS_GZ)
    archived = FileImdbSource(folder=str(mirror / "{date}")).archive(TITLE_RATINGS, DAY, tmp_path, False).archived
    record = json.loads(sidecar_path(archived.path).read_text())
    assert record["sha256"] == hashlib.sha256(RATINGS_GZ).hexdigest() == archived_sha256(archived.path)
    # Other bytes of the same size, with the old mtime put back (as `cp -p` does): not taken for the same file.
    stat = archived.path.stat()
    other = bytes(len(RATINGS_GZ))
    with archived.path.open("r+b") as rewrite:
        rewrite.write(other)
    os.utime(archived.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert archived.path.stat().st_size == stat.st_size and archived.path.stat().st_mtime_ns == stat.st_mtime_ns
    assert archived_sha256(archived.path) == hashlib.sha256(other).hexdigest()
