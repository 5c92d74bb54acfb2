"""The Dagster UI as a person uses it: `dagster dev` from the repository, driven in a real headless Chromium.

Screenshots land in `test-artifacts/ui/` at the repository root, with the `dagster dev` log.
"""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import httpx
import pytest
import yaml

from media_assets_tests.conftest import require_installed

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCATION = "media_assets"
STARTUP_SECONDS = 180
RUN_SECONDS = 180


def test_workspace_yaml_and_pyproject_load_the_same_code_location():
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    [entry] = workspace["load_from"]
    tool_dagster = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"]
    assert entry["python_module"]["module_name"] == tool_dagster["module_name"] == "media_assets.definitions"
    assert entry["python_module"]["location_name"] == tool_dagster["code_location_name"] == LOCATION
    # Without -m/-w, the CLI finds the code location through pyproject.toml, as `dagster dev` does.
    validate = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert validate.returncode == 0, validate.stdout[-2000:] + validate.stderr[-2000:]
    assert f"Validation successful for code location {LOCATION}" in validate.stdout + validate.stderr


# -- dagster dev + Chromium ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DagsterUI:
    url: str
    data_dir: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _location_loaded(url: str) -> bool:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    try:
        response = httpx.post(f"{url}/graphql", json={"query": query}, timeout=5)
        entries = response.json()["data"]["workspaceOrError"]["locationEntries"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return False
    return any(e["name"] == LOCATION and e["loadStatus"] == "LOADED" for e in entries)


def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C, as a person stops `dagster dev` (it then stops its webserver, daemon and code servers); whatever
    is left after a grace period is killed with its whole process group, which this test created."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    require_installed(CHROMIUM.exists(), f"Chromium ({CHROMIUM})")
    require_installed(importlib.util.find_spec("playwright") is not None, "Playwright for Python (pip)")
    root = tmp_path_factory.mktemp("dagster-ui")
    dagster_home, data_dir = root / "dagster_home", root / "data"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{_free_port()}"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("IMDB_")},
        "DAGSTER_HOME": str(dagster_home),
        "MEDIA_ASSETS_DATA_DIR": str(data_dir),
        "IMDB_SAMPLE_SCALE": "0.00003",
    }
    log = (ARTIFACTS / "dagster-dev.log").open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster")),
            "dev",
            "-w",
            str(REPO / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            url.rsplit(":", 1)[1],
        ],
        # dagster.yaml's paths (.dagster/) are relative to the working directory: keep them in the test's folder.
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Own process group, to clean up every process dagster dev starts; Ctrl-C honoured even when this test
        # runs in a background job (where SIGINT is inherited as ignored).
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _location_loaded(url):
            assert process.poll() is None, f"dagster dev exited with {process.returncode}: see {log.name}"
            assert time.monotonic() < deadline, f"the UI did not load {LOCATION} in {STARTUP_SECONDS} s: see {log.name}"
            time.sleep(1)
        yield DagsterUI(url=url, data_dir=data_dir)
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="module")
def browser_page(dagster_ui: DagsterUI):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            # Tall enough for the catalog to render every asset row (it only renders rows in view).
            page = browser.new_page(viewport={"width": 1600, "height": 2400})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def project_defs() -> dg.Definitions:
    from media_assets.definitions import defs

    return defs


def _asset_path(key: dg.AssetKey) -> str:
    return "/assets/" + "/".join(key.path)


@pytest.mark.browser
def test_ui_shows_every_asset_check_and_automation(browser_page, dagster_ui: DagsterUI, project_defs):
    from playwright.sync_api import expect

    page = browser_page
    graph = project_defs.resolve_asset_graph()
    asset_keys = sorted(graph.get_all_asset_keys())
    check_keys = sorted(graph.asset_check_keys)
    assert len(asset_keys) >= 4 and len(check_keys) >= 4

    page.goto(dagster_ui.url + "/asset-groups")
    page.get_by_text("Global asset lineage").wait_for()
    # A graph this size opens with each group collapsed into one node: every group must be drawn (the catalog
    # below then shows every asset).
    for group in sorted({graph.get(key).group_name for key in asset_keys}):
        page.locator("svg, [class*=graph], [class*=Graph]").get_by_text(group, exact=True).first.wait_for()
    expect(page.get_by_text("Loading")).to_have_count(0, timeout=60_000)  # the nodes' status and checks
    page.screenshot(path=str(ARTIFACTS / "1-asset-lineage.png"))

    page.goto(dagster_ui.url + "/assets")
    for key in asset_keys:
        row_link = page.locator(f'a[href="{_asset_path(key)}"]').first
        row_link.wait_for()
        assert key.path[-1] in row_link.inner_text()
    page.screenshot(path=str(ARTIFACTS / "2-asset-catalog.png"), full_page=True)

    for asset_key in sorted({check.asset_key for check in check_keys}):
        page.goto(f"{dagster_ui.url}{_asset_path(asset_key)}?view=checks")
        for check in (c for c in check_keys if c.asset_key == asset_key):
            # Attached, not visible: a long name is drawn truncated in the middle, the full one kept for measuring.
            page.get_by_text(check.name, exact=True).first.wait_for(state="attached")
    page.screenshot(path=str(ARTIFACTS / "3-asset-checks.png"))

    page.goto(dagster_ui.url + "/automation")
    automation = [f"schedules/{s.name}" for s in project_defs.schedules or []]
    automation += [f"sensors/{s.name}" for s in project_defs.sensors or []]
    assert "schedules/imdb_daily_schedule" in automation and "sensors/imdb_release_sensor" in automation
    for path in automation:
        link = page.locator(f'a[href$="/{path}"]').first
        link.wait_for()
        assert path.split("/")[1] in link.inner_text()
    page.screenshot(path=str(ARTIFACTS / "4-automation.png"))

    # The daemon is running: the release sensor has ticked, and says why it did not run (the sample source).
    sensor_ticks = """query ($name: String!) { sensorOrError(sensorSelector: {repositoryName: "__repository__",
        repositoryLocationName: "media_assets", sensorName: $name}) { ... on Sensor { sensorState { status
        ticks(limit: 5) { status skipReason } } } } }"""
    deadline = time.monotonic() + 60
    while True:
        state = dagster_ui.graphql(sensor_ticks, {"name": "imdb_release_sensor"})["sensorOrError"]["sensorState"]
        if state["ticks"] or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert state["status"] == "RUNNING"
    assert state["ticks"][0]["status"] == "SKIPPED"
    assert "sample source" in state["ticks"][0]["skipReason"]


@pytest.mark.browser
def test_ui_materializes_the_latest_partition_of_an_asset(browser_page, dagster_ui: DagsterUI):
    page = browser_page
    asset = "raw_title_ratings"
    partition = time.strftime("%Y-%m-%d", time.gmtime())  # the latest partition is today's UTC day

    page.goto(f"{dagster_ui.url}/assets/{asset}")
    page.get_by_role("button", name="Materialize…").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Latest", exact=True).click()
    launch = dialog.get_by_role("button", name="Launch 1 run")
    launch.wait_for()
    page.screenshot(path=str(ARTIFACTS / "5-launch-dialog.png"))
    launch.click()

    runs_query = """query ($partition: String!) { runsOrError(filter: {tags: [{key: "dagster/partition",
        value: $partition}]}) { ... on Runs { results { runId status tags { key } } } } }"""
    deadline = time.monotonic() + RUN_SECONDS
    while True:
        partition_runs = dagster_ui.graphql(runs_query, {"partition": partition})["runsOrError"]["results"]
        # The daily schedule may fire too if the test straddles its time: only the run launched here counts.
        runs = [r for r in partition_runs if "dagster/schedule_name" not in {t["key"] for t in r["tags"]}]
        if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        assert time.monotonic() < deadline, f"no finished run of {asset} {partition} after {RUN_SECONDS} s: {runs}"
        time.sleep(2)
    [run] = runs
    page.goto(f"{dagster_ui.url}/runs/{run['runId']}")
    final_event = {"SUCCESS": "RUN_SUCCESS", "FAILURE": "RUN_FAILURE", "CANCELED": "RUN_CANCELED"}[run["status"]]
    page.get_by_text(final_event, exact=True).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "6-run.png"))
    assert run["status"] == "SUCCESS", f"run {run['runId']} ended {run['status']}: see 6-run.png"

    # The asset's partition view shows today as materialized by that run, with the raw file's metadata.
    page.goto(f"{dagster_ui.url}/assets/{asset}?view=partitions&partition={partition}")
    page.get_by_text("Materialized (1)").wait_for()
    page.get_by_text(run["runId"][:8], exact=True).first.wait_for()
    raw_file = dagster_ui.data_dir / "raw" / partition / "title.ratings.tsv.gz"
    page.get_by_text(str(raw_file), exact=True).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "7-materialized-partition.png"))
    assert raw_file.is_file()
