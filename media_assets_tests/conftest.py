"""Markers (slow tests, and those that need extra software: PostgreSQL, Chromium), the rule for when that software
is missing, and the model fixtures several modules share."""

import os

import polars as pl
import pytest

from media_assets.model.assets import model_assets
from media_assets_tests.model_support import DAY_1, DAY_2, ModelRun, materialize_model, next_day, random_snapshot


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: takes more than ~15 s (a fresh install, real `dg`/`dagster` processes, whole runs)"
    )
    config.addinivalue_line("markers", "postgres: starts a real PostgreSQL server (Debian package `postgresql`)")
    config.addinivalue_line("markers", "browser: drives the Dagster UI in headless Chromium (Debian `chromium`)")


def require_installed(found: bool, what: str) -> None:
    """Skip when `what` is not installed; under CI=true fail instead, since `.ci/run` installs it."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing under CI=true: .ci/run must install it", pytrace=False)
    pytest.skip(f"{what} is not installed: install it (see README) to run this test")


@pytest.fixture(scope="module")
def snapshots() -> dict[str, dict[str, pl.DataFrame]]:
    """Two days of clean tables: a seeded random snapshot, then the same without Westerns and with a new genre."""
    day_1 = random_snapshot(seed=7)
    return {DAY_1: day_1, DAY_2: next_day(day_1)}


@pytest.fixture(scope="module")
def model_run(tmp_path_factory, snapshots) -> ModelRun:
    """The model materialized (and published) over `snapshots`, once per test module that asks for it."""
    return materialize_model(tmp_path_factory.mktemp("model"), snapshots, model_assets, [DAY_1, DAY_2])
