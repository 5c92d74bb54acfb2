"""Publish layer: a day's audited star schema made visible to readers, and the DuckDB warehouse over every
published day.

`published_star_schema` runs only when every blocking gate of `quality_audit` passed (Dagster skips it
otherwise), and checks again itself, from the audit's report, before it switches anything: a run that selects it
alone cannot publish an unaudited or failed day.
"""

import datetime as dt
import warnings
from collections.abc import Iterator

import dagster as dg
import pyarrow.parquet as pq

from media_assets import owners
from media_assets.model.transforms import MODEL_TABLES
from media_assets.partitions import daily_partitions, partition_date
from media_assets.publish.state import (
    CHAIN_TABLE,
    PREDECESSOR_SHA256_KEY,
    ChainLink,
    OutOfDateDay,
    PublishedDay,
)
from media_assets.publish.warehouse import WarehouseInUseError, sync_warehouse
from media_assets.quality.assets import QUALITY_AUDIT, generation_of
from media_assets.quality.report import attempt_report_path, failed_gates, read_report, record_publication
from media_assets.resources import DataLake

PUBLISH_GROUP = "publish"
PUBLISHED_ASSET = "published_star_schema"
HISTORY_CHECK = "history_up_to_date"


class PublishRefused(RuntimeError):
    """The staged tables of a day cannot be published as they are; the message says why and what to do."""


def staged_generation(instance: dg.DagsterInstance, partition_key: str, generation: str) -> dg.EventLogRecord:
    """Check that every model table's latest staged file of the day comes from `generation`, so the published
    tables are of one attempt; returns dim_title's materialization record (it carries the chain link)."""
    mixed = []
    dim_title_record = None
    for table in MODEL_TABLES:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(table), asset_partitions=[partition_key]), limit=1
        ).records
        run = instance.get_run_by_id(records[0].run_id) if records else None
        if run is None or generation_of(run) != generation:
            mixed.append(f"{table} ({'never staged' if run is None else 'staged by run ' + run.run_id})")
        elif table == CHAIN_TABLE:
            dim_title_record = records[0]
    if mixed:
        raise PublishRefused(
            f"{partition_key}: the staged tables are not all from attempt {generation}: {', '.join(mixed)}. Another "
            "run staged this day meanwhile; re-run the whole day to publish it."
        )
    return dim_title_record


def chain_link(dim_title_record: dg.EventLogRecord) -> ChainLink | None:
    """The predecessor the staged dim_title was built from, from its materialization metadata."""
    metadata = dim_title_record.asset_materialization.metadata
    sha256 = metadata[PREDECESSOR_SHA256_KEY].value
    if not sha256:
        return None
    return ChainLink(dt.date.fromisoformat(metadata["predecessor_day"].value), sha256)


def history_check_evaluation(day: OutOfDateDay) -> dg.AssetCheckEvaluation:
    """A failed `history_up_to_date` evaluation of an out-of-date day, naming the day to rebuild from."""
    rebuild_from = day.rebuild_from.isoformat() if day.rebuild_from else "nothing (it now starts the history)"
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(PUBLISHED_ASSET),
        check_name=HISTORY_CHECK,
        passed=False,
        partition=day.snapshot_date.isoformat(),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"Out of date: {day.reason}. Rebuild it from {rebuild_from} (the history rebuild sensor does "
        "it in day order; without the daemon: python -m media_assets.admin rebuild).",
        metadata={"rebuild_from": rebuild_from, "reason": day.reason},
    )


def report_out_of_date(instance: dg.DagsterInstance, days: list[OutOfDateDay]) -> None:
    """Show out-of-date published days in the UI, each as a failed history check naming the day to rebuild from."""
    for day in days:
        instance.report_runless_asset_event(history_check_evaluation(day))


def publish_day(
    instance: dg.DagsterInstance,
    data_lake: DataLake,
    partition_key: str,
    generation: str,
    waiver: dict | None = None,
) -> PublishedDay:
    """Publish the staged star schema of a day from attempt `generation` (see the module); with `waiver` (reason
    and failed gates), despite failed gates. Returns the published day."""
    report_path = attempt_report_path(data_lake, partition_key, generation)
    if not report_path.is_file():
        raise PublishRefused(
            f"{partition_key}: attempt {generation} has no quality report at {report_path}: its quality_audit did "
            "not run, so it cannot be published."
        )
    failed = failed_gates(read_report(report_path))
    if failed and waiver is None:
        raise PublishRefused(
            f"{partition_key}: gates {', '.join(failed)} failed in attempt {generation} ({report_path}). Fix the "
            "source and re-run the day, or publish it with a waiver: python -m media_assets.admin publish "
            f"{partition_key} --waive 'reason'."
        )
    link = chain_link(staged_generation(instance, partition_key, generation))
    snapshot_date = partition_date(partition_key)
    published = data_lake.published.publish(
        snapshot_date,
        generation,
        {table: data_lake.table_path(table, partition_key) for table in MODEL_TABLES},
        predecessor=link,
        quality_report=report_path,
        waiver=waiver,
    )
    record_publication(data_lake, partition_key, generation, waiver)
    return published


# Partitioned checks are a preview feature in Dagster 1.13; the history check must be per day.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)
    history_check_spec = dg.AssetCheckSpec(
        HISTORY_CHECK,
        asset=PUBLISHED_ASSET,
        description="The day was built from the latest earlier published day as it is now (else: out of date, "
        "with the day to rebuild from).",
        partitions_def=daily_partitions,
    )


@dg.asset(
    name=PUBLISHED_ASSET,
    partitions_def=daily_partitions,
    group_name=PUBLISH_GROUP,
    kinds={"parquet"},
    owners=owners.DATA_ENGINEERING,
    tags={"layer": "publish"},
    deps=[*MODEL_TABLES, QUALITY_AUDIT],
    check_specs=[history_check_spec],
)
def published_star_schema(
    context: dg.AssetExecutionContext, data_lake: DataLake
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The day's star schema as readers see it: the staged tables of this attempt, published once every blocking
    gate of quality_audit passed. They are hard-linked into `published/<day>/<generation>/` and the day's
    `published/<day>/manifest.json` switches to them atomically, so a failed day leaves every published day (its
    own earlier publication included) as it was. Publishing an earlier day than already published ones makes
    those out of date (failed `history_up_to_date` on each); the history rebuild sensor rebuilds them in order."""
    partition_key = context.partition_key
    generation = generation_of(context.run)
    published = publish_day(context.instance, data_lake, partition_key, generation)
    data_lake.published.release_chain(context.run.run_id)
    out_of_date = data_lake.published.out_of_date()
    own = next((day for day in out_of_date if day.snapshot_date == published.snapshot_date), None)
    out_of_date = [day for day in out_of_date if day is not own]
    report_out_of_date(context.instance, out_of_date)
    if own:
        context.log.warning(f"{partition_key} published, but out of date already: {own.reason}")
    rows = {table: pq.ParquetFile(path).metadata.num_rows for table, path in published.tables.items()}
    context.log.info(
        f"{partition_key} published (attempt {generation}, built from "
        f"{published.predecessor.snapshot_date if published.predecessor else 'nothing: the first day'}): "
        f"{data_lake.published.manifest_path(published.snapshot_date)}\n  rows: "
        + ", ".join(f"{table} {count:,}" for table, count in rows.items())
    )
    if out_of_date:
        context.log.warning(
            "Out of date now (the history rebuild sensor rebuilds them in day order, or run "
            f"`python -m media_assets.admin rebuild`): {', '.join(d.snapshot_date.isoformat() for d in out_of_date)}"
        )
    yield dg.MaterializeResult(
        metadata={
            "generation": generation,
            "predecessor_day": published.predecessor.snapshot_date.isoformat() if published.predecessor else "none",
            "manifest": dg.MetadataValue.path(str(data_lake.published.manifest_path(published.snapshot_date))),
            "tables": dg.MetadataValue.json({name: str(path) for name, path in published.tables.items()}),
            "out_of_date_days": dg.MetadataValue.json([d.snapshot_date.isoformat() for d in out_of_date]),
        }
    )
    yield (
        dg.AssetCheckResult(check_name=HISTORY_CHECK, passed=True, description="Built from the published chain.")
        if own is None
        else dg.AssetCheckResult(
            check_name=HISTORY_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=history_check_evaluation(own).description,
        )
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name=PUBLISH_GROUP,
    kinds={"duckdb"},
    owners=owners.DATA_ENGINEERING,
    tags={"layer": "publish"},
    deps=[PUBLISHED_ASSET],
)
def warehouse(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """DuckDB warehouse (<data dir>/warehouse.duckdb) over every published day: fact_ratings of all days (copied
    in), dim_title as the full SCD2 history and the other tables of the newest published day (views over its
    published Parquet files), and views for the common questions (`latest_ratings`, `title_ratings_history`,
    `catalogue_on(day)`), e.g. `SELECT * FROM catalogue_on(DATE '2026-11-20') LIMIT 5`. Updated in one
    transaction, loading only the days whose publication changed; then the superseded publications are removed
    (the views no longer read them). Running it again re-points the views after the data directory moved."""
    try:
        row_counts = sync_warehouse(data_lake.warehouse_path, data_lake.published)
    except WarehouseInUseError as error:  # a reader left open: the person closes it, no traceback helps
        raise dg.Failure(description=str(error), allow_retries=False) from error
    removed = data_lake.published.prune()
    days = data_lake.published.days()
    query = "SELECT * FROM latest_ratings ORDER BY num_votes DESC LIMIT 5"
    context.log.info(
        f"warehouse {data_lake.warehouse_path}: {len(days)} published day(s), newest {days[-1] if days else 'none'}. "
        f"Try: python -c \"import duckdb; duckdb.connect('{data_lake.warehouse_path}', read_only=True)"
        f".sql('{query}').show()\""
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(data_lake.warehouse_path)),
            "published_days": len(days),
            "newest_day": days[-1].isoformat() if days else "none",
            "row_counts": dg.MetadataValue.json(row_counts),
            "superseded_publications_removed": len(removed),
        }
    )


publish_assets = [published_star_schema, warehouse]
