"""The daily job, its executor and its schedule."""

import datetime as dt
import os
import subprocess
import sys
import time

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRun

from media_assets.jobs import ENRICHMENT_GROUP, imdb_executor
from media_assets.partitions import daily_partitions
from media_assets.priorities import CRITICAL_PATH_OP_TAGS
from media_assets.schedules import RELEASE_SENSOR_NAME, SENSOR_TAG, build_daily_schedule
from media_assets.settings import ImdbSourceSettings
from media_assets.sources.imdb_files import IMDB_FILES
from media_assets_tests.http_fixtures import LocalFileServer
from media_assets_tests.imdb_releases import serve_release


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    # Imported here, not at module level: the executor test's step processes import this module, and should not
    # pay for loading the whole project.
    from media_assets.definitions import defs

    return defs


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _evaluate(
    defs: dg.Definitions, schedule: dg.ScheduleDefinition, instance: dg.DagsterInstance, at: dt.datetime
) -> dg.RunRequest | dg.SkipReason:
    """One tick of `schedule` (built for a source) in the project's code location, against a real instance."""
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=at, repository_def=defs.get_repository_def()
    ) as context:
        data = schedule.evaluate_tick(context)
    if data.skip_message:
        return dg.SkipReason(data.skip_message)
    [request] = data.run_requests
    return request


SAMPLE_SCHEDULE = build_daily_schedule(ImdbSourceSettings(kind="sample"), dt.time(9, 0))


@pytest.mark.parametrize(
    ("at", "expected_partition"),
    [
        (dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC), "2026-03-05"),
        (dt.datetime(2026, 3, 5, 23, 59, tzinfo=dt.UTC), "2026-03-05"),
        (dt.datetime(2026, 3, 6, 0, 0, tzinfo=dt.UTC), "2026-03-06"),
        # A time given in another zone is the same instant: 2026-03-06 01:30 at UTC+2 is 2026-03-05 in UTC.
        (dt.datetime(2026, 3, 6, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2026-03-05"),
    ],
)
def test_schedule_requests_the_snapshot_day_of_its_tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, at: dt.datetime, expected_partition: str
):
    request = _evaluate(defs, SAMPLE_SCHEDULE, instance, at)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == expected_partition
    assert request.run_key == expected_partition


def test_schedule_skips_before_the_first_partition(defs: dg.Definitions, instance: dg.DagsterInstance):
    result = _evaluate(defs, SAMPLE_SCHEDULE, instance, dt.datetime(2025, 12, 31, 9, tzinfo=dt.UTC))
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == "2025-12-31 is before the first partition (2026-01-01)."


def _add_run(instance: dg.DagsterInstance, partition: str, status: dg.DagsterRunStatus, **tags: str) -> DagsterRun:
    run = DagsterRun(job_name="imdb_daily", status=status, tags={"dagster/partition": partition, **tags})
    return instance.add_run(run)


def test_schedule_skips_a_day_the_release_sensor_has_run(defs: dg.Definitions, instance: dg.DagsterInstance):
    at = dt.datetime(2026, 4, 5, 9, tzinfo=dt.UTC)
    # Runs that leave the day to the schedule: another day by the sensor, a canceled sensor run, a manual run.
    _add_run(instance, "2026-04-04", dg.DagsterRunStatus.SUCCESS, **{SENSOR_TAG: RELEASE_SENSOR_NAME})
    _add_run(instance, "2026-04-05", dg.DagsterRunStatus.CANCELED, **{SENSOR_TAG: RELEASE_SENSOR_NAME})
    _add_run(instance, "2026-04-05", dg.DagsterRunStatus.SUCCESS)
    assert isinstance(_evaluate(defs, SAMPLE_SCHEDULE, instance, at), dg.RunRequest)

    by_sensor = _add_run(instance, "2026-04-05", dg.DagsterRunStatus.FAILURE, **{SENSOR_TAG: RELEASE_SENSOR_NAME})
    result = _evaluate(defs, SAMPLE_SCHEDULE, instance, at)
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == (
        f"Partition 2026-04-05 is already run by {RELEASE_SENSOR_NAME} (run {by_sensor.run_id}, FAILURE)."
    )


def test_http_schedule_runs_the_day_of_the_served_release_only(defs: dg.Definitions, instance: dg.DagsterInstance):
    released_at = dt.datetime(2026, 5, 4, 7, 30, tzinfo=dt.UTC)
    with LocalFileServer() as server:
        serve_release(server, released_at, "2026-05-04")
        schedule = build_daily_schedule(ImdbSourceSettings(kind="http", base_url=server.url("/")), dt.time(9, 0))

        request = _evaluate(defs, schedule, instance, dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC))
        assert isinstance(request, dg.RunRequest)
        assert request.partition_key == "2026-05-04"

        # The next day's tick comes before IMDb's refresh: the files are still those of 2026-05-04, and are never
        # filed under 2026-05-05.
        skipped = _evaluate(defs, schedule, instance, dt.datetime(2026, 5, 5, 9, tzinfo=dt.UTC))
        assert isinstance(skipped, dg.SkipReason)
        assert skipped.skip_message.startswith(
            "IMDb still serves the release of 2026-05-04: the release of 2026-05-05 is not out yet"
        )

        # Half of the refresh is out: still not the day's release.
        serve_release(server, released_at + dt.timedelta(days=1), "2026-05-05", files=IMDB_FILES[:2])
        partial = _evaluate(defs, schedule, instance, dt.datetime(2026, 5, 5, 9, tzinfo=dt.UTC))
        assert isinstance(partial, dg.SkipReason)
        assert partial.skip_message.startswith("Release in progress: the files are of different days")

        serve_release(server, released_at + dt.timedelta(days=1), "2026-05-05")
        request = _evaluate(defs, schedule, instance, dt.datetime(2026, 5, 5, 9, tzinfo=dt.UTC))
        assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-05-05"
        assert {recorded.method for recorded in server.requests} == {"HEAD"}


def test_daily_job_covers_every_asset_but_the_enrichment_group(defs: dg.Definitions):
    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def("imdb_daily")
    expected = {key for key in graph.get_all_asset_keys() if graph.get(key).group_name != ENRICHMENT_GROUP}
    assert set(job.asset_layer.executable_asset_keys) == expected
    assert dg.AssetKey("tmdb_title_details") not in job.asset_layer.executable_asset_keys
    assert job.partitions_def == daily_partitions


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "in_process"),  # README's sample day
        ({"IMDB_SAMPLE_SCALE": "0.05"}, imdb_executor.name),
        ({"IMDB_SOURCE": "http"}, imdb_executor.name),
        ({"MEDIA_ASSETS_EXECUTOR": "multiprocess"}, imdb_executor.name),
        ({"IMDB_SOURCE": "http", "MEDIA_ASSETS_EXECUTOR": "in_process"}, "in_process"),
    ],
)
def test_every_job_uses_the_executor_the_settings_choose(environ: dict[str, str], expected: str):
    """Small sample days run in one process; anything of IMDb's size runs under the limited multiprocess executor,
    UI-launched asset jobs included."""
    code = (
        "from media_assets.definitions import defs; "
        "print(*(defs.resolve_job_def(name).executor_def.name for name in ('imdb_daily', '__ASSET_JOB')))"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith(("IMDB_", "MEDIA_ASSETS_"))}
    printed = subprocess.run(
        [sys.executable, "-c", code], env={**env, **environ}, capture_output=True, text=True, check=True
    )
    assert printed.stdout.split() == [expected, expected]


def test_steps_the_tail_waits_for_start_first(defs: dg.Definitions):
    """The executor sees op tags only: the priorities must be on the ops, highest for the longest step."""
    job = defs.resolve_job_def("imdb_daily")
    priority_by_op = {node.name: node.tags.get("dagster/priority", "0") for node in job.nodes}
    assert {op for op, priority in priority_by_op.items() if priority == "2"} == {"title_principals"}
    assert {op for op, priority in priority_by_op.items() if priority == "1"} == {
        "title_basics",
        "title_ratings",
        "name_basics",
        "title_dimensions",
        "fact_cast_crew",
        "dim_person",
    }


# -- the executor's limits, observed on a real multiprocess run ---------------------------------------------------

_STEP_SECONDS = 1.0


def _sleeping_asset(name: str, op_tags: dict[str, str] | None = None) -> dg.AssetsDefinition:
    @dg.asset(name=name, op_tags=op_tags)
    def _asset() -> None:
        time.sleep(_STEP_SECONDS)

    return _asset


def limited_executor_job() -> dg.JobDefinition:
    """Four independent steps under the project's executor (reconstructed in each step); the one named last
    alphabetically carries the critical-path priority."""
    assets = [
        _sleeping_asset("a_1"),
        _sleeping_asset("a_2"),
        _sleeping_asset("a_3"),
        _sleeping_asset("z_critical", CRITICAL_PATH_OP_TAGS),
    ]
    return dg.Definitions(
        assets=assets, jobs=[dg.define_asset_job("limits", selection=dg.AssetSelection.all())], executor=imdb_executor
    ).resolve_job_def("limits")


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_executor_runs_two_steps_at_once_never_three_and_critical_path_first():
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(limited_executor_job), instance=instance)
        assert result.success
        records = instance.get_records_for_run(result.run_id).records
        starts = {
            r.event_log_entry.step_key: r.timestamp
            for r in records
            if r.event_log_entry.dagster_event_type == dg.DagsterEventType.STEP_START
        }
        ends = {
            r.event_log_entry.step_key: r.timestamp
            for r in records
            if r.event_log_entry.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS
        }
    spans = {step: (starts[step], ends[step]) for step in starts}
    assert set(spans) == {"a_1", "a_2", "a_3", "z_critical"}
    first_two = sorted(spans, key=lambda step: spans[step][0])[:2]
    assert "z_critical" in first_two, first_two
    pairs = [(a, b) for a in spans for b in spans if a < b]
    overlapping = [pair for pair in pairs if _overlap(spans[pair[0]], spans[pair[1]])]
    assert overlapping, "steps never ran side by side: max_concurrent 2 is not in effect"
    # Never three at once: at each step's start, at most one other step is running.
    for step, (start, _) in spans.items():
        running = [other for other, (s, e) in spans.items() if other != step and s <= start < e]
        assert len(running) <= 1, (step, running)
