"""The KPI asset: `kpis.json` and `pipeline_metrics.json` of a published snapshot day, and the KPIs as UI metadata."""

import datetime as dt
import time
from typing import Any

import dagster as dg
import polars as pl

from media_assets import owners
from media_assets.atomic_files import write_json_atomically
from media_assets.kpis.context import KpiContext, PreviousRatings, StarSchema
from media_assets.kpis.metrics import AssetFigures, PipelineMetrics, write_pipeline_metrics
from media_assets.kpis.registry import compute_kpis
from media_assets.kpis.report import Kpi
from media_assets.partitions import daily_partitions, partition_date
from media_assets.publish.assets import PUBLISHED_ASSET
from media_assets.publish.state import PublishedDay
from media_assets.resources import DataLake
from media_assets.telemetry import peak_rss_bytes

KPI_GROUP = "kpis"
KPI_ASSET_NAME = "media_kpis"
KPIS_FILE = "kpis.json"
PUBLISHED_STAR_SCHEMA = dg.AssetKey(PUBLISHED_ASSET)
TMDB_ASSET = "tmdb_title_details"


def published_day(data_lake: DataLake, snapshot_date: dt.date) -> PublishedDay:
    """The day's published state; fails when the day is not published (only a manual call can get here)."""
    published = data_lake.published.get(snapshot_date)
    if published is None:
        raise dg.Failure(
            description=(
                f"{snapshot_date} is not published (no {data_lake.published.manifest_path(snapshot_date)}): the KPIs "
                f"read only published days. Materialize {PUBLISHED_STAR_SCHEMA.to_user_string()} for {snapshot_date} "
                "first (it publishes the day when its quality gates pass), then the KPIs."
            )
        )
    return published


def previous_ratings(data_lake: DataLake, snapshot_date: dt.date) -> PreviousRatings | None:
    """fact_ratings of the latest published day before `snapshot_date` (None: none is published)."""
    previous = data_lake.published.latest_before(snapshot_date)
    if previous is None:
        return None
    fact_ratings = pl.read_parquet(previous.table("fact_ratings"), columns=["title_id", "num_votes"])
    return PreviousRatings(previous.snapshot_date, fact_ratings)


def tmdb_details(data_lake: DataLake, partition_key: str) -> pl.DataFrame | None:
    """The TMDb enrichment of the day, if it ran: not an input, so that the daily graph never waits for TMDb."""
    path = data_lake.table_path(TMDB_ASSET, partition_key)
    return pl.read_parquet(path) if path.exists() else None


def _markdown_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows as a Markdown table (the UI renders it)."""
    if not rows:
        return "_no rows_"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_markdown_cell(row[column]) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def _metadata_scalar(value: object) -> dg.MetadataValue:
    # bool is an int in Python: test it first so it shows as a boolean.
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if value is None:
        return dg.MetadataValue.null()
    return dg.MetadataValue.text(str(value))


def kpi_metadata(kpi: Kpi) -> dict[str, dg.MetadataValue]:
    """A KPI as materialization metadata: numbers as numbers (plotted across partitions), tables as Markdown."""
    prefix = f"{kpi.id:02d}_{kpi.name}"
    if kpi.skipped:
        return {prefix: dg.MetadataValue.text(f"skipped: {kpi.note}")}
    metadata = {f"{prefix}/{name}": _metadata_scalar(value) for name, value in kpi.values.items()}
    metadata |= {f"{prefix}/{name}": dg.MetadataValue.md(markdown_table(rows)) for name, rows in kpi.tables.items()}
    return metadata


def quality_metadata(metrics: PipelineMetrics) -> dict[str, dg.MetadataValue]:
    """The quality score and each gate's pass rate, as numbers."""
    metadata = {"quality_score": _metadata_scalar(metrics.quality.score)}
    for gate, figures in metrics.quality.gates.items():
        metadata[f"quality/{gate}_pass_rate"] = _metadata_scalar(figures.pass_rate)
    return metadata


@dg.asset(
    name=KPI_ASSET_NAME,
    partitions_def=daily_partitions,
    deps=[PUBLISHED_STAR_SCHEMA],
    group_name=KPI_GROUP,
    kinds={"polars", "json"},
    owners=owners.DATA_ENGINEERING,
    tags={"layer": "kpis"},
)
def media_kpis(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """The media KPIs of a published snapshot day (titles by type, rating coverage, top titles, genre, talent and
    production trends, vote gains since the previous published day, TMDb revenue/ROI when enriched), written to
    `<data dir>/kpis/<day>/kpis.json`, with the run's execution telemetry and quality score in
    `pipeline_metrics.json` beside it. Reads the day's tables and the previous published day's fact_ratings
    through the published state only, so it sees nothing a quality gate stopped."""
    started = time.perf_counter()
    partition_key = context.partition_key
    snapshot_date = partition_date(partition_key)
    published = published_day(data_lake, snapshot_date)
    previous = previous_ratings(data_lake, snapshot_date)
    report = compute_kpis(
        KpiContext.load(
            StarSchema.scan(published.tables),
            snapshot_date,
            previous=previous,
            tmdb_details=tmdb_details(data_lake, partition_key),
        )
    )
    kpis_path = data_lake.kpi_dir(partition_key) / KPIS_FILE
    kpis_bytes = write_json_atomically(kpis_path, report.model_dump(mode="json"))
    own_figures = AssetFigures(
        step_key=context.get_step_execution_context().step.key,
        seconds=round(time.perf_counter() - started, 3),
        rows_in=None,
        rows_out=None,
        bytes_written=kpis_bytes,
        peak_rss_bytes=peak_rss_bytes(),
    )
    metrics_path, metrics = write_pipeline_metrics(
        context.instance, context.run, data_lake, running_asset=(KPI_ASSET_NAME, own_figures)
    )
    metadata: dict[str, dg.MetadataValue] = {
        "kpis_path": dg.MetadataValue.path(str(kpis_path)),
        "pipeline_metrics_path": dg.MetadataValue.path(str(metrics_path)),
        "published_generation": dg.MetadataValue.text(published.generation),
        "previous_published_day": _metadata_scalar(previous.snapshot_date.isoformat() if previous else None),
        "m": _metadata_scalar(report.parameters.m),
        "C": _metadata_scalar(report.parameters.C),
        "bytes_written": dg.MetadataValue.int(kpis_bytes),
        "seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 3)),
        "peak_rss_bytes": dg.MetadataValue.int(peak_rss_bytes()),
    }
    metadata |= quality_metadata(metrics)
    context.log.info(f"{partition_key}: {len(report.kpis)} KPIs in {kpis_path}; run figures in {metrics_path}")
    for kpi in report.kpis.values():
        metadata |= kpi_metadata(kpi)
    return dg.MaterializeResult(metadata=metadata)


kpi_assets = [media_kpis]
