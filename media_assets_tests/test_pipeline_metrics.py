"""pipeline_metrics.json after small runs of stand-ins of the graph (raw files, model tables, quality audit), the
real publish step and the KPI asset; for failed and blocked runs through the run-failure sensor."""

import json

import dagster as dg
import pytest

from media_assets.kpis.assets import media_kpis
from media_assets.kpis.metrics import PipelineMetrics, write_pipeline_metrics
from media_assets.model.transforms import MODEL_TABLES
from media_assets.partitions import daily_partitions
from media_assets.publish.assets import published_star_schema
from media_assets.resources import DataLake
from media_assets.run_failure import pipeline_metrics_on_failure
from media_assets.telemetry import peak_rss_bytes
from media_assets_tests.star_schema_support import (
    DAY_2,
    hand_made_model,
    model_assets,
    quality_audit_stand_in,
    quality_report,
    resources_for,
)

RAW_BYTES = {"raw_title_basics": 1_234, "raw_title_ratings": 567}
PASSING = quality_report({"rating_range": (1.0, 11, 0), "genre_coverage": (11 / 12, 12, 1)})
BLOCKING = quality_report({"rating_range": (1.0, 11, 0), "genre_coverage": (0.5, 12, 6)})


@dg.multi_asset(specs=[dg.AssetSpec(name, partitions_def=daily_partitions) for name in RAW_BYTES])
def raw_stand_in():
    """Stands in for the raw assets: one step materializing several of them, recording what the real one records."""
    for name, size in RAW_BYTES.items():
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={"source_kind": "file", "bytes": size, "sha256": "0" * 64, "peak_rss_bytes": 1},
        )


def read_metrics(root: str) -> PipelineMetrics:
    text = (DataLake(root=root).kpi_dir(DAY_2) / "pipeline_metrics.json").read_text()
    return PipelineMetrics.model_validate(json.loads(text))


def materialize(root: str, instance: dg.DagsterInstance, report: dict = PASSING, model=hand_made_model, selection=None):
    return dg.materialize(
        [
            raw_stand_in,
            *model_assets(lambda _: model()),
            quality_audit_stand_in(report),
            published_star_schema,
            media_kpis,
        ],
        partition_key=DAY_2,
        resources=resources_for(root),
        instance=instance,
        selection=selection,
        raise_on_error=False,
    )


def step_durations(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    logs = instance.all_logs(run_id)
    starts = {log.step_key: log.timestamp for log in logs if log.dagster_event_type == dg.DagsterEventType.STEP_START}
    return {
        log.step_key: log.timestamp - starts[log.step_key]
        for log in logs
        if log.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS
    }


def run_failure_sensor_on(instance: dg.DagsterInstance, run_id: str, root: str) -> dg.SkipReason | None:
    """The run-failure sensor, evaluated as the daemon would after the run failed."""
    [failure] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name=pipeline_metrics_on_failure.name,
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        resources={"data_lake": DataLake(root=root)},
    ).for_run_failure()
    return pipeline_metrics_on_failure(context)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> tuple[str, dg.DagsterInstance, str, PipelineMetrics]:
    """A run of everything, and the metrics it wrote (read at once: later tests write the file again)."""
    root = str(tmp_path_factory.mktemp("lake"))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(root, instance)
    assert result.success
    return root, instance, result.run_id, read_metrics(root)


def test_every_asset_of_the_run_with_its_figures(full_run) -> None:
    root, instance, run_id, metrics = full_run
    model = hand_made_model()
    lake = DataLake(root=root)
    assert (metrics.run_id, metrics.snapshot_date.isoformat(), metrics.source_kind) == (run_id, DAY_2, "file")
    assert (metrics.status, metrics.failed_steps, metrics.blocked_by) == ("succeeded", [], [])
    assert metrics.published_generation == run_id
    assert metrics.job_name == instance.get_run_by_id(run_id).job_name
    assert set(metrics.assets) == {*model, *RAW_BYTES, "quality_audit", "published_star_schema", "media_kpis"}
    for name, frame in model.items():
        figures = metrics.assets[name]
        assert figures.rows_out == frame.height
        assert figures.bytes_written == lake.table_path(name, DAY_2).stat().st_size
        assert 0 < figures.peak_rss_bytes <= peak_rss_bytes()
    durations = step_durations(instance, run_id)
    for name, size in RAW_BYTES.items():
        raw = metrics.assets[name]
        # Raw assets record no row count (the file is not inflated): their rows in and out stay empty.
        assert (raw.rows_out, raw.bytes_written, raw.rows_in) == (None, size, None)
        # Assets made by one step share its key and duration.
        assert raw.step_key == "raw_stand_in"
        assert raw.seconds == pytest.approx(durations["raw_stand_in"], abs=1e-3)
    for name in model:
        assert metrics.assets[name].seconds == pytest.approx(durations[name], abs=1e-3)
    kpis = metrics.assets["media_kpis"]
    assert kpis.bytes_written == (lake.kpi_dir(DAY_2) / "kpis.json").stat().st_size
    assert 0 < kpis.seconds <= metrics.run_seconds
    assert metrics.run_seconds >= sum(durations.values()) * 0.5  # steps ran one after the other, in this process


def test_quality_figures_come_from_the_runs_quality_report(full_run) -> None:
    *_, run_id, metrics = full_run
    quality = metrics.quality
    assert quality.report == f"quality/{DAY_2}/attempts/{run_id}.json"
    assert quality.score == pytest.approx(PASSING["quality_score"])
    assert {gate: figures.model_dump() for gate, figures in quality.gates.items()} == PASSING["gates"]


def test_kpis_alone_take_quality_from_the_published_report_and_source_from_earlier_runs(full_run) -> None:
    root, instance, first_run_id, _ = full_run
    result = materialize(root, instance, selection=[media_kpis])
    assert result.success and result.run_id != first_run_id
    metrics = read_metrics(root)
    assert metrics.run_id == result.run_id and metrics.published_generation == first_run_id
    assert set(metrics.assets) == {"media_kpis"}
    assert metrics.source_kind == "file"
    assert metrics.quality.report == f"quality/{DAY_2}/attempts/{first_run_id}.json"  # the published attempt
    assert metrics.quality.score == pytest.approx(PASSING["quality_score"])


def test_a_blocked_rerun_gets_its_metrics_from_the_failure_sensor(tmp_path) -> None:
    root, instance = str(tmp_path), dg.DagsterInstance.ephemeral()
    published = materialize(root, instance)
    blocked = materialize(root, instance, report=BLOCKING)
    assert published.success and not blocked.success
    assert not blocked.asset_materializations_for_node("media_kpis")
    # The KPI asset did not run: the file is still the published run's, until the sensor writes the blocked one.
    assert read_metrics(root).run_id == published.run_id

    assert run_failure_sensor_on(instance, blocked.run_id, root) is None
    metrics = read_metrics(root)
    assert (metrics.run_id, metrics.status) == (blocked.run_id, "blocked")
    assert metrics.blocked_by == ["quality_audit:genre_coverage"]
    assert [step.step_key for step in metrics.failed_steps] == ["quality_audit"]
    assert "genre_coverage" in metrics.failed_steps[0].error
    # The earlier attempt stays published; the figures are those of the blocked attempt's audit.
    assert metrics.published_generation == published.run_id
    assert metrics.quality.report == f"quality/{DAY_2}/attempts/{blocked.run_id}.json"
    assert (
        not metrics.quality.gates["genre_coverage"].passed and metrics.quality.gates["genre_coverage"].pass_rate == 0.5
    )
    assert {"quality_audit", "fact_ratings"} <= set(metrics.assets) and "media_kpis" not in metrics.assets


def test_a_failed_step_is_named_with_its_error(tmp_path) -> None:
    root, instance = str(tmp_path), dg.DagsterInstance.ephemeral()

    def unreadable_model() -> dict:
        raise OSError("title.ratings.tsv.gz: truncated gzip stream")

    failed = materialize(root, instance, model=unreadable_model)
    assert not failed.success
    assert run_failure_sensor_on(instance, failed.run_id, root) is None
    metrics = read_metrics(root)
    assert (metrics.status, metrics.blocked_by, metrics.published_generation) == ("failed", [], None)
    assert {step.step_key for step in metrics.failed_steps} == set(MODEL_TABLES)
    assert all("truncated gzip stream" in step.error for step in metrics.failed_steps)
    assert metrics.quality.report is None and metrics.quality.score is None
    assert set(metrics.assets) == set(RAW_BYTES)


def test_the_sensor_leaves_runs_of_other_assets_alone(tmp_path) -> None:
    root, instance = str(tmp_path), dg.DagsterInstance.ephemeral()

    @dg.asset(partitions_def=daily_partitions)
    def tmdb_title_details() -> None:
        raise RuntimeError("TMDb is down")

    # As `dagster asset materialize --select tmdb_title_details` runs it: the code location's asset job, a subset.
    asset_job = dg.Definitions(
        assets=[tmdb_title_details, media_kpis], resources=resources_for(root)
    ).resolve_implicit_global_asset_job_def()
    failed = asset_job.execute_in_process(
        asset_selection=[tmdb_title_details.key], partition_key=DAY_2, instance=instance, raise_on_error=False
    )
    assert not failed.success
    skipped = run_failure_sensor_on(instance, failed.run_id, root)
    assert isinstance(skipped, dg.SkipReason) and "media_kpis" in skipped.skip_message
    assert not (DataLake(root=root).kpi_dir(DAY_2) / "pipeline_metrics.json").exists()


def test_metrics_of_a_run_without_a_day_are_refused(tmp_path) -> None:
    @dg.asset
    def unpartitioned() -> None:
        raise RuntimeError("failed")

    instance = dg.DagsterInstance.ephemeral()
    failed = dg.materialize([unpartitioned], instance=instance, raise_on_error=False)
    skipped = run_failure_sensor_on(instance, failed.run_id, str(tmp_path))
    assert isinstance(skipped, dg.SkipReason) and "not the run of one day" in skipped.skip_message
    with pytest.raises(ValueError, match="no dagster/partition tag"):
        write_pipeline_metrics(instance, instance.get_run_by_id(failed.run_id), DataLake(root=str(tmp_path)))
