"""Telling the operator that a day failed or was blocked: a run-failure sensor posting a short summary to a webhook.

The webhook is `MEDIA_ASSETS_ALERT_WEBHOOK_URL` (Slack's incoming webhooks and most chat tools accept the JSON
`{"text": ...}` posted here); unset, alerts are off and each tick says so. A day blocked by a quality gate is a failed
run too (the blocking check fails its step), so it is reported the same way, with the path of the day's quality
report when there is one.
"""

import re
from pathlib import Path

import dagster as dg
import httpx
from pydantic import Field

from media_assets.resources import DataLake

ALERT_SENSOR_NAME = "imdb_failure_alert"
POST_TIMEOUT_SECONDS = 10.0
_ERROR_CHARS = 300
"""Of each step's error, on one line (the full error is in the run's log)."""
_MODULE_PATH = re.compile(r"^(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_]\w*: )")
_GATE_FAILURE = "DagsterAssetCheckFailedError: "
"""How a step whose blocking check failed ends (after `_one_line`'s cleaning): a day blocked by a gate."""


class AlertWebhook(dg.ConfigurableResource):
    """Where alerts are posted; empty means alerts are off."""

    url: str = Field(default="", description="Webhook URL (MEDIA_ASSETS_ALERT_WEBHOOK_URL); empty: no alerts.")

    def post(self, text: str) -> None:
        response = httpx.post(self.url, json={"text": text}, timeout=POST_TIMEOUT_SECONDS)
        response.raise_for_status()


def failure_summary(
    day: str | None, job_name: str, run_id: str, failed_steps: dict[str, str], quality_report: Path | None
) -> str:
    """A few lines an operator can act on: which day, which run, which steps failed and why, where to look."""
    blocked = any(_one_line(error).startswith(_GATE_FAILURE) for error in failed_steps.values())
    verdict = "was blocked by a quality gate" if blocked else "failed"
    lines = [f"media_assets: day {day or '(no partition)'} {verdict} in {job_name} (run {run_id})."]
    for step, error in failed_steps.items():
        lines.append(f"- step {step}: {_one_line(error)}")
    if not failed_steps:
        lines.append("- no step failed: the run itself failed (see the run's log)")
    if quality_report is not None:
        lines.append(f"Quality report: {quality_report}")
    return "\n".join(lines)


def _one_line(error: str) -> str:
    """An error message on one line, without the module path of its class, cut to a readable length."""
    text = " ".join(line.strip() for line in error.splitlines() if line.strip()) or "(no message)"
    text = _MODULE_PATH.sub("", text)
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 3] + "..."


def _root_cause(error) -> str:
    """The message of the exception that started it all: Dagster wraps a step's own error in its own."""
    if error is None:
        return ""
    while error.cause is not None:
        error = error.cause
    return error.message


@dg.run_failure_sensor(
    name=ALERT_SENSOR_NAME,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Posts a short summary of every failed or blocked run of this code location (day, job, failed steps and "
        "errors, quality report) to MEDIA_ASSETS_ALERT_WEBHOOK_URL; off when unset."
    ),
)
def imdb_failure_alert(
    context: dg.RunFailureSensorContext, alert_webhook: AlertWebhook, data_lake: DataLake
) -> dg.SkipReason | None:
    run = context.dagster_run
    if not alert_webhook.url:
        return dg.SkipReason(f"Run {run.run_id} failed; alerts are off (set MEDIA_ASSETS_ALERT_WEBHOOK_URL).")
    day = run.tags.get("dagster/partition")
    failed_steps = {
        event.step_key or "(run)": _root_cause(event.event_specific_data.error)
        for event in context.get_step_failure_events()
    }
    report = data_lake.quality_dir(day) / "quality.json" if day else None
    summary = failure_summary(
        day, run.job_name, run.run_id, failed_steps, report if report and report.exists() else None
    )
    alert_webhook.post(summary)
    context.log.info(f"Alert posted for run {run.run_id}: {summary.splitlines()[0]}")
    return None
