"""`pipeline_metrics.json`: what a run did for one partition, read back from the run's events.

Per asset of the run: rows in/out, step seconds (STEP_START to STEP_SUCCESS), bytes written and the peak
resident memory of the process that wrote it, as recorded in materialization metadata. Per quality gate: its
evaluation in this run, or else the latest one for the partition. Plus the quality score, the run id and the
kind of IMDb source. Two days' files can be diffed to see what changed in the pipeline's behaviour.
"""

import datetime as dt
from collections.abc import Mapping, Sequence

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES
from pydantic import BaseModel, ConfigDict

from media_assets.partitions import partition_date
from media_assets.quality.assets import QUALITY_CHECK_KEYS
from media_assets.quality.gates import quality_score
from media_assets.sources.assets import raw_asset_key
from media_assets.sources.imdb_files import IMDB_FILES

RUN_EVENT_TYPES = {
    dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


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


class GateFigures(BaseModel):
    """One quality gate's evaluation for the partition."""

    model_config = ConfigDict(extra="forbid")

    asset: str
    passed: bool
    pass_rate: float | None
    threshold: float | None
    rows_checked: int | None
    failing_count: int | None
    run_id: str
    """The run that evaluated it: this run, or an earlier one when this run did not include the check."""
    seconds: float | None
    """Duration of the check's step (only for evaluations of this run; steps may evaluate several gates)."""


class QualityFigures(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float | None
    """20% x each gate's pass rate; null when a gate was never evaluated for the partition."""
    gates: dict[str, GateFigures | None]


class PipelineMetrics(BaseModel):
    """The content of `pipeline_metrics.json` for one partition."""

    model_config = ConfigDict(extra="forbid")

    snapshot_date: dt.date
    run_id: str
    job_name: str | None
    source_kind: str | None
    """The raw assets' `source_kind` (sample, http or file); several, comma-separated, if they differ."""
    run_seconds: float | None
    """From the run's start to the writing of this file."""
    assets: dict[str, AssetFigures]
    quality: QualityFigures


def _metadata_value(metadata: Mapping[str, dg.MetadataValue], key: str) -> object:
    value = metadata.get(key)
    return None if value is None else value.value


def step_seconds(events: Sequence[dg.EventLogEntry]) -> dict[str, float]:
    """Seconds from STEP_START to STEP_SUCCESS of each finished step."""
    started: dict[str, float] = {}
    durations: dict[str, float] = {}
    for event in events:
        if event.step_key is None:
            continue
        if event.dagster_event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = event.timestamp
        elif event.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS and event.step_key in started:
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


def _gate_figures(evaluation: dg.AssetCheckEvaluation, run_id: str, seconds: float | None) -> GateFigures:
    return GateFigures(
        asset=evaluation.asset_key.to_user_string(),
        passed=evaluation.passed,
        pass_rate=_metadata_value(evaluation.metadata, "pass_rate"),
        threshold=_metadata_value(evaluation.metadata, "threshold"),
        rows_checked=_metadata_value(evaluation.metadata, "rows_checked"),
        failing_count=_metadata_value(evaluation.metadata, "failing_count"),
        run_id=run_id,
        seconds=seconds,
    )


def quality_figures(
    instance: dg.DagsterInstance, run_id: str, events: Sequence[dg.EventLogEntry], partition_key: str
) -> QualityFigures:
    """Each gate's evaluation for `partition_key` in this run, else the latest completed one; and the score."""
    seconds = step_seconds(events)
    in_run = {}
    for event in events:
        evaluation = event.asset_check_evaluation
        if evaluation is not None and evaluation.partition == partition_key:
            in_run[evaluation.asset_check_key] = _gate_figures(evaluation, run_id, seconds.get(event.step_key or ""))
    gates: dict[str, GateFigures | None] = {}
    for gate, check_key in QUALITY_CHECK_KEYS.items():
        if check_key in in_run:
            gates[gate] = in_run[check_key]
            continue
        latest = instance.event_log_storage.get_asset_check_execution_history(
            check_key,
            limit=1,
            status=COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
            partition_filter=PartitionKeyFilter(key=partition_key),
        )
        evaluation = latest[0].event.asset_check_evaluation if latest and latest[0].event else None
        gates[gate] = None if evaluation is None else _gate_figures(evaluation, latest[0].run_id, None)
    pass_rates = {gate: figures.pass_rate if figures else None for gate, figures in gates.items()}
    return QualityFigures(score=quality_score(pass_rates), gates=gates)


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


def collect_pipeline_metrics(
    instance: dg.DagsterInstance, run_id: str, partition_key: str, own_asset: str, own_figures: AssetFigures
) -> PipelineMetrics:
    """Pipeline metrics of `run_id` for `partition_key`, read from the instance's event log while the run is still
    going: `own_asset` (the asset writing the file, whose step has not finished) brings its own figures."""
    events = instance.all_logs(run_id, of_type=RUN_EVENT_TYPES)
    run_started = [event.timestamp for event in events if event.dagster_event_type == dg.DagsterEventType.RUN_START]
    run = instance.get_run_by_id(run_id)
    return PipelineMetrics(
        snapshot_date=partition_date(partition_key),
        run_id=run_id,
        job_name=run.job_name if run else None,
        source_kind=source_kind(instance, events, partition_key),
        run_seconds=round(dt.datetime.now(dt.UTC).timestamp() - run_started[0], 3) if run_started else None,
        assets=asset_figures(events, partition_key) | {own_asset: own_figures},
        quality=quality_figures(instance, run_id, events, partition_key),
    )
