"""An operator's day from the shell, in real processes on one Dagster instance: two runs of adjacent days at once,
the rebuild command, a day blocked by a gate published with a waiver, and a day withdrawn."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from media_assets.resources import DataLake

pytestmark = pytest.mark.slow  # whole runs in `dagster` and admin processes, ~20-40 s each

DAY_20, DAY_21, DAY_22 = "2026-11-20", "2026-11-21", "2026-11-22"
SAMPLE_SCALE = "0.0002"
MATERIALIZE = [
    sys.executable,
    "-m",
    "dagster",
    "asset",
    "materialize",
    "-m",
    "media_assets.definitions",
    "--select",
    "not group:enrichment",
    "--partition",
]


def environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MEDIA_ASSETS_DATA_DIR": str(tmp_path / "data"),
        "IMDB_SOURCE": "sample",
        "IMDB_SAMPLE_SCALE": SAMPLE_SCALE,
        "MEDIA_ASSETS_START_DATE": "2026-11-01",
        **overrides,
    }


def start_day(tmp_path: Path, day: str, **overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*MATERIALIZE, day],
        env=environment(tmp_path, **overrides),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=300)
    return process.returncode, output


def admin(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "media_assets.admin", *args],
        env=environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )


def published_tables(lake: DataLake, day: str) -> dict[str, bytes]:
    publication = lake.published.get(dt.date.fromisoformat(day))
    return {table: path.read_bytes() for table, path in publication.tables.items()}


@pytest.fixture(scope="module")
def in_order(tmp_path_factory) -> DataLake:
    """The 20th, 21st and 22nd run one after the other: what any other order must end up equal to."""
    root = tmp_path_factory.mktemp("in_order")
    for day in (DAY_20, DAY_21, DAY_22):
        code, output = finish(start_day(root, day))
        assert code == 0, output[-3000:]
    return DataLake(root=str(root / "data"))


def test_two_runs_of_adjacent_days_at_once_end_as_the_in_order_chain(tmp_path, in_order):
    code, output = finish(start_day(tmp_path, DAY_20))
    assert code == 0, output[-3000:]
    runs = [start_day(tmp_path, day) for day in (DAY_21, DAY_22)]
    for code, output in map(finish, runs):
        assert code == 0, output[-3000:]
    lake = DataLake(root=str(tmp_path / "data"))
    assert [day.isoformat() for day in lake.published.days()] == [DAY_20, DAY_21, DAY_22]

    rebuilt = admin(tmp_path, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "Every published day follows the published chain." in rebuilt.stdout
    assert lake.published.out_of_date() == []
    for day in (DAY_20, DAY_21, DAY_22):
        assert published_tables(lake, day) == published_tables(in_order, day), day


def test_a_blocked_day_published_with_a_waiver_then_withdrawn(tmp_path):
    # every sample day has titles without a genre: a coverage threshold of 1.0 blocks the day
    code, output = finish(start_day(tmp_path, DAY_20, QUALITY_GENRE_COVERAGE_MIN_PASS_RATE="1.0"))
    assert code != 0
    lake = DataLake(root=str(tmp_path / "data"))
    assert lake.published.days() == []
    report = json.loads((lake.quality_dir(DAY_20) / "quality.json").read_text())
    assert report["published"] is False
    assert report["gates"]["genre_coverage"]["passed"] is False

    waived = admin(tmp_path, "publish", DAY_20, "--waive", "IMDb dropped genres for a day; accepted by the team")
    assert waived.returncode == 0, waived.stdout + waived.stderr
    publication = lake.published.get(dt.date(2026, 11, 20))
    assert publication.waiver["reason"] == "IMDb dropped genres for a day; accepted by the team"
    assert list(publication.waiver["failed_gates"]) == ["genre_coverage"]
    report = json.loads((lake.quality_dir(DAY_20) / "quality.json").read_text())
    assert report["published"] is True and list(report["waiver"]["failed_gates"]) == ["genre_coverage"]
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as warehouse:
        assert warehouse.execute("SELECT count(DISTINCT snapshot_date) FROM fact_ratings").fetchone()[0] == 1
    assert (lake.kpi_dir(DAY_20) / "kpis.json").is_file()
    status = admin(tmp_path, "status")
    assert "WAIVED: IMDb dropped genres" in status.stdout

    withdrawn = admin(tmp_path, "unpublish", DAY_20, "--reason", "waiver revoked")
    assert withdrawn.returncode == 0, withdrawn.stdout + withdrawn.stderr
    assert lake.published.days() == []
    assert json.loads((lake.quality_dir(DAY_20) / "quality.json").read_text())["published"] is False
    with duckdb.connect(str(lake.warehouse_path), read_only=True) as warehouse:
        assert warehouse.execute("SELECT count(*) FROM warehouse_days").fetchone()[0] == 0
