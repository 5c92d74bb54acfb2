"""The release sensor: runs `imdb_daily` for a release's day once IMDb has published a complete new snapshot.

IMDb refreshes its four files once a day, one after the other. The sensor reads each file's validators (never a
download: a tick must finish within 60 s; see `media_assets.releases`), keeps those of the release it last ran in
its cursor, and asks for a run only when all four differ from them. The run key is derived from the validators, so
one release is run once, whatever the number of ticks that see it; a day the daily schedule has run is skipped.
The `sample` source has no releases: every tick skips and says so; the daily schedule materializes each day.
"""

import datetime as dt
import json

import dagster as dg

from media_assets.jobs import imdb_daily
from media_assets.partitions import daily_partitions
from media_assets.releases import Release, ReleaseIncomplete, current_release
from media_assets.schedules import RELEASE_SENSOR_NAME, SCHEDULE_NAME, SCHEDULE_TAG, run_by_trigger
from media_assets.settings import ImdbSourceSettings, settings

RELEASE_TAG_KEY = "media_assets/release"


def build_release_sensor(source: ImdbSourceSettings) -> dg.SensorDefinition:
    """The release sensor watching `source`."""

    @dg.sensor(
        name=RELEASE_SENSOR_NAME,
        job=imdb_daily,
        minimum_interval_seconds=15 * 60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Runs imdb_daily for a release's day as soon as all four IMDb files have changed since the release it "
            "last ran (http: ETag/Last-Modified via HEAD, the day is the UTC date of Last-Modified; file: size and "
            f"mtime of today's folder; sample: nothing to watch, skips). Skips a day {SCHEDULE_NAME} has run."
        ),
    )
    def imdb_release_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if source.kind == "sample":
            return dg.SkipReason(
                "The sample source generates snapshots on demand and has no releases to watch; "
                f"{SCHEDULE_NAME} materializes each day. Set IMDB_SOURCE=http or file to watch a real source."
            )
        try:
            release = current_release(source, dt.datetime.now(dt.UTC).date())
        except ReleaseIncomplete as incomplete:
            return dg.SkipReason(str(incomplete))
        if release.day < daily_partitions.start.date():
            return dg.SkipReason(f"The release of {release.day} is before the first partition: nothing to run.")

        not_new = _not_a_new_release(context.cursor, release)
        if not_new is not None:
            return not_new
        return _run_release(context, release)

    return imdb_release_sensor


def _not_a_new_release(cursor: str | None, release: Release) -> dg.SkipReason | None:
    """Why `release` is not run when none or only some of its files changed since the release last run (the
    sensor's `cursor`): IMDb publishes the four one after the other. None when all four changed."""
    previous = json.loads(cursor) if cursor else None
    if previous is None:
        return None
    last_run = previous["validators"]
    unchanged = [name for name, value in release.validators.items() if last_run.get(name) == value]
    if len(unchanged) == len(release.validators):
        return dg.SkipReason(
            f"No new IMDb release: none of the {len(unchanged)} files changed since release "
            f"{previous['release']} was run."
        )
    if unchanged:
        changed = [name for name in release.validators if name not in unchanged]
        return dg.SkipReason(
            f"Release in progress: {', '.join(changed)} changed since release {previous['release']}, still "
            f"waiting for {', '.join(unchanged)}."
        )
    return None


def _run_release(context: dg.SensorEvaluationContext, release: Release) -> dg.SensorResult:
    """The run of a new release's day, unless the daily schedule has run that day; the cursor records the release
    either way."""
    partition_key = release.day.isoformat()
    # The release counts as handled either way: a later tick must not run it once the schedule's run is over.
    cursor = json.dumps({"release": release.id, "validators": dict(release.validators)})
    run = run_by_trigger(context.instance, partition_key, SCHEDULE_TAG, SCHEDULE_NAME)
    if run is not None:
        return dg.SensorResult(
            skip_reason=(
                f"Release {release.id} is of {partition_key}, which {SCHEDULE_NAME} already runs (run "
                f"{run.run_id}, {run.status.value})."
            ),
            cursor=cursor,
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"imdb-release-{release.id}",
                partition_key=partition_key,
                tags={RELEASE_TAG_KEY: release.id},
            )
        ],
        cursor=cursor,
    )


imdb_release_sensor = build_release_sensor(settings.imdb_source)
