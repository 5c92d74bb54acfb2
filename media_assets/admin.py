"""Operator commands over the published history: `python -m media_assets.admin COMMAND` (DAGSTER_HOME set as for
the daily runs; the data directory from MEDIA_ASSETS_DATA_DIR unless --data-dir is given).

  status                     published days, and the ones out of date
  publish DAY --waive WHY    publish the day's staged attempt despite its failed gates, with the reason recorded
  unpublish DAY --reason WHY withdraw a published day (its tables stay on disk; later days become out of date)
  rebuild                    rebuild every out-of-date day in day order (what the history rebuild sensor does)
  migrate                    set aside the derived tables of a data directory written by an earlier version
  rebuild-archive            rebuild every day of the raw archive in day order (after `migrate`)
  retention                  compact and prune the published days the retention policy does not keep whole
  restore DAY                rebuild the pruned days DAY's build reads, and DAY itself when pruned
"""

import argparse
import datetime as dt
import os
import shutil
import sys
from collections.abc import Sequence

import dagster as dg

from media_assets.model.assets import run_finished
from media_assets.model.transforms import MODEL_TABLES
from media_assets.publish.assets import (
    PUBLISHED_ASSET,
    PublishRefused,
    publish_day,
    report_out_of_date,
)
from media_assets.publish.state import PublishedState
from media_assets.publish.warehouse import WarehouseInUseError, sync_warehouse
from media_assets.quality.assets import generation_of
from media_assets.quality.report import attempt_report_path, failed_gates, read_report, record_unpublication
from media_assets.resources import DataLake
from media_assets.retention.apply import RETENTION_DIR, apply_retention, retention_run_id
from media_assets.retention.job import report_retention
from media_assets.retention.policy import RetentionPolicy
from media_assets.settings import settings

AFTER_PUBLISH_ASSETS = [dg.AssetKey("warehouse"), dg.AssetKey("media_kpis")]
"""What reads a published day: refreshed when an operator publishes or withdraws one."""


def imdb_daily_job() -> dg.JobDefinition:
    """The daily job, for `dg.reconstructable` (a run of it executes in processes of its own)."""
    from media_assets.definitions import defs

    return defs.resolve_job_def("imdb_daily")


def run_day(
    instance: dg.DagsterInstance, partition_key: str, asset_selection: Sequence[dg.AssetKey] | None = None
) -> bool:
    """Run imdb_daily (or the selected assets of it) for one day on the instance; True when it succeeded."""
    result = dg.execute_job(
        dg.reconstructable(imdb_daily_job),
        instance=instance,
        tags={"dagster/partition": partition_key, "media_assets/launched_by": "admin"},
        asset_selection=asset_selection,
    )
    return result.success


def _day(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day (YYYY-MM-DD)") from error


def status(lake: DataLake) -> int:
    published = lake.published
    days = published.days()
    print(f"{len(days)} published day(s) under {published.root}")
    for day in days:
        publication = published.get(day)
        waiver = f"  WAIVED: {publication.waiver['reason']}" if publication and publication.waiver else ""
        source = publication.predecessor.snapshot_date if publication and publication.predecessor else "-"
        print(f"  {day}  generation {publication.generation if publication else '?'}  built from {source}{waiver}")
    out_of_date = published.out_of_date()
    for day in out_of_date:
        print(f"  out of date: {day.snapshot_date}: {day.reason}")
    if out_of_date:
        print("Rebuild them with: python -m media_assets.admin rebuild")
    return 0


def publish_with_waiver(lake: DataLake, instance: dg.DagsterInstance, partition_key: str, reason: str) -> int:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(MODEL_TABLES[0]), asset_partitions=[partition_key]), limit=1
    ).records
    if not records:
        print(f"{partition_key}: nothing is staged for this day; run it first.", file=sys.stderr)
        return 2
    generation = generation_of(instance.get_run_by_id(records[0].run_id))
    report = read_report(attempt_report_path(lake, partition_key, generation))
    waiver = {"reason": reason, "failed_gates": failed_gates(report), "by": os.environ.get("USER", "unknown")}
    publish_day(instance, lake, partition_key, generation, waiver=waiver)
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=PUBLISHED_ASSET,
            partition=partition_key,
            description=f"Published by an operator despite failed gates: {reason}",
            metadata={"generation": generation, "waiver": dg.MetadataValue.json(waiver)},
        )
    )
    report_out_of_date(instance, lake.published.out_of_date())
    print(f"{partition_key} published (attempt {generation}) with a waiver for {', '.join(waiver['failed_gates'])}")
    return 0 if run_day(instance, partition_key, AFTER_PUBLISH_ASSETS) else 1


def unpublish(lake: DataLake, instance: dg.DagsterInstance, partition_key: str, reason: str) -> int:
    withdrawn = lake.published.unpublish(dt.date.fromisoformat(partition_key), reason)
    record_unpublication(lake, partition_key)
    instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key=PUBLISHED_ASSET,
            partition=partition_key,
            description=f"Withdrawn by an operator: {reason}",
            metadata={"withdrawn_manifest": dg.MetadataValue.path(str(withdrawn))},
        )
    )
    sync_warehouse(lake.warehouse_path, lake.published)
    out_of_date = lake.published.out_of_date()
    report_out_of_date(instance, out_of_date)
    print(f"{partition_key} withdrawn ({withdrawn}); the warehouse no longer shows it")
    if out_of_date:
        print(f"Out of date now: {', '.join(d.snapshot_date.isoformat() for d in out_of_date)}; run `rebuild`")
    return 0


def rebuild(lake: DataLake, instance: dg.DagsterInstance) -> int:
    """Rebuild out-of-date days oldest first until none is left (each rebuild may put the next one out)."""
    attempts: dict[dt.date, int] = {}
    while out_of_date := lake.published.out_of_date():
        day = out_of_date[0].snapshot_date
        attempts[day] = attempts.get(day, 0) + 1
        if attempts[day] > 1:
            print(f"{day} is still out of date after a rebuild: see that run's failure", file=sys.stderr)
            return 1
        print(f"rebuilding {day}: {out_of_date[0].reason}")
        # A predecessor retention pruned is rebuilt first (from its keyframe on): the build reads its tables.
        if not run_days(instance, lake.published.pruned_predecessors(day), "first: retention removed its tables"):
            return 1
        if not run_day(instance, day.isoformat()):
            print(f"the rebuild of {day} failed (see the run in the UI)", file=sys.stderr)
            return 1
    print("Every published day follows the published chain.")
    return 0


def run_days(instance: dg.DagsterInstance, days: Sequence[dt.date], why: str) -> bool:
    """Run `days` in order, stopping at the first that fails."""
    for day in days:
        print(f"rebuilding {day} {why}")
        if not run_day(instance, day.isoformat()):
            print(f"the rebuild of {day} failed (see the run in the UI); later days were not rebuilt", file=sys.stderr)
            return False
    return True


def restore(lake: DataLake, instance: dg.DagsterInstance, partition_key: str) -> int:
    day = dt.date.fromisoformat(partition_key)
    publication = lake.published.get(day)
    days = lake.published.pruned_predecessors(day) + ([day] if publication and publication.pruned else [])
    if not days:
        print(f"Nothing to restore: the tables {partition_key} reads (and its own) are kept.")
        return 0
    if not run_days(instance, days, "from its raw archive"):
        return 1
    print(f"Restored {', '.join(day.isoformat() for day in days)}")
    return 0


def retention(lake: DataLake, instance: dg.DagsterInstance, policy: RetentionPolicy) -> int:
    run_id = retention_run_id()
    record = apply_retention(lake, policy, run_id, lambda holder: run_finished(instance, holder))
    report_retention(instance, record)
    compacted = sum(len(entry.get("raw_compacted", {})) for entry in record.days.values())
    pruned = sum("published_removed" in entry for entry in record.days.values())
    print(
        f"{len(record.days)} published day(s); {compacted} raw file(s) compacted, tables of {pruned} day(s) removed; "
        f"{record.bytes_before:,} -> {record.bytes_after:,} bytes. Record: "
        f"{lake.root_path / RETENTION_DIR / f'{run_id}.json'}"
    )
    for reason in record.skipped:
        print(f"  left as it was: {reason}")
    return 0


def migrate(lake: DataLake) -> int:
    root = lake.root_path
    if PublishedState(root).root.exists():
        print(f"{root} already has the current layout (published/): nothing to migrate")
        return 0
    legacy = root / f"legacy-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    moved = []
    for name in ("tables", "quarantine", "kpis", "warehouse.duckdb"):
        if (root / name).exists():
            legacy.mkdir(parents=True, exist_ok=True)
            shutil.move(root / name, legacy / name)
            moved.append(name)
    PublishedState(root).root.mkdir(parents=True)
    print(f"Set aside under {legacy}: {', '.join(moved) or 'nothing'}. The raw archive (raw/) is kept as it was.")
    print("Now rebuild the archived days in order: python -m media_assets.admin rebuild-archive")
    return 0


def rebuild_archive(lake: DataLake, instance: dg.DagsterInstance) -> int:
    raw_root = lake.root_path / "raw"
    days = sorted(entry.name for entry in raw_root.iterdir() if entry.is_dir()) if raw_root.is_dir() else []
    for day in days:
        print(f"building {day} from its archived raw files")
        if not run_day(instance, day):
            print(f"{day} failed (see the run in the UI); later days were not built", file=sys.stderr)
            return 1
    print(f"{len(days)} archived day(s) built")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m media_assets.admin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("MEDIA_ASSETS_DATA_DIR", "data"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status")
    publish = commands.add_parser("publish", help="publish a day despite failed gates")
    publish.add_argument("day", type=_day)
    publish.add_argument("--waive", required=True, metavar="REASON", help="why the failed gates are acceptable")
    withdraw = commands.add_parser("unpublish", help="withdraw a published day")
    withdraw.add_argument("day", type=_day)
    withdraw.add_argument("--reason", required=True)
    commands.add_parser("rebuild")
    commands.add_parser("migrate")
    commands.add_parser("rebuild-archive")
    keep = commands.add_parser("retention", help="compact and prune what the retention policy does not keep whole")
    keep.add_argument("--keep-days", type=int, default=settings.retention_keep_days)
    keep.add_argument("--keyframe-days", type=int, default=settings.retention_keyframe_days)
    restore_day = commands.add_parser("restore", help="rebuild the pruned days a day's build reads")
    restore_day.add_argument("day", type=_day)
    args = parser.parse_args(argv)
    lake = DataLake(root=args.data_dir)
    if args.command == "retention":
        try:
            policy = RetentionPolicy(args.keep_days, args.keyframe_days)
        except ValueError as error:
            parser.error(str(error))
    if args.command == "status":
        return status(lake)
    if args.command == "migrate":
        return migrate(lake)
    with dg.DagsterInstance.get() as instance:
        try:
            if args.command == "publish":
                return publish_with_waiver(lake, instance, args.day, args.waive)
            if args.command == "unpublish":
                return unpublish(lake, instance, args.day, args.reason)
            if args.command == "rebuild":
                return rebuild(lake, instance)
            if args.command == "retention":
                return retention(lake, instance, policy)
            if args.command == "restore":
                return restore(lake, instance, args.day)
            return rebuild_archive(lake, instance)
        except (PublishRefused, FileNotFoundError, WarehouseInUseError) as error:
            print(error, file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
