"""The release sensor against a real local HTTP server, a real folder and a real instance."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.storage.dagster_run import DagsterRun

from media_assets.definitions import defs
from media_assets.schedules import SCHEDULE_NAME, SCHEDULE_TAG
from media_assets.sensors import RELEASE_TAG_KEY, build_release_sensor
from media_assets.settings import ImdbSourceSettings
from media_assets.sources.http_download import DownloadError
from media_assets.sources.imdb_files import IMDB_FILES
from media_assets_tests.http_fixtures import LocalFileServer
from media_assets_tests.imdb_releases import serve_release

FILE_NAMES = [imdb_file.file_name for imdb_file in IMDB_FILES]
RELEASED_AT = dt.datetime(2026, 5, 4, 7, 30, tzinfo=dt.UTC)


def _today_key() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _tick(source: ImdbSourceSettings, instance: dg.DagsterInstance, cursor: str | None) -> SensorExecutionData:
    """One tick of the release sensor watching `source`, in the project's code location."""
    sensor = build_release_sensor(source)
    with dg.build_sensor_context(cursor=cursor, instance=instance, definitions=defs) as context:
        return sensor.evaluate_tick(context)


@pytest.fixture
def imdb_server():
    with LocalFileServer() as server:
        serve_release(server, RELEASED_AT, "release 1")
        yield server


def _http(server: LocalFileServer, path: str = "/") -> ImdbSourceSettings:
    return ImdbSourceSettings(kind="http", base_url=server.url(path))


def test_http_release_runs_its_own_day_once_per_complete_release(
    imdb_server: LocalFileServer, instance: dg.DagsterInstance
):
    source = _http(imdb_server)
    first = _tick(source, instance, cursor=None)
    assert first.skip_message is None
    [first_run] = first.run_requests
    # The day of the release (UTC date of Last-Modified), whatever the day of the tick.
    assert first_run.partition_key == "2026-05-04"
    assert first_run.run_key.endswith(first_run.tags[RELEASE_TAG_KEY])
    # HEAD only: the sensor never downloads a file.
    for name in FILE_NAMES:
        assert [r.method for r in imdb_server.requests_to(name)] == ["HEAD"]

    # The same release seen again with a lost cursor gets the same run key, so Dagster never runs it twice.
    assert _tick(source, instance, cursor=None).run_requests[0].run_key == first_run.run_key

    unchanged = _tick(source, instance, cursor=first.cursor)
    assert unchanged.run_requests == []
    assert "No new IMDb release" in unchanged.skip_message
    assert first_run.tags[RELEASE_TAG_KEY] in unchanged.skip_message

    next_day = RELEASED_AT + dt.timedelta(days=1)
    changed_first, *still_old = IMDB_FILES
    serve_release(imdb_server, next_day, "release 2", files=[changed_first])
    partial = _tick(source, instance, cursor=first.cursor)
    assert partial.run_requests == []
    assert partial.skip_message.startswith("Release in progress")

    serve_release(imdb_server, next_day, "release 2")
    full = _tick(source, instance, cursor=first.cursor)
    [second_run] = full.run_requests
    assert second_run.partition_key == "2026-05-05"
    assert second_run.run_key != first_run.run_key

    after = _tick(source, instance, cursor=full.cursor)
    assert after.run_requests == []
    assert second_run.tags[RELEASE_TAG_KEY] in after.skip_message
    assert all(r.method == "HEAD" for r in imdb_server.requests)


def test_http_release_is_told_by_last_modified_when_etag_is_kept(
    imdb_server: LocalFileServer, instance: dg.DagsterInstance
):
    source = _http(imdb_server)
    first = _tick(source, instance, cursor=None)
    for minute, imdb_file in enumerate(IMDB_FILES):
        served = imdb_server.file(f"/{imdb_file.file_name}")
        imdb_server.set_file(
            f"/{imdb_file.file_name}",
            served.content,
            etag=served.etag,
            last_modified=(RELEASED_AT + dt.timedelta(days=1, minutes=minute)).timestamp(),
        )
    [run] = _tick(source, instance, cursor=first.cursor).run_requests
    assert run.run_key != first.run_requests[0].run_key and run.partition_key == "2026-05-05"


def test_sensor_skips_a_day_the_schedule_has_run_and_keeps_that_release(
    imdb_server: LocalFileServer, instance: dg.DagsterInstance
):
    by_schedule = instance.add_run(
        DagsterRun(
            job_name="imdb_daily",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": "2026-05-04", SCHEDULE_TAG: SCHEDULE_NAME},
        )
    )
    source = _http(imdb_server)
    skipped = _tick(source, instance, cursor=None)
    assert skipped.run_requests == []
    assert skipped.skip_message.endswith(
        f"is of 2026-05-04, which {SCHEDULE_NAME} already runs (run {by_schedule.run_id}, STARTED)."
    )
    # The release counts as handled: once the schedule's run is over, the sensor does not run it after all.
    instance.report_run_canceled(by_schedule)
    assert "No new IMDb release" in _tick(source, instance, cursor=skipped.cursor).skip_message


def test_http_error_fails_the_tick_naming_the_url(imdb_server: LocalFileServer, instance: dg.DagsterInstance):
    with pytest.raises(DownloadError, match=r"HEAD http://127\.0\.0\.1:\d+/missing-folder/title\.basics.*404"):
        _tick(_http(imdb_server, "/missing-folder/"), instance, cursor=None)


def test_file_source_waits_for_all_four_files_then_runs_once_per_release(tmp_path: Path, instance: dg.DagsterInstance):
    today_folder = tmp_path / _today_key()
    source = ImdbSourceSettings(kind="file", folder=str(tmp_path / "{date}"))
    today_folder.mkdir()
    (today_folder / FILE_NAMES[0]).write_bytes(b"first")

    waiting = _tick(source, instance, cursor=None)
    assert waiting.run_requests == []
    assert "3 of 4 files not there yet" in waiting.skip_message
    assert all(name in waiting.skip_message for name in FILE_NAMES[1:])

    for name in FILE_NAMES[1:]:
        (today_folder / name).write_bytes(b"first")
    first = _tick(source, instance, cursor=None)
    [first_run] = first.run_requests
    assert first_run.partition_key == _today_key()

    assert "No new IMDb release" in _tick(source, instance, cursor=first.cursor).skip_message

    # A new release: other bytes, a later mtime (set explicitly: the file system clock may be coarse).
    later = os.stat(today_folder / FILE_NAMES[0]).st_mtime + 60
    (today_folder / FILE_NAMES[0]).write_bytes(b"second release")
    os.utime(today_folder / FILE_NAMES[0], (later, later))
    assert "still waiting for" in _tick(source, instance, cursor=first.cursor).skip_message
    for name in FILE_NAMES[1:]:
        (today_folder / name).write_bytes(b"second release")
        os.utime(today_folder / name, (later, later))
    [second_run] = _tick(source, instance, cursor=first.cursor).run_requests
    assert second_run.run_key != first_run.run_key


def test_sample_source_skips_saying_it_has_no_releases(instance: dg.DagsterInstance):
    result = _tick(ImdbSourceSettings(kind="sample"), instance, cursor=None)
    assert result.run_requests == []
    assert "sample source" in result.skip_message and "no releases" in result.skip_message
