"""The daily schedule of `imdb_daily`, and the rule both triggers share: one trigger per day.

The schedule (a fixed time) and the release sensor (a new IMDb release) may both see a day; whichever runs it first
owns it, and the other skips it, saying which run has it. With `http` the day is the release's (see
`media_assets.releases`): a tick before IMDb's refresh skips instead of filing yesterday's files under today.
"""

import datetime as dt

import dagster as dg

from media_assets.jobs import imdb_daily
from media_assets.partitions import daily_partitions
from media_assets.releases import ReleaseIncomplete, current_release
from media_assets.settings import ImdbSourceSettings, settings

SCHEDULE_NAME = "imdb_daily_schedule"
RELEASE_SENSOR_NAME = "imdb_release_sensor"
# Tags Dagster puts on every run a schedule or a sensor requests.
SCHEDULE_TAG, SENSOR_TAG = "dagster/schedule_name", "dagster/sensor_name"

_HANDLED_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUCCESS,
    # A failed day is the operator's (an alert went out; run retries take care of crashes): the other trigger
    # running it again would only repeat a gate's verdict on the same files.
    dg.DagsterRunStatus.FAILURE,
]


def run_by_trigger(
    instance: dg.DagsterInstance, partition_key: str, trigger_tag: str, trigger_name: str
) -> dg.DagsterRun | None:
    """A run of `imdb_daily` for the partition that the named schedule or sensor requested, unless canceled."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            job_name=imdb_daily.name,
            statuses=_HANDLED_STATUSES,
            tags={"dagster/partition": partition_key, trigger_tag: trigger_name},
        ),
        limit=1,
    )
    return runs[0] if runs else None


def build_daily_schedule(source: ImdbSourceSettings, run_at: dt.time) -> dg.ScheduleDefinition:
    """The daily schedule for a source, at `run_at` UTC."""

    @dg.schedule(
        name=SCHEDULE_NAME,
        job=imdb_daily,
        cron_schedule=f"{run_at.minute} {run_at.hour} * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"Materializes the day's snapshot partition every day at {run_at:%H:%M} UTC (MEDIA_ASSETS_DAILY_RUN_AT, "
            f"after IMDb's daily refresh). Skips a day that {RELEASE_SENSOR_NAME} has run; with the http source, "
            "also a day whose release IMDb has not published yet."
        ),
    )
    def imdb_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        at = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        day = at.date()
        if day < daily_partitions.start.date():
            return dg.SkipReason(f"{day} is before the first partition ({daily_partitions.start.date()}).")
        if source.kind == "http":
            try:
                release = current_release(source, day)
            except ReleaseIncomplete as incomplete:
                return dg.SkipReason(f"{incomplete} {RELEASE_SENSOR_NAME} runs {day} once it is complete.")
            if release.day != day:
                return dg.SkipReason(
                    f"IMDb still serves the release of {release.day}: the release of {day} is not out yet (an older "
                    f"release is never filed under a later day). {RELEASE_SENSOR_NAME} runs {day} when it is."
                )
        partition_key = day.isoformat()
        run = run_by_trigger(context.instance, partition_key, SENSOR_TAG, RELEASE_SENSOR_NAME)
        if run is not None:
            return dg.SkipReason(
                f"Partition {partition_key} is already run by {RELEASE_SENSOR_NAME} (run {run.run_id}, "
                f"{run.status.value})."
            )
        return dg.RunRequest(run_key=partition_key, partition_key=partition_key)

    return imdb_daily_schedule


imdb_daily_schedule = build_daily_schedule(settings.imdb_source, settings.daily_run_at)
