"""The release sensor against a real local HTTP server and a real folder, and the raw freshness checks."""

import datetime as dt
import gzip
import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.test_utils import freeze_time

from media_assets.definitions import defs
from media_assets.freshness import raw_freshness_checks
from media_assets.schedules import RELEASE_SENSOR_NAME
from media_assets.sensors import RELEASE_TAG_KEY
from media_assets.sources.http_download import DownloadError
from media_assets.sources.imdb_files import IMDB_FILES
from media_assets.sources.imdb_source import FileImdbSource, HttpImdbSource, ImdbSource, SampleImdbSource
from media_assets_tests.http_fixtures import LocalFileServer

FILE_NAMES = [imdb_file.file_name for imdb_file in IMDB_FILES]


def _today_key() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _release_content(imdb_file, release: int) -> bytes:
    """A valid gzipped IMDb file whose bytes differ per release."""
    return gzip.compress(f"{imdb_file.header_line}\n# release {release}\n".encode())


def _tick(imdb_source: ImdbSource, cursor: str | None) -> SensorExecutionData:
    """One tick of the release sensor registered in the project's Definitions."""
    sensor = defs.resolve_sensor_def(RELEASE_SENSOR_NAME)
    with dg.build_sensor_context(cursor=cursor, resources={"imdb_source": imdb_source}, definitions=defs) as context:
        return sensor.evaluate_tick(context)


@pytest.fixture
def imdb_server():
    with LocalFileServer({f"/{f.file_name}": _release_content(f, 1) for f in IMDB_FILES}) as server:
        yield server


def test_http_release_runs_once_per_complete_release(imdb_server: LocalFileServer):
    source = HttpImdbSource(base_url=imdb_server.url("/"))

    first = _tick(source, cursor=None)
    assert first.skip_message is None
    [first_run] = first.run_requests
    assert first_run.partition_key == _today_key()
    assert first_run.run_key.endswith(first_run.tags[RELEASE_TAG_KEY])
    # HEAD only: the sensor never downloads a file.
    for name in FILE_NAMES:
        assert [r.method for r in imdb_server.requests_to(name)] == ["HEAD"]

    # The same release seen again with a lost cursor gets the same run key, so Dagster never runs it twice.
    assert _tick(source, cursor=None).run_requests[0].run_key == first_run.run_key

    unchanged = _tick(source, cursor=first.cursor)
    assert unchanged.run_requests == []
    assert "No new IMDb release" in unchanged.skip_message
    assert first_run.tags[RELEASE_TAG_KEY] in unchanged.skip_message

    changed_first, *still_old = IMDB_FILES
    imdb_server.set_file(f"/{changed_first.file_name}", _release_content(changed_first, 2))
    partial = _tick(source, cursor=first.cursor)
    assert partial.run_requests == []
    changed_part, waiting_part = partial.skip_message.split("still waiting for")
    assert changed_first.file_name in changed_part
    assert all(f.file_name in waiting_part and f.file_name not in changed_part for f in still_old)

    for imdb_file in still_old:
        imdb_server.set_file(f"/{imdb_file.file_name}", _release_content(imdb_file, 2))
    full = _tick(source, cursor=first.cursor)
    [second_run] = full.run_requests
    assert second_run.partition_key == _today_key()
    assert second_run.run_key != first_run.run_key

    after = _tick(source, cursor=full.cursor)
    assert after.run_requests == []
    assert second_run.tags[RELEASE_TAG_KEY] in after.skip_message
    assert all(r.method == "HEAD" for r in imdb_server.requests)


def test_http_release_is_told_by_last_modified_when_etag_is_kept(imdb_server: LocalFileServer):
    source = HttpImdbSource(base_url=imdb_server.url("/"))
    first = _tick(source, cursor=None)
    for imdb_file in IMDB_FILES:
        kept_etag = imdb_server.file(f"/{imdb_file.file_name}").etag
        imdb_server.set_file(f"/{imdb_file.file_name}", _release_content(imdb_file, 2), etag=kept_etag)
    [run] = _tick(source, cursor=first.cursor).run_requests
    assert run.run_key != first.run_requests[0].run_key


def test_http_error_fails_the_tick_naming_the_url(imdb_server: LocalFileServer):
    source = HttpImdbSource(base_url=imdb_server.url("/missing-folder/"))
    with pytest.raises(DownloadError, match=r"HEAD http://127\.0\.0\.1:\d+/missing-folder/title\.basics.*404"):
        _tick(source, cursor=None)


def test_file_source_waits_for_all_four_files_then_runs_once_per_release(tmp_path: Path):
    today_folder = tmp_path / _today_key()
    source = FileImdbSource(folder=str(tmp_path / "{date}"))
    today_folder.mkdir()
    (today_folder / FILE_NAMES[0]).write_bytes(b"first")

    waiting = _tick(source, cursor=None)
    assert waiting.run_requests == []
    assert "3 of 4 files not there yet" in waiting.skip_message
    assert all(name in waiting.skip_message for name in FILE_NAMES[1:])

    for name in FILE_NAMES[1:]:
        (today_folder / name).write_bytes(b"first")
    first = _tick(source, cursor=None)
    [first_run] = first.run_requests
    assert first_run.partition_key == _today_key()

    assert "No new IMDb release" in _tick(source, cursor=first.cursor).skip_message

    # A new release: other bytes, a later mtime (set explicitly: the file system clock may be coarse).
    later = os.stat(today_folder / FILE_NAMES[0]).st_mtime + 60
    (today_folder / FILE_NAMES[0]).write_bytes(b"second release")
    os.utime(today_folder / FILE_NAMES[0], (later, later))
    assert "still waiting for" in _tick(source, cursor=first.cursor).skip_message
    for name in FILE_NAMES[1:]:
        (today_folder / name).write_bytes(b"second release")
        os.utime(today_folder / name, (later, later))
    [second_run] = _tick(source, cursor=first.cursor).run_requests
    assert second_run.run_key != first_run.run_key


def test_sample_source_skips_saying_it_has_no_releases():
    result = _tick(SampleImdbSource(), cursor=None)
    assert result.run_requests == []
    assert "sample source" in result.skip_message and "no releases" in result.skip_message


def test_raw_freshness_check_warns_when_the_newest_snapshot_is_older_than_two_days():
    instance = dg.DagsterInstance.ephemeral()
    now = dt.datetime.now(dt.UTC)
    stale, fresh, *never = (dg.AssetKey(f"raw_{f.asset_suffix}") for f in IMDB_FILES)
    with freeze_time(now - dt.timedelta(days=2, hours=1)):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=stale, partition="2026-01-05"))
    with freeze_time(now - dt.timedelta(days=1, hours=23)):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=fresh, partition="2026-01-05"))

    result = dg.materialize(
        [*raw_freshness_checks], instance=instance, selection=dg.AssetSelection.checks(*raw_freshness_checks)
    )

    evaluations = {e.asset_key: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {stale, fresh, *never}
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in evaluations.values())
    assert not evaluations[stale].passed and "overdue" in evaluations[stale].description
    assert evaluations[fresh].passed
    assert all(not evaluations[key].passed for key in never)
