"""Retention as a job of its own: `imdb_retention` (one op, `history_retention`), run after each successful daily
run by `retention_after_daily_sensor`, or by hand (`python -m media_assets.admin retention`).

Each pruned staged partition gets an observation saying its table was removed and how to rebuild it (see
`report_retention` for why not a wipe); the published day stays published (its manifest and warehouse rows stay),
with an observation saying which tables were removed.
"""

import dagster as dg

from media_assets.jobs import imdb_daily
from media_assets.model.assets import run_finished
from media_assets.publish.assets import PUBLISHED_ASSET
from media_assets.resources import DataLake
from media_assets.retention.apply import RETENTION_DIR, RetentionRecord, apply_retention
from media_assets.retention.policy import RetentionPolicy
from media_assets.settings import settings


class RetentionConfig(dg.Config):
    keep_days: int = settings.retention_keep_days
    """The newest published days kept whole (at least 2)."""
    keyframe_days: int = settings.retention_keyframe_days
    """One published day kept whole per block of this many days."""


def report_retention(instance: dg.DagsterInstance, record: RetentionRecord) -> None:
    """Tell the instance what retention removed: an observation on each staged partition whose table went, and on
    each published day whose tables went. (Dagster's open-source event log cannot wipe single partitions:
    `wipe_asset_partitions` raises NotImplementedError there, so the partitions stay listed as materialized and the
    observation, the newest event of the partition, says they are pruned.)"""
    restore = "Restore with `python -m media_assets.admin restore {day}` (or run the day again)."
    for asset, days in record.removed_staged.items():
        for day in days:
            instance.report_runless_asset_event(
                dg.AssetObservation(
                    asset_key=dg.AssetKey(asset),
                    partition=day,
                    description=f"Pruned by retention (run {record.run_id}): the table is no longer on disk. "
                    + restore.format(day=day),
                    metadata={"pruned": True, "retention_run": record.run_id},
                )
            )
    for day, entry in record.days.items():
        if "published_removed" in entry:
            instance.report_runless_asset_event(
                dg.AssetObservation(
                    asset_key=dg.AssetKey(PUBLISHED_ASSET),
                    partition=day,
                    description=f"Tables removed by retention (run {record.run_id}); the day stays published and "
                    "in the warehouse. " + restore.format(day=day),
                    metadata={
                        "pruned": True,
                        "retention_run": record.run_id,
                        "tables_pruned": dg.MetadataValue.json(entry["published_removed"]),
                    },
                )
            )


def retention_metadata(record: RetentionRecord, record_path: str) -> dict:
    days = record.days.values()
    return {
        "record": dg.MetadataValue.path(record_path),
        "bytes_before": record.bytes_before,
        "bytes_after": record.bytes_after,
        "published_days": len(record.days),
        "days_by_role": dg.MetadataValue.json(
            {role: sum(entry["role"] == role for entry in days) for role in ("recent", "keyframe", "compacted")}
        ),
        "raw_files_compacted": sum(len(entry.get("raw_compacted", {})) for entry in days),
        "days_tables_pruned": sum("published_removed" in entry for entry in days),
        "skipped": dg.MetadataValue.json(record.skipped),
    }


@dg.op(
    name="history_retention",
    description=(
        "Keeps a year of history on one disk without losing any: the newest published days and one keyframe per "
        "block of days stay whole; the other published days' raw files are stored as verified deltas against their "
        "keyframe's (exact content, sha256-checked) and their tables removed (rebuilt from raw by running the day "
        "again). Records what it did in `retention/<run id>.json`."
    ),
)
def history_retention(context: dg.OpExecutionContext, config: RetentionConfig, data_lake: DataLake) -> dg.Output:
    policy = RetentionPolicy(config.keep_days, config.keyframe_days)
    record = apply_retention(
        data_lake, policy, context.run.run_id, lambda run_id: run_finished(context.instance, run_id)
    )
    report_retention(context.instance, record)
    record_path = data_lake.root_path / RETENTION_DIR / f"{record.run_id}.json"
    context.log.info(f"retention: {record.bytes_before:,} -> {record.bytes_after:,} bytes; record {record_path}")
    return dg.Output(str(record_path), metadata=retention_metadata(record, str(record_path)))


@dg.job(
    name="imdb_retention",
    description="Retention over the published history (see the history_retention op). Not an asset: it spans every "
    "day, and in an asset selection it would mix with the daily partitioned assets.",
)
def imdb_retention() -> None:
    history_retention()


@dg.run_status_sensor(
    name="retention_after_daily_sensor",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[imdb_daily],
    request_job=imdb_retention,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs imdb_retention after each successful imdb_daily run.",
)
def retention_after_daily_sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"retention-after-{context.dagster_run.run_id}")
