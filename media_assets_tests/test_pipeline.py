"""One partition of the whole daily graph on the sample source, checked against the raw files read independently."""

import gzip
import hashlib
import json

import dagster as dg
import polars as pl
import pytest

from media_assets.clean.assets import file_assets
from media_assets.io_managers import ParquetIOManager
from media_assets.kpis.assets import kpi_assets
from media_assets.model.assets import model_assets
from media_assets.publish.assets import publish_assets
from media_assets.quality.assets import QUALITY_CHECK_KEYS, quality_assets
from media_assets.quality.settings import QualitySettings
from media_assets.resources import DataLake, ModelSettings
from media_assets.sources.imdb_files import IMDB_FILES
from media_assets.sources.imdb_source import SampleImdbSource

PARTITION = "2026-06-15"
SCOPED_TYPES = {"movie", "tvMovie", "tvSeries", "tvMiniSeries"}


def _raw_rows(path) -> list[list[str]]:
    """The data lines of a raw file, split on tabs: IMDb's format read with nothing but the standard library."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as lines:
        next(lines)
        return [line.rstrip("\n").split("\t") for line in lines]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    lake = DataLake(root=str(root))
    result = dg.materialize(
        [*file_assets, *model_assets, *quality_assets, *publish_assets, *kpi_assets],
        partition_key=PARTITION,
        resources={
            "data_lake": lake,
            "io_manager": ParquetIOManager(data_lake=lake),
            "imdb_source": SampleImdbSource(scale=0.0002),
            "model_settings": ModelSettings(),
            "quality_settings": QualitySettings(),
        },
    )
    return lake, result


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    # By asset key, not node: the raw assets share one node.
    [materialization] = [
        event.materialization for event in result.get_asset_materialization_events() if event.asset_key.path == [asset]
    ]
    return {key: value.value for key, value in materialization.metadata.items()}


def test_every_asset_and_check_of_the_partition_succeeds(run):
    _, result = run
    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    expected = {
        key.to_user_string()
        for a in [*file_assets, *model_assets, *quality_assets, *publish_assets, *kpi_assets]
        for key in a.keys
    }
    assert materialized == expected
    evaluations = result.get_asset_check_evaluations()
    assert {evaluation.asset_check_key for evaluation in evaluations} == {
        key for check_def in [*file_assets, *quality_assets, *publish_assets] for key in check_def.check_keys
    }
    assert all(evaluation.passed for evaluation in evaluations)
    # A first day has nothing to compare volumes with: no data, which does not block.
    audit = [e for e in evaluations if e.asset_key.path == ["quality_audit"]]
    statuses = {evaluation.check_name: evaluation.metadata["status"].value for evaluation in audit}
    assert statuses == {gate: "passed" for gate in QUALITY_CHECK_KEYS} | {"volume_drift": "no_data"}


def test_raw_checksums_and_clean_row_counts_match_the_files(run):
    lake, result = run
    for imdb_file in IMDB_FILES:
        raw_path = lake.raw_dir(PARTITION) / imdb_file.file_name
        lines = _raw_rows(raw_path)
        raw = _metadata(result, f"raw_{imdb_file.asset_suffix}")
        clean = _metadata(result, f"clean_{imdb_file.asset_suffix}")
        assert raw["bytes"] == raw_path.stat().st_size, imdb_file.dataset
        assert raw["sha256"] == hashlib.sha256(raw_path.read_bytes()).hexdigest(), imdb_file.dataset
        # The raw asset does not inflate the file to count rows: the clean asset does.
        assert "dagster/row_count" not in raw, imdb_file.dataset
        assert clean["rows_in"] == len(lines) > 0, imdb_file.dataset
        # The generator writes well-formed rows: nothing is quarantined, every row comes through.
        assert clean["quarantined_rows"] == 0, imdb_file.dataset
        assert clean["dagster/row_count"] == len(lines), imdb_file.dataset


def test_model_row_counts_match_the_raw_files(run):
    lake, result = run
    titles = _raw_rows(lake.raw_dir(PARTITION) / "title.basics.tsv.gz")
    ratings = {row[0] for row in _raw_rows(lake.raw_dir(PARTITION) / "title.ratings.tsv.gz")}
    scoped = {row[0] for row in titles if row[1] in SCOPED_TYPES}
    assert _metadata(result, "dim_title")["dagster/row_count"] == len(scoped)
    assert _metadata(result, "fact_ratings")["dagster/row_count"] == len(scoped & ratings)

    credits = _raw_rows(lake.raw_dir(PARTITION) / "title.principals.tsv.gz")
    scoped_rated_credits = [row for row in credits if row[0] in scoped & ratings]
    assert _metadata(result, "fact_cast_crew")["dagster/row_count"] == len(scoped_rated_credits)


def test_kpis_and_warehouse_are_written(run):
    lake, result = run
    kpis = json.loads((lake.kpi_dir(PARTITION) / "kpis.json").read_text())
    assert kpis["snapshot_date"] == PARTITION
    fact_ratings = pl.read_parquet(lake.table_path("fact_ratings", PARTITION))
    assert kpis["parameters"]["C"] == pytest.approx(fact_ratings["average_rating"].mean())
    assert kpis["parameters"]["m"] == pytest.approx(fact_ratings["num_votes"].quantile(0.25, "linear"))
    metrics = json.loads((lake.kpi_dir(PARTITION) / "pipeline_metrics.json").read_text())
    assert metrics["source_kind"] == "sample"
    assert (metrics["status"], metrics["published_generation"]) == ("succeeded", result.run_id)
    report = json.loads((lake.quality_dir(PARTITION) / "quality.json").read_text())
    # The score weighs the first five gates 20% each (README, "Quality gates").
    scored = ("rating_range", "genre_coverage", "title_completeness", "person_linking", "bridge_integrity")
    assert report["quality_score"] == pytest.approx(sum(report["gates"][gate]["pass_rate"] for gate in scored) / 5)
    assert report["published"] is True
    assert metrics["quality"]["score"] == report["quality_score"]
    # One step per IMDb file (its raw file and clean table), each with its own figures.
    raw = {f"raw_{imdb_file.asset_suffix}": imdb_file for imdb_file in IMDB_FILES}
    for asset, imdb_file in raw.items():
        assert metrics["assets"][asset]["step_key"] == imdb_file.asset_suffix, asset
        assert metrics["assets"][asset]["seconds"] > 0, asset
        raw_path = lake.raw_dir(PARTITION) / imdb_file.file_name
        assert metrics["assets"][asset]["bytes_written"] == raw_path.stat().st_size, asset
    assert lake.warehouse_path.exists()
