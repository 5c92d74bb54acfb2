"""The local instance's SQLite connections commit without waiting for the disk at every event."""

from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from media_assets.sqlite_instance import commit_without_fsync_per_event

NORMAL = 1
"""`PRAGMA synchronous` reads 0 OFF, 1 NORMAL, 2 FULL (SQLite's default)."""


def _synchronous(database: Path) -> int:
    with sa.create_engine(f"sqlite:///{database}").connect() as connection:
        return connection.exec_driver_sql("PRAGMA synchronous").scalar_one()


def test_new_sqlite_connections_use_synchronous_normal_once_the_definitions_load(tmp_path: Path):
    import media_assets.definitions  # noqa: F401  (loading the definitions installs the setting)

    assert _synchronous(tmp_path / "events.db") == NORMAL
    commit_without_fsync_per_event()  # idempotent: the definitions may be loaded again in one process
    assert _synchronous(tmp_path / "events.db") == NORMAL


def test_a_run_on_a_sqlite_instance_records_its_materialization(tmp_path: Path):
    @dg.asset
    def one() -> int:
        return 1

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.materialize([one], instance=instance)
        assert result.success
        assert instance.get_latest_materialization_event(dg.AssetKey("one")) is not None
