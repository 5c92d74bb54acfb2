"""`pipeline_metrics.json`: what the latest run of a day did, read back from the run's events.

Written by the KPI asset at the end of a day's successful run, and by the run-failure sensor
(`media_assets.run_failure`) when a run of the day failed, or a blocking quality gate stopped it: a failed or
blocked day gets its file too, naming the steps that failed.

Per asset the run materialized: rows in/out, step seconds (STEP_START to STEP_SUCCESS), bytes written and the peak
resident memory of the process that wrote it, as recorded in materialization metadata. The day's quality figures
come from its quality report (`<data dir>/quality/<day>/`): the report of this run's audit, else that of the
published attempt, else the latest attempt's. Plus the run id, the published generation, the kind of IMDb source.
Only public Dagster APIs are used (the instance's run events and materialization records).
"""

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import BaseModel, ConfigDict

from media_assets.atomic_files import write_json_atomically
from media_assets.partitions import partition_date
from media_assets.quality.assets import generation_of
from media_assets.quality.report import attempt_report_path, latest_report_path
from media_assets.resources import DataLake
from media_assets.sources.assets import raw_asset_key
from media_assets.sources.imdb_files import IMDB_FILES

PIPELINE_METRICS_FILE = "pipeline_metrics.json"
PARTITION_TAG = "dagster/partition"
"""Dagster's documented tag naming the partition of a single-partition run."""

RUN_EVENT_TYPES = {
    dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}
_STEP_ENDS = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
_RUN_ENDS = {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE}


class AssetFigures(BaseModel):
    """One asset's materialization in the run."""

    model_config = ConfigDict(extra="forbid")

    step_key: str | None
    seconds: float | None
    """Duration of the step that materialized it (steps may materialize several assets)."""
    rows_in: int | None
    rows_out: int | None
    """Rows of the stored table (`dagster/row_count`); null for raw files, which are not inflated to count them."""
    bytes_written: int | None
    peak_rss_bytes: int | None
    """Peak resident memory of the process running the step (each step has its own process with the default
    multiprocess executor)."""


class FailedStep(BaseModel):
    """A step of the run that failed."""

    model_config = ConfigDict(extra="forbid")

    step_key: str
    seconds: float | None
    error: str | None
    """The error's class and message (the code's own exception, not Dagster's wrapper)."""


class GateFigures(BaseModel):
    """One quality gate, as the day's quality report gives it."""

    model_config = ConfigDict(extra="forbid")

    status: str | None
    """passed, failed or no_data."""
    passed: bool | None
    pass_rate: float | None
    threshold: float | None
    rows_checked: int | None
    failing_count: int | None


class QualityFigures(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report: str | None
    """The quality report read, relative to the data directory (null: the day has none)."""
    score: float | None
    """The report's quality score (null when a gate had no data, or without a report)."""
    gates: dict[str, GateFigures]


class PipelineMetrics(BaseModel):
    """The content of `pipeline_metrics.json` for one day: its latest run."""

    model_config = ConfigDict(extra="forbid")

    snapshot_date: dt.date
    run_id: str
    job_name: str | None
    status: Literal["succeeded", "failed", "blocked"]
    """blocked: a blocking quality gate failed (its step is among `failed_steps`); failed: another step failed."""
    failed_steps: list[FailedStep]
    blocked_by: list[str]
    """The failed blocking checks of the run, as `<asset>:<check>`."""
    published_generation: str | None
    """The run (group) whose tables are the day's published state now; null when the day is not published. A
    failed run leaves an earlier attempt's publication in place."""
    source_kind: str | None
    """The raw assets' `source_kind` (sample, http or file); several, comma-separated, if they differ."""
    run_seconds: float | None
    """From the run's start to its end, or to the writing of this file while it still runs."""
    assets: dict[str, AssetFigures]
    quality: QualityFigures


def _metadata_value(metadata: Mapping[str, dg.MetadataValue], key: str) -> object:
    value = metadata.get(key)
    return None if value is None else value.value


def step_seconds(events: Sequence[dg.EventLogEntry]) -> dict[str, float]:
    """Seconds from STEP_START to STEP_SUCCESS or STEP_FAILURE of each finished step."""
    started: dict[str, float] = {}
    durations: dict[str, float] = {}
    for event in events:
        if event.step_key is None:
            continue
        if event.dagster_event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = event.timestamp
        elif event.dagster_event_type in _STEP_ENDS and event.step_key in started:
            durations[event.step_key] = round(event.timestamp - started[event.step_key], 3)
    return durations


def asset_figures(events: Sequence[dg.EventLogEntry], partition_key: str) -> dict[str, AssetFigures]:
    """The figures of every asset the run materialized for `partition_key`, from materialization metadata."""
    seconds = step_seconds(events)
    figures = {}
    for event in events:
        materialization = event.asset_materialization
        if materialization is None or materialization.partition != partition_key:
            continue
        metadata = materialization.metadata
        figures[materialization.asset_key.to_user_string()] = AssetFigures(
            step_key=event.step_key,
            seconds=seconds.get(event.step_key) if event.step_key else None,
            rows_in=_metadata_value(metadata, "rows_in"),
            rows_out=_metadata_value(metadata, "dagster/row_count"),
            # Raw assets record the size of the file they placed as `bytes`.
            bytes_written=_metadata_value(metadata, "bytes_written") or _metadata_value(metadata, "bytes"),
            peak_rss_bytes=_metadata_value(metadata, "peak_rss_bytes"),
        )
    return figures


def failed_steps(events: Sequence[dg.EventLogEntry]) -> list[FailedStep]:
    seconds = step_seconds(events)
    failed = []
    for event in events:
        if event.dagster_event_type != dg.DagsterEventType.STEP_FAILURE or event.step_key is None:
            continue
        # `event_specific_data.error` as in the documented example of RunFailureSensorContext.get_step_failure_events.
        error = event.dagster_event.event_specific_data.error if event.dagster_event else None
        # Dagster wraps the code's exception: the code's own error is the innermost cause.
        while error is not None and error.cause is not None:
            error = error.cause
        failed.append(
            FailedStep(
                step_key=event.step_key,
                seconds=seconds.get(event.step_key),
                error=error.message.strip() if error else None,
            )
        )
    return failed


def failed_blocking_checks(events: Sequence[dg.EventLogEntry]) -> list[str]:
    failed = set()
    for event in events:
        evaluation = event.asset_check_evaluation
        if evaluation is not None and evaluation.blocking and not evaluation.passed:
            failed.add(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return sorted(failed)


def quality_report_path(data_lake: DataLake, run: dg.DagsterRun, partition_key: str) -> Path | None:
    """The report of this attempt's audit of the day (a re-executed run's attempt is its root run's), else that of
    the day's published attempt, else the latest attempt's."""
    this_run = attempt_report_path(data_lake, partition_key, generation_of(run))
    if this_run.is_file():
        return this_run
    published = data_lake.published.get(partition_date(partition_key))
    if published is not None and published.quality_report is not None and published.quality_report.is_file():
        return published.quality_report
    latest = latest_report_path(data_lake, partition_key)
    return latest if latest.is_file() else None


def quality_figures(data_lake: DataLake, report_path: Path | None) -> QualityFigures:
    """Score and gates of a quality report (empty without one)."""
    if report_path is None:
        return QualityFigures(report=None, score=None, gates={})
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    return QualityFigures(
        report=str(report_path.relative_to(data_lake.root_path)),
        score=report.get("quality_score"),
        gates={
            gate: GateFigures(**{name: figures.get(name) for name in GateFigures.model_fields})
            for gate, figures in report.get("gates", {}).items()
        },
    )


def source_kind(instance: dg.DagsterInstance, events: Sequence[dg.EventLogEntry], partition_key: str) -> str | None:
    """The raw assets' `source_kind` for the partition: from this run, else from their latest materialization."""
    kinds = set()
    raw_keys = {raw_asset_key(imdb_file) for imdb_file in IMDB_FILES}
    for event in events:
        materialization = event.asset_materialization
        if materialization and materialization.asset_key in raw_keys and materialization.partition == partition_key:
            raw_keys.discard(materialization.asset_key)
            kinds.add(_metadata_value(materialization.metadata, "source_kind"))
    for asset_key in raw_keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition_key]), limit=1
        ).records
        if records and records[0].asset_materialization:
            kinds.add(_metadata_value(records[0].asset_materialization.metadata, "source_kind"))
    kinds.discard(None)
    return ",".join(sorted(kinds)) or None


def run_seconds(events: Sequence[dg.EventLogEntry]) -> float | None:
    started = [event.timestamp for event in events if event.dagster_event_type == dg.DagsterEventType.RUN_START]
    if not started:
        return None
    ended = [event.timestamp for event in events if event.dagster_event_type in _RUN_ENDS]
    end = ended[-1] if ended else dt.datetime.now(dt.UTC).timestamp()
    return round(end - started[0], 3)


def run_partition_key(run: dg.DagsterRun) -> str:
    partition_key = run.tags.get(PARTITION_TAG)
    if partition_key is None:
        raise ValueError(f"run {run.run_id} has no {PARTITION_TAG} tag: pipeline metrics describe one day's run")
    return partition_key


def collect_pipeline_metrics(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    data_lake: DataLake,
    running_asset: tuple[str, AssetFigures] | None = None,
) -> PipelineMetrics:
    """Pipeline metrics of `run`, read from the instance's event log. `running_asset`: (name, figures) of an
    asset whose step is still going (the KPI asset writing the file), since its events are not recorded yet."""
    partition_key = run_partition_key(run)
    events = instance.all_logs(run.run_id, of_type=RUN_EVENT_TYPES)
    failed = failed_steps(events)
    blocked_by = failed_blocking_checks(events)
    published = data_lake.published.get(partition_date(partition_key))
    assets = asset_figures(events, partition_key)
    if running_asset is not None:
        assets[running_asset[0]] = running_asset[1]
    return PipelineMetrics(
        snapshot_date=partition_date(partition_key),
        run_id=run.run_id,
        job_name=run.job_name,
        status="blocked" if blocked_by else "failed" if failed or run.is_failure else "succeeded",
        failed_steps=failed,
        blocked_by=blocked_by,
        published_generation=published.generation if published else None,
        source_kind=source_kind(instance, events, partition_key),
        run_seconds=run_seconds(events),
        assets=assets,
        quality=quality_figures(data_lake, quality_report_path(data_lake, run, partition_key)),
    )


def write_pipeline_metrics(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    data_lake: DataLake,
    running_asset: tuple[str, AssetFigures] | None = None,
) -> tuple[Path, PipelineMetrics]:
    """Collect the metrics of `run` and write them to `<data dir>/kpis/<day>/pipeline_metrics.json`."""
    metrics = collect_pipeline_metrics(instance, run, data_lake, running_asset)
    path = data_lake.kpi_dir(run_partition_key(run)) / PIPELINE_METRICS_FILE
    write_json_atomically(path, metrics.model_dump(mode="json"))
    return path, metrics
