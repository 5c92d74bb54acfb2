"""The history rebuild sensor: rebuilds published days that are out of date, oldest first, one run at a time.

A day is out of date when it was built from another predecessor than the latest earlier published day as it is
now (a backfill published a day in between, a predecessor was rebuilt or unpublished; see
`media_assets.publish.state`). Rebuilding the oldest such day can make the next one out of date; each tick asks for
one run, and only when no imdb_daily run is queued or running, so the chain is repaired in day order. The run key
names the day and the predecessor it will be built from, so a request is made once per predecessor.
"""

import dagster as dg

from media_assets.jobs import imdb_daily
from media_assets.resources import DataLake

HISTORY_REBUILD_SENSOR = "history_rebuild_sensor"
REBUILD_FROM_TAG = "media_assets/rebuild_from"

_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dg.sensor(
    name=HISTORY_REBUILD_SENSOR,
    job=imdb_daily,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Rebuilds out-of-date published days (after a backfill or an unpublish) in day order, one run at a time, "
        "so every day equals what an in-order chain builds."
    ),
)
def history_rebuild_sensor(context: dg.SensorEvaluationContext, data_lake: DataLake) -> dg.RunRequest | dg.SkipReason:
    published = data_lake.published
    out_of_date = published.out_of_date()
    if not out_of_date:
        return dg.SkipReason("Every published day follows the published chain.")
    in_flight = context.instance.get_runs(filters=dg.RunsFilter(job_name=imdb_daily.name, statuses=_IN_FLIGHT), limit=1)
    if in_flight:
        return dg.SkipReason(
            f"{len(out_of_date)} day(s) out of date, oldest {out_of_date[0].snapshot_date}; waiting for run "
            f"{in_flight[0].run_id} to finish first."
        )
    oldest = out_of_date[0]
    if pruned := published.pruned_predecessors(oldest.snapshot_date):
        # Its build reads the day before, whose tables retention removed: that chain is rebuilt first, in order.
        return dg.RunRequest(
            run_key=f"restore-{pruned[0]}-for-{oldest.snapshot_date}",
            partition_key=pruned[0].isoformat(),
            tags={REBUILD_FROM_TAG: "restore"},
        )
    predecessor = published.latest_before(oldest.snapshot_date)
    built_from = f"{predecessor.snapshot_date}:{predecessor.dim_title_sha256[:16]}" if predecessor else "none"
    return dg.RunRequest(
        run_key=f"rebuild-{oldest.snapshot_date}-from-{built_from}",
        partition_key=oldest.snapshot_date.isoformat(),
        tags={REBUILD_FROM_TAG: built_from},
    )
