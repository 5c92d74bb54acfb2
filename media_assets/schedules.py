"""The daily schedule of `imdb_daily`: one run a day for that day's snapshot partition."""

import datetime as dt
import os
import re

import dagster as dg

from media_assets.jobs import imdb_daily
from media_assets.partitions import daily_partitions

RUN_AT_ENV = "MEDIA_ASSETS_DAILY_RUN_AT"
DEFAULT_RUN_AT = "09:00"
"""UTC. IMDb refreshes its files around 07:00-08:00 UTC; an hour later the day's release is complete."""

RELEASE_SENSOR_NAME = "imdb_release_sensor"

_run_at = os.environ.get(RUN_AT_ENV, DEFAULT_RUN_AT)

# Runs of a partition in these states mean the release sensor already has that day covered.
_COVERING_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUCCESS,
]


def daily_cron(run_at: str) -> str:
    """The cron string of a daily time given as `HH:MM` (24-hour clock), e.g. `09:00` -> `0 9 * * *`."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", run_at.strip())
    if not match:
        raise ValueError(f"{RUN_AT_ENV}={run_at!r}: expected a UTC time of day as HH:MM, e.g. 09:00")
    hour, minute = match.groups()
    return f"{int(minute)} {int(hour)} * * *"


def snapshot_partition_key(at: dt.datetime) -> str | None:
    """The partition of the snapshot current at `at`: its UTC day (None before the first partition)."""
    day = at.astimezone(dt.UTC).date()
    return day.isoformat() if day >= daily_partitions.start.date() else None


@dg.schedule(
    name="imdb_daily_schedule",
    job=imdb_daily,
    cron_schedule=daily_cron(_run_at),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        f"Materializes the day's snapshot partition every day at {_run_at.strip()} UTC ({RUN_AT_ENV}; default "
        f"{DEFAULT_RUN_AT}, after IMDb's daily refresh). Skips a day that `{RELEASE_SENSOR_NAME}` has already run, "
        "so one release is not processed twice."
    ),
)
def imdb_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    at = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    partition_key = snapshot_partition_key(at)
    if partition_key is None:
        return dg.SkipReason(f"{at.isoformat()} is before the first partition ({daily_partitions.start.date()}).")
    covering_runs = context.instance.get_runs(
        filters=dg.RunsFilter(
            job_name=imdb_daily.name,
            statuses=_COVERING_STATUSES,
            tags={"dagster/partition": partition_key, "dagster/sensor_name": RELEASE_SENSOR_NAME},
        ),
        limit=1,
    )
    if covering_runs:
        run = covering_runs[0]
        return dg.SkipReason(
            f"Partition {partition_key} was already requested by {RELEASE_SENSOR_NAME} for a new IMDb release "
            f"(run {run.run_id}, {run.status.value})."
        )
    return dg.RunRequest(run_key=partition_key, partition_key=partition_key)
