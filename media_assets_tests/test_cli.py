"""The command lines a newcomer and an operator use: `dg list defs`, `dg launch` (the daily job for a day, or some
assets), `dagster asset materialize -m media_assets.definitions` (the design card's command), each run as a real
process against the project's own dagster.yaml in a copy of the project's top level."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAY = "2026-05-04"
RAW_ASSETS = ["raw_title_basics", "raw_title_ratings", "raw_name_basics", "raw_title_principals"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's top level as a newcomer has it (dg reads pyproject.toml, Dagster reads dagster.yaml); the
    package itself is the installed one."""
    for name in ("pyproject.toml", "dagster.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def _run(project: Path, *command: str, **settings: str) -> subprocess.CompletedProcess:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("IMDB_", "MEDIA_ASSETS_", "QUALITY_", "DAGSTER_")) and name != "VIRTUAL_ENV"
    }
    env |= {
        "DAGSTER_HOME": str(project),
        "MEDIA_ASSETS_DATA_DIR": str(project / "data"),
        "IMDB_SAMPLE_SCALE": "0.00003",
        **settings,
    }
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


def _runs(project: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(project / ".dagster" / "history" / "runs.db") as runs:
        return runs.execute("select pipeline_name, status from runs").fetchall()


def test_dg_list_defs_lists_every_asset_job_schedule_and_sensor(project: Path):
    from media_assets.definitions import defs

    listed = _run(project, "dg", "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    definitions = json.loads(listed.stdout)
    graph = defs.resolve_asset_graph()
    assert sorted(asset["asset_key"] for asset in definitions["assets"]) == sorted(
        key.to_user_string() for key in graph.get_all_asset_keys()
    )
    assert [job["name"] for job in definitions["jobs"]] == ["imdb_daily", "imdb_retention"]
    assert [schedule["name"] for schedule in definitions["schedules"]] == ["imdb_daily_schedule"]
    assert sorted(sensor["name"] for sensor in definitions["sensors"]) == [
        "history_rebuild_sensor",
        "imdb_failure_alert",
        "imdb_release_sensor",
        "pipeline_metrics_on_failure",
        "retention_after_daily_sensor",
    ]
    assert listed.stderr == ""


@pytest.mark.slow
def test_dg_launch_runs_the_daily_job_quietly_into_the_ignored_folder(project: Path, monkeypatch: pytest.MonkeyPatch):
    launched = _run(project, "dg", "launch", "--job", "imdb_daily", "--partition", DAY)
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-3000:]
    output = (launched.stdout + launched.stderr).splitlines()
    # No Python warning (superseded, beta, preview) and no DEBUG event wall.
    assert not [line for line in output if "Warning:" in line or " - DEBUG - " in line]
    assert (project / "data" / "kpis" / DAY / "kpis.json").exists()
    # Recorded as a run of the daily job (it shows under Jobs -> imdb_daily), in the instance under .dagster/.
    assert _runs(project) == [("imdb_daily", "SUCCESS")]
    # Dagster wrote nothing else at the top level.
    assert sorted(path.name for path in project.iterdir()) == [".dagster", "dagster.yaml", "data", "pyproject.toml"]
    # The console is quiet, the event log (what the UI shows) is not: every step's DEBUG events are kept.
    monkeypatch.chdir(project)
    with dg.DagsterInstance.from_config(str(project)) as instance:
        [run] = instance.get_runs()
        successes = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
    assert {record.event_log_entry.step_key for record in successes} >= {
        "title_principals",
        "published_star_schema",
        "media_kpis",
    }


@pytest.mark.slow
def test_dg_launch_and_asset_materialize_run_some_assets_of_a_day(project: Path):
    launched = _run(project, "dg", "launch", "--assets", ",".join(RAW_ASSETS[:2]), "--partition", DAY)
    assert launched.returncode == 0, launched.stderr[-3000:]
    materialized = _run(
        project,
        *("dagster", "asset", "materialize", "-m", "media_assets.definitions"),
        *("--select", ",".join(RAW_ASSETS[2:]), "--partition", DAY),
    )
    assert materialized.returncode == 0, materialized.stderr[-3000:]
    assert _runs(project) == [("__ASSET_JOB", "SUCCESS"), ("__ASSET_JOB", "SUCCESS")]
    raw_files = sorted(path.name for path in (project / "data" / "raw" / DAY).glob("*.tsv.gz"))
    assert raw_files == sorted(f"{asset.removeprefix('raw_').replace('_', '.')}.tsv.gz" for asset in RAW_ASSETS)


@pytest.mark.slow
def test_dg_launch_with_a_configuration_mistake_says_so_in_two_lines(project: Path):
    launched = _run(project, "dg", "launch", "--job", "imdb_daily", "--partition", DAY, IMDB_SOURCE="file")
    assert launched.returncode == 1
    assert launched.stderr.strip().splitlines() == [
        "media_assets: configuration error (the code location was not loaded):",
        "IMDB_SOURCE=file needs IMDB_FOLDER: set it to the folder holding the four .tsv.gz files (`{date}` in it "
        "stands for the partition day, e.g. /mirror/{date}).",
    ]


@pytest.mark.slow
def test_a_day_before_the_start_date_is_rejected_by_dagster_with_the_message_readme_quotes(project: Path):
    launched = _run(project, "dg", "launch", "--job", "imdb_daily", "--partition", "2025-12-31")
    assert launched.returncode == 1
    last_line = launched.stderr.strip().splitlines()[-1]
    assert last_line == (
        "dagster._core.errors.DagsterUnknownPartitionError: Could not find a partition with key `2025-12-31`."
    )
    # With the start date moved back, the same day is a partition.
    earlier = _run(
        project,
        *("dg", "launch", "--assets", RAW_ASSETS[0], "--partition", "2025-12-31"),
        MEDIA_ASSETS_START_DATE="2025-12-01",
    )
    assert earlier.returncode == 0, earlier.stderr[-3000:]
