"""The failure alert: a real failed (or gate-blocked) run, the sensor, and a real webhook server on 127.0.0.1."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from media_assets.alerts import ALERT_SENSOR_NAME, AlertWebhook, imdb_failure_alert
from media_assets.partitions import daily_partitions
from media_assets.resources import DataLake

DAY = "2026-05-04"


class _Webhook:
    """A webhook on 127.0.0.1 that records the JSON bodies posted to it."""

    def __init__(self) -> None:
        self.posted: list[dict] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.posted.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/media"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook() -> Iterator[_Webhook]:
    server = _Webhook()
    yield server
    server.close()


@dg.asset(partitions_def=daily_partitions)
def raw_download() -> None:
    raise ConnectionError("HTTP 503 from datasets.imdbws.com after 5 attempts\nsecond line of detail")


@dg.asset(partitions_def=daily_partitions, check_specs=[dg.AssetCheckSpec("gate", asset="audited", blocking=True)])
def audited() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=False, description="pass rate 0.5 < 0.99")])


@dg.asset(partitions_def=daily_partitions, deps=[audited])
def published() -> None:
    pass


def _alert(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, resources: dict):
    context = dg.build_run_status_sensor_context(
        sensor_name=ALERT_SENSOR_NAME,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources=resources,
    ).for_run_failure()
    return imdb_failure_alert(context)


def test_failed_day_is_posted_with_its_step_error_and_quality_report(webhook: _Webhook, tmp_path: Path):
    data_lake = DataLake(root=str(tmp_path))
    report = data_lake.quality_dir(DAY) / "quality.json"
    report.parent.mkdir(parents=True)
    report.write_text("{}")
    with dg.instance_for_test() as instance:
        result = dg.materialize([raw_download], instance=instance, partition_key=DAY, raise_on_error=False)
        assert not result.success
        _alert(instance, result, {"alert_webhook": AlertWebhook(url=webhook.url), "data_lake": data_lake})

    assert webhook.posted == [
        {
            "text": f"media_assets: day {DAY} failed in __ephemeral_asset_job__ (run {result.run_id}).\n"
            "- step raw_download: ConnectionError: HTTP 503 from datasets.imdbws.com after 5 attempts second line "
            "of detail\n"
            f"Quality report: {report}"
        }
    ]


def test_day_blocked_by_a_gate_is_a_failed_run_and_is_posted(webhook: _Webhook, tmp_path: Path):
    with dg.instance_for_test() as instance:
        result = dg.materialize([audited, published], instance=instance, partition_key=DAY, raise_on_error=False)
        assert not result.success
        _alert(
            instance,
            result,
            {"alert_webhook": AlertWebhook(url=webhook.url), "data_lake": DataLake(root=str(tmp_path))},
        )
    [posted] = webhook.posted
    lines = posted["text"].splitlines()
    assert lines == [
        f"media_assets: day {DAY} was blocked by a quality gate in __ephemeral_asset_job__ (run {result.run_id}).",
        # Dagster's message names the asset and the check; no quality report for the day, so no line for one.
        "- step audited: DagsterAssetCheckFailedError: 1 blocking asset check failed with ERROR severity: "
        "audited: gate",
    ]


def test_alerts_are_off_without_a_webhook(webhook: _Webhook, tmp_path: Path):
    with dg.instance_for_test() as instance:
        result = dg.materialize([raw_download], instance=instance, partition_key=DAY, raise_on_error=False)
        skipped = _alert(
            instance, result, {"alert_webhook": AlertWebhook(url=""), "data_lake": DataLake(root=str(tmp_path))}
        )
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message == (f"Run {result.run_id} failed; alerts are off (set MEDIA_ASSETS_ALERT_WEBHOOK_URL).")
    assert webhook.posted == []


def test_sensor_ticking_as_the_daemon_does_posts_each_failed_run_once(webhook: _Webhook, tmp_path: Path):
    resources = {"alert_webhook": AlertWebhook(url=webhook.url), "data_lake": DataLake(root=str(tmp_path))}
    defs = dg.Definitions(assets=[raw_download], sensors=[imdb_failure_alert], resources=resources)
    sensor = defs.resolve_sensor_def(ALERT_SENSOR_NAME)
    with dg.instance_for_test() as instance:

        def tick(cursor: str | None):
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, definitions=defs, resources=resources
            ) as context:
                return sensor.evaluate_tick(context)

        # The first tick only marks where the event log stands, as a new sensor does.
        first = tick(None)
        result = dg.materialize([raw_download], instance=instance, partition_key=DAY, raise_on_error=False)
        second = tick(first.cursor)
        third = tick(second.cursor)
    [posted] = webhook.posted
    assert posted["text"].startswith(f"media_assets: day {DAY} failed in __ephemeral_asset_job__ (run {result.run_id})")
    assert third.cursor == second.cursor
