"""README's main command, run word for word as a newcomer would: in a clean copy of the project, from a fresh
virtualenv, on the offline sample source."""

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def readme_command(marker: str) -> str:
    """The bash block that follows `<!-- marker -->` in README.md."""
    readme = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.+?)\n```", readme, re.DOTALL)
    assert match, f"README.md has no bash block after <!-- {marker} -->"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command():
    # The whole suite: no marker selection, nothing deselected (the fast selection has a line of its own).
    assert readme_command("test-command").endswith(".venv/bin/pytest")
    assert "README.md" in (REPO / ".ci" / "run").read_text()


def _tracked_files() -> list[str]:
    if shutil.which("git") and (REPO / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
        return [name for name in listed.decode().split("\0") if name and (REPO / name).exists()]
    pytest.skip("needs a git checkout to know which files a newcomer gets")


@pytest.mark.slow  # a fresh install, then the daily job: minutes
def test_main_command_materializes_a_partition_in_a_fresh_copy(tmp_path):
    project = tmp_path / "media_assets"
    for name in _tracked_files():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, project / name)
    # A newcomer's shell: none of the project's settings, no virtualenv active.
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("MEDIA_ASSETS_", "IMDB_", "DAGSTER_"))
    }
    env.pop("VIRTUAL_ENV", None)
    command = readme_command("main-command")
    finished = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=1200
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-5000:]

    today = dt.datetime.now(dt.UTC).date().isoformat()
    data = project / "data"
    kpis = json.loads((data / "kpis" / today / "kpis.json").read_text())
    assert kpis["snapshot_date"] == today
    metrics = json.loads((data / "kpis" / today / "pipeline_metrics.json").read_text())
    assert metrics["source_kind"] == "sample"
    assert set(metrics["quality"]["gates"]) == {
        "rating_range",
        "genre_coverage",
        "title_completeness",
        "person_linking",
        "bridge_integrity",
        "reconciliation",
        "volume_drift",
    }
    manifest = json.loads((data / "published" / today / "manifest.json").read_text())
    for table in ("dim_title", "dim_person", "dim_genre", "dim_date", "fact_ratings", "fact_cast_crew"):
        assert (data / manifest["tables"][table]).stat().st_size > 0, table
    assert (data / "warehouse.duckdb").exists()
    # The run is recorded in the instance under .dagster/, as imdb_daily, so the UI shows it afterwards.
    with sqlite3.connect(project / ".dagster" / "history" / "runs.db") as runs:
        assert runs.execute("select pipeline_name, status from runs").fetchall() == [("imdb_daily", "SUCCESS")]
    output = finished.stdout + finished.stderr
    assert "Warning:" not in output and " - DEBUG - " not in output, output[-3000:]
    # The run ends with a summary: the gates and the score, the publication with its rows, and where things are.
    assert f"quality {today}: score 0." in output and "genre_coverage       passed" in output
    assert f"{today} published (attempt " in output and "fact_ratings " in output
    named = re.findall(r"(/\S+?\.(?:json|duckdb))\b", output)
    assert {Path(path).name for path in named} >= {"kpis.json", "pipeline_metrics.json", "warehouse.duckdb"}
    assert all(Path(path).is_file() for path in named), named


def test_readme_shows_the_warehouse_query_the_tests_run():
    from media_assets.publish.warehouse import TOP_MOVIES_QUERY

    assert TOP_MOVIES_QUERY in (REPO / "README.md").read_text()
