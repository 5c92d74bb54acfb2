"""Markers of the tests that need extra software (PostgreSQL, Chromium), and the rule for when it is missing."""

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: starts a real PostgreSQL server (Debian package `postgresql`)")
    config.addinivalue_line("markers", "browser: drives the Dagster UI in headless Chromium (Debian `chromium`)")


def require_installed(found: bool, what: str) -> None:
    """Skip when `what` is not installed; under CI=true fail instead, since `.ci/run` installs it."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing under CI=true: .ci/run must install it", pytrace=False)
    pytest.skip(f"{what} is not installed: install it (see README) to run this test")
