"""The project's Dagster instance (top-level dagster.yaml) and its PostgreSQL variant (deploy/postgres/)."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The instance README's commands get: DAGSTER_HOME and the working directory both the project folder."""
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.chdir(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def test_everything_dagster_writes_goes_into_the_ignored_folder(instance: dg.DagsterInstance, tmp_path: Path):
    instance.add_run(dg.DagsterRun(job_name="imdb_daily"))
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.iterdir())
    assert written == [".dagster", "dagster.yaml"]
    assert (tmp_path / ".dagster" / "history" / "runs.db").exists()
    assert instance.compute_log_manager.inst_data.config_dict["base_dir"] == ".dagster/logs"
    assert Path(instance.storage_directory()) == Path(".dagster/storage")
    assert "/.dagster/" in (REPO / ".gitignore").read_text().splitlines()


def test_crashed_runs_are_retried_but_runs_a_step_failed_are_not(instance: dg.DagsterInstance):
    assert instance.run_retries_enabled
    assert instance.run_retries_max_retries == 2
    assert instance.run_retries_retry_on_asset_or_op_failure is False


def test_run_console_shows_info_and_up_and_one_day_runs_at_a_time(instance: dg.DagsterInstance):
    assert instance.python_log_level == "INFO"
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1


def test_postgres_variant_differs_only_in_its_storage():
    local = yaml.safe_load((REPO / "dagster.yaml").read_text())
    postgres = yaml.safe_load((REPO / "deploy" / "postgres" / "dagster.yaml").read_text())
    assert set(postgres["storage"]) == {"postgres"}
    assert {key: value for key, value in postgres.items() if key != "storage"} == {
        key: value for key, value in local.items() if key != "storage"
    }
