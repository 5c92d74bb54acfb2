"""pipeline_metrics.json after small materializations of the hand-made model, a stand-in audit and the KPI asset."""

import json

import dagster as dg
import pytest

from media_assets.kpis.assets import media_kpis
from media_assets.kpis.metrics import PipelineMetrics
from media_assets.partitions import daily_partitions
from media_assets.quality.assets import QUALITY_AUDIT, QUALITY_CHECK_SPECS
from media_assets.quality.gates import GATE_NAMES, GENRE_COVERAGE
from media_assets.resources import DataLake
from media_assets.telemetry import peak_rss_bytes
from media_assets_tests.test_kpis import DAY_2, hand_made_model, model_assets, resources_for

RAW_BYTES = {"raw_title_basics": 1_234, "raw_title_ratings": 567}


@dg.multi_asset(specs=[dg.AssetSpec(name, partitions_def=daily_partitions) for name in RAW_BYTES])
def raw_stand_in():
    """Stands in for the raw assets: one step materializing several of them, recording what the real one records."""
    for name, size in RAW_BYTES.items():
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={"source_kind": "file", "bytes": size, "sha256": "0" * 64, "peak_rss_bytes": 1},
        )


@dg.asset(name=QUALITY_AUDIT, partitions_def=daily_partitions, check_specs=QUALITY_CHECK_SPECS)
def audit_stand_in() -> dg.MaterializeResult:
    """Stands in for the quality audit (which reads the clean layer): each gate's check, with the figures the real
    one records. Only genre coverage is below 1, as on the hand-made model, where title 11 has no genre."""
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name=gate,
                passed=True,
                metadata={
                    "pass_rate": 11 / 12 if gate == GENRE_COVERAGE else 1.0,
                    "threshold": 0.9,
                    "rows_checked": 12,
                    "failing_count": 1 if gate == GENRE_COVERAGE else 0,
                },
            )
            for gate in GATE_NAMES
        ]
    )


def read_metrics(root: str) -> PipelineMetrics:
    text = (DataLake(root=root).kpi_dir(DAY_2) / "pipeline_metrics.json").read_text()
    return PipelineMetrics.model_validate(json.loads(text))


def materialize(root: str, instance: dg.DagsterInstance, with_checks: bool = True, selection=None):
    return dg.materialize(
        [
            raw_stand_in,
            # In the graph the KPIs wait for the audit through the publish step; here the model stand-ins wait for
            # it, so that its checks are evaluated before the KPI asset reads them.
            *model_assets(
                lambda _: hand_made_model(),
                deps={name: [QUALITY_AUDIT] for name in hand_made_model()} if with_checks else None,
            ),
            *([audit_stand_in] if with_checks else []),
            media_kpis,
        ],
        partition_key=DAY_2,
        resources=resources_for(root),
        instance=instance,
        selection=selection,
    )


def step_durations(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    logs = instance.all_logs(run_id)
    starts = {log.step_key: log.timestamp for log in logs if log.dagster_event_type == dg.DagsterEventType.STEP_START}
    return {
        log.step_key: log.timestamp - starts[log.step_key]
        for log in logs
        if log.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS
    }


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> tuple[str, dg.DagsterInstance, str, PipelineMetrics]:
    """A run of everything, and the metrics it wrote (read at once: a later test writes the file again)."""
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
    assert metrics.job_name == instance.get_run_by_id(run_id).job_name
    assert set(metrics.assets) == {*model, *RAW_BYTES, QUALITY_AUDIT, "media_kpis"}
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


def test_quality_gates_and_score_of_the_run(full_run) -> None:
    *_, run_id, metrics = full_run
    quality = metrics.quality
    expected_rates = {gate: 1.0 for gate in GATE_NAMES} | {GENRE_COVERAGE: 11 / 12}
    assert {gate: figures.pass_rate for gate, figures in quality.gates.items()} == pytest.approx(expected_rates)
    assert all(
        figures.passed and figures.run_id == run_id and figures.seconds > 0 for figures in quality.gates.values()
    )
    assert quality.gates[GENRE_COVERAGE].failing_count == 1 and quality.gates[GENRE_COVERAGE].threshold == 0.9
    assert quality.score == pytest.approx((4 + 11 / 12) / 5)


def test_kpis_alone_take_quality_and_source_from_earlier_runs(full_run) -> None:
    root, instance, first_run_id, _ = full_run
    result = materialize(root, instance, selection=[media_kpis])
    assert result.success and result.run_id != first_run_id
    metrics = read_metrics(root)
    assert metrics.run_id == result.run_id
    assert set(metrics.assets) == {"media_kpis"}
    assert metrics.source_kind == "file"
    assert {figures.run_id for figures in metrics.quality.gates.values()} == {first_run_id}
    assert all(figures.seconds is None for figures in metrics.quality.gates.values())
    assert metrics.quality.score == pytest.approx((4 + 11 / 12) / 5)


def test_never_evaluated_gates_leave_the_score_empty(tmp_path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    assert materialize(str(tmp_path), instance, with_checks=False).success
    quality = read_metrics(str(tmp_path)).quality
    assert quality.gates == {gate: None for gate in GATE_NAMES}
    assert quality.score is None
