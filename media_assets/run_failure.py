"""Run-failure sensor: a day whose run failed, or whose quality gates blocked it, still gets its
`pipeline_metrics.json`, naming the steps that failed (the KPI asset writes it only when the run gets that far)."""

import dagster as dg

from media_assets.kpis.assets import KPI_ASSET_NAME
from media_assets.kpis.metrics import PARTITION_TAG, write_pipeline_metrics
from media_assets.resources import DataLake


@dg.run_failure_sensor(
    name="pipeline_metrics_on_failure",
    description="Writes pipeline_metrics.json of a day whose run failed or was blocked by a quality gate.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def pipeline_metrics_on_failure(context: dg.RunFailureSensorContext, data_lake: DataLake) -> dg.SkipReason | None:
    run = context.dagster_run
    if PARTITION_TAG not in run.tags:
        return dg.SkipReason(f"run {run.run_id} is not the run of one day (no {PARTITION_TAG} tag)")
    # A run of selected assets that exclude the KPIs (e.g. the TMDb enrichment alone) leaves the day's file alone;
    # no selection means the whole job.
    if run.asset_selection and dg.AssetKey(KPI_ASSET_NAME) not in run.asset_selection:
        return dg.SkipReason(f"run {run.run_id} did not select {KPI_ASSET_NAME}")
    path, metrics = write_pipeline_metrics(context.instance, run, data_lake)
    context.log.info(
        f"{metrics.snapshot_date}: {metrics.status} (failed steps: "
        f"{', '.join(step.step_key for step in metrics.failed_steps) or 'none'}); wrote {path}"
    )
    return None
