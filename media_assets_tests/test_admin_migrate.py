"""A data directory written before the published state existed is refused with what to do, and `migrate` sets its
derived tables aside without touching the raw archive."""

import hashlib

import polars as pl
import pytest

from media_assets.admin import main
from media_assets.publish.state import LegacyDataDirError, PublishedState


@pytest.fixture
def legacy_dir(tmp_path):
    """What an earlier version left: model tables per day, quarantine, KPIs, a warehouse and the raw archive."""
    (tmp_path / "tables" / "dim_title").mkdir(parents=True)
    pl.DataFrame({"title_sk": [1, 2]}).write_parquet(tmp_path / "tables" / "dim_title" / "2026-11-20.parquet")
    (tmp_path / "quarantine" / "2026-11-20").mkdir(parents=True)
    (tmp_path / "kpis" / "2026-11-20").mkdir(parents=True)
    (tmp_path / "warehouse.duckdb").write_bytes(b"old warehouse")
    (tmp_path / "raw" / "2026-11-20").mkdir(parents=True)
    (tmp_path / "raw" / "2026-11-20" / "title.basics.tsv.gz").write_bytes(b"archived bytes")
    return tmp_path


def test_an_old_data_directory_is_refused_naming_the_command(legacy_dir):
    with pytest.raises(LegacyDataDirError, match=r"python -m media_assets\.admin migrate --data-dir") as error:
        PublishedState(legacy_dir).check_layout()
    assert str(legacy_dir) in str(error.value)


def test_migrate_sets_derived_tables_aside_and_keeps_the_raw_archive(legacy_dir, capsys):
    archived = legacy_dir / "raw" / "2026-11-20" / "title.basics.tsv.gz"
    digest = hashlib.sha256(archived.read_bytes()).hexdigest()

    assert main(["--data-dir", str(legacy_dir), "migrate"]) == 0
    output = capsys.readouterr().out
    assert "rebuild-archive" in output
    [legacy] = legacy_dir.glob("legacy-*")
    assert sorted(p.name for p in legacy.iterdir()) == ["kpis", "quarantine", "tables", "warehouse.duckdb"]
    assert (legacy / "tables" / "dim_title" / "2026-11-20.parquet").is_file()
    assert hashlib.sha256(archived.read_bytes()).hexdigest() == digest
    PublishedState(legacy_dir).check_layout()  # accepted now
    assert main(["--data-dir", str(legacy_dir), "migrate"]) == 0
    assert "nothing to migrate" in capsys.readouterr().out
