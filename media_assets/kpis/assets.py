"""The KPI asset: `kpis.json` and `pipeline_metrics.json` of a snapshot day, and the KPIs as UI metadata."""

import datetime as dt
import math
import time
from typing import Any

import dagster as dg
import polars as pl

from media_assets.atomic_files import write_json_atomically
from media_assets.kpis.compute import Kpi, RatingParameters, RatingsSnapshot, StarSchema, compute_kpis
from media_assets.kpis.metrics import AssetFigures, PipelineMetrics, collect_pipeline_metrics
from media_assets.partitions import daily_partitions, partition_date
from media_assets.resources import DataLake
from media_assets.telemetry import peak_rss_bytes

KPI_GROUP = "kpis"
KPI_ASSET_NAME = "media_kpis"
KPIS_FILE = "kpis.json"
PIPELINE_METRICS_FILE = "pipeline_metrics.json"
RATINGS_ASSET = "fact_ratings"
TMDB_ASSET = "tmdb_title_details"


def rating_parameters(instance: dg.DagsterInstance, partition_key: str) -> RatingParameters:
    """m and C as recorded on the latest materialization of fact_ratings for the partition."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(RATINGS_ASSET), asset_partitions=[partition_key]), limit=1
    ).records
    metadata = records[0].asset_materialization.metadata if records and records[0].asset_materialization else {}
    if "m" not in metadata or "C" not in metadata:
        raise ValueError(
            f"{RATINGS_ASSET} partition {partition_key}: its materialization metadata has no `m` and `C` (the "
            "parameters of the Bayesian weighted rating); materialize fact_ratings for this partition first"
        )
    # fact_ratings records NaN when the day has no rated title; JSON has no NaN.
    return RatingParameters(
        **{name: None if math.isnan(metadata[name].value) else metadata[name].value for name in ("m", "C")}
    )


def previous_ratings(data_lake: DataLake, snapshot_date: dt.date) -> RatingsSnapshot | None:
    """fact_ratings of the day before, if it was materialized.

    Read from its file rather than as a second input: Dagster maps each upstream asset to one input, and
    fact_ratings is already the input of the day itself.
    """
    previous_date = snapshot_date - dt.timedelta(days=1)
    path = data_lake.table_path(RATINGS_ASSET, previous_date.isoformat())
    return RatingsSnapshot(previous_date, pl.scan_parquet(path)) if path.exists() else None


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
        metadata[f"quality/{gate}_pass_rate"] = _metadata_scalar(figures.pass_rate if figures else None)
    return metadata


@dg.asset(
    name=KPI_ASSET_NAME,
    partitions_def=daily_partitions,
    group_name=KPI_GROUP,
    kinds={"polars", "json"},
    owners=["team:data-engineering"],
    tags={"layer": "kpis"},
)
def media_kpis(
    context: dg.AssetExecutionContext,
    data_lake: DataLake,
    dim_title: pl.LazyFrame,
    dim_person: pl.LazyFrame,
    dim_genre: pl.LazyFrame,
    dim_date: pl.LazyFrame,
    title_genre_bridge: pl.LazyFrame,
    fact_ratings: pl.LazyFrame,
    fact_cast_crew: pl.LazyFrame,
) -> dg.MaterializeResult:
    """The media KPIs of the snapshot day (titles by type, rating coverage, top titles, genre, talent and
    production trends, vote gains since the day before, TMDb revenue/ROI when enriched), written to
    `<data dir>/kpis/<day>/kpis.json`, with the run's execution telemetry and quality score in
    `pipeline_metrics.json` beside it. Runs only when the blocking quality gates of the model tables pass."""
    started = time.perf_counter()
    partition_key = context.partition_key
    snapshot_date = partition_date(partition_key)
    report = compute_kpis(
        StarSchema(
            dim_title=dim_title,
            dim_person=dim_person,
            dim_genre=dim_genre,
            dim_date=dim_date,
            title_genre_bridge=title_genre_bridge,
            fact_ratings=fact_ratings,
            fact_cast_crew=fact_cast_crew,
        ),
        snapshot_date,
        rating_parameters(context.instance, partition_key),
        previous=previous_ratings(data_lake, snapshot_date),
        tmdb_details=tmdb_details(data_lake, partition_key),
    )
    kpi_dir = data_lake.kpi_dir(partition_key)
    kpis_path = kpi_dir / KPIS_FILE
    kpis_bytes = write_json_atomically(kpis_path, report.model_dump(mode="json"))
    metrics = collect_pipeline_metrics(
        context.instance,
        context.run.run_id,
        partition_key,
        own_asset=KPI_ASSET_NAME,
        own_figures=AssetFigures(
            step_key=context.get_step_execution_context().step.key,
            seconds=round(time.perf_counter() - started, 3),
            rows_in=None,
            rows_out=None,
            bytes_written=kpis_bytes,
            peak_rss_bytes=peak_rss_bytes(),
        ),
    )
    metrics_path = kpi_dir / PIPELINE_METRICS_FILE
    write_json_atomically(metrics_path, metrics.model_dump(mode="json"))
    metadata: dict[str, dg.MetadataValue] = {
        "kpis_path": dg.MetadataValue.path(str(kpis_path)),
        "pipeline_metrics_path": dg.MetadataValue.path(str(metrics_path)),
        "m": _metadata_scalar(report.parameters.m),
        "C": _metadata_scalar(report.parameters.C),
        "bytes_written": dg.MetadataValue.int(kpis_bytes),
        "seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 3)),
        "peak_rss_bytes": dg.MetadataValue.int(peak_rss_bytes()),
    }
    metadata |= quality_metadata(metrics)
    for kpi in report.kpis.values():
        metadata |= kpi_metadata(kpi)
    return dg.MaterializeResult(metadata=metadata)


kpi_assets = [media_kpis]
