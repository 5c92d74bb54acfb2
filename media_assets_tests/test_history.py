"""History you can trust: days built from the latest published day, backfills rebuilt forward by the sensor, failed
days never published, and rebuilds equal to the in-order chain byte for byte.

Each day runs the real raw, clean, model, audit and publish assets on the sample source; a day is blocked by
raising a gate's threshold above what the sample reaches.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest

from media_assets.clean.assets import file_assets
from media_assets.history_rebuild import history_rebuild_sensor
from media_assets.io_managers import ParquetIOManager
from media_assets.model.assets import model_assets
from media_assets.model.transforms import MODEL_TABLES
from media_assets.publish.assets import publish_assets
from media_assets.quality.assets import quality_assets
from media_assets.quality.report import attempt_report_path
from media_assets.quality.settings import QualitySettings
from media_assets.resources import DataLake, ModelSettings
from media_assets.sources.imdb_source import SampleImdbSource

DAY_20, DAY_21, DAY_22 = "2026-11-20", "2026-11-21", "2026-11-22"
SCALE = 0.0002


def run_day(
    instance: dg.DagsterInstance, lake: DataLake, day: str, passes: bool = True, scale: float = SCALE
) -> dg.ExecuteInProcessResult:
    """Run a day; with `passes=False` a genre-coverage floor of 1.0 blocks it (every sample day has titles without
    a genre)."""
    return dg.materialize(
        [*file_assets, *model_assets, *quality_assets, *publish_assets],
        partition_key=day,
        instance=instance,
        resources={
            "data_lake": lake,
            "io_manager": ParquetIOManager(data_lake=lake),
            "imdb_source": SampleImdbSource(scale=scale),
            "model_settings": ModelSettings(),
            "quality_settings": QualitySettings() if passes else QualitySettings(genre_coverage_min_pass_rate=1.0),
        },
        raise_on_error=False,
    )


def published_bytes(lake: DataLake, day: str) -> dict[str, bytes]:
    published = lake.published.get(dt.date.fromisoformat(day))
    return {table: path.read_bytes() for table, path in published.tables.items()}


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture(scope="module")
def in_order_chain(tmp_path_factory):
    """Days 20, 21, 22 built in order: what every other order must end up equal to."""
    lake = DataLake(root=str(tmp_path_factory.mktemp("in_order")))
    with dg.instance_for_test() as instance:
        for day in (DAY_20, DAY_21, DAY_22):
            assert run_day(instance, lake, day).success
    return lake


@pytest.mark.slow
def test_a_missed_day_carries_every_version_over_under_its_key(instance, tmp_path, in_order_chain):
    lake = DataLake(root=str(tmp_path))
    for day in (DAY_20, DAY_22):
        assert run_day(instance, lake, day).success
    day_20 = pl.read_parquet(lake.published.get(dt.date(2026, 11, 20)).tables["dim_title"])
    day_22 = pl.read_parquet(lake.published.get(dt.date(2026, 11, 22)).tables["dim_title"])
    assert lake.published.get(dt.date(2026, 11, 22)).predecessor.snapshot_date == dt.date(2026, 11, 20)
    # every version of the 20th is in the 22nd's history with the same key and attributes
    attributes = [c for c in day_20.columns if c not in ("valid_to", "is_current")]
    assert day_20.select(attributes).join(day_22, on=attributes, how="anti", nulls_equal=True).is_empty()
    # a key names one version in every build, whatever the order: same key, same title and valid_from
    both = pl.concat([day_22, pl.read_parquet(in_order_chain.published.get(dt.date(2026, 11, 22)).tables["dim_title"])])
    assert both.group_by("title_sk").agg(pl.struct("title_id", "valid_from").n_unique().alias("n"))["n"].max() == 1
    record = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("dim_title"), asset_partitions=[DAY_22]), limit=1
    ).records[0]
    assert record.asset_materialization.metadata["predecessor_day"].value == DAY_20


@pytest.mark.slow
def test_a_backfill_puts_later_days_out_of_date_and_the_sensor_rebuilds_them_to_the_in_order_chain(
    instance, tmp_path, in_order_chain
):
    lake = DataLake(root=str(tmp_path))
    for day in (DAY_20, DAY_22, DAY_21):  # the 21st backfilled after the 22nd
        assert run_day(instance, lake, day).success
    [out_of_date] = lake.published.out_of_date()
    assert (out_of_date.snapshot_date, out_of_date.rebuild_from) == (dt.date(2026, 11, 22), dt.date(2026, 11, 21))
    history_checks = [
        record
        for record in instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("published_star_schema"), "history_up_to_date"), limit=10
        )
        if record.partition == DAY_22
    ]
    assert history_checks and history_checks[0].event.asset_check_evaluation.passed is False

    context = dg.build_sensor_context(instance=instance, resources={"data_lake": lake})
    request = history_rebuild_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == DAY_22
    assert request.run_key.startswith(f"rebuild-{DAY_22}-from-{DAY_21}:")

    assert run_day(instance, lake, DAY_22).success
    assert lake.published.out_of_date() == []
    skip = history_rebuild_sensor(dg.build_sensor_context(instance=instance, resources={"data_lake": lake}))
    assert isinstance(skip, dg.SkipReason)
    for day in (DAY_20, DAY_21, DAY_22):
        assert published_bytes(lake, day) == published_bytes(in_order_chain, day), day


@pytest.mark.slow
def test_a_day_whose_gate_fails_is_not_published_and_changes_nothing_readers_see(instance, tmp_path):
    lake = DataLake(root=str(tmp_path))
    assert run_day(instance, lake, DAY_20).success
    manifest_before = lake.published.manifest_path(dt.date(2026, 11, 20)).read_bytes()
    warehouse_before = lake.warehouse_path.read_bytes()

    failed = run_day(instance, lake, DAY_21, passes=False)
    assert not failed.success
    assert lake.published.days() == [dt.date(2026, 11, 20)]
    assert not any(e.asset_key.path == ["published_star_schema"] for e in failed.get_asset_materialization_events())
    assert lake.published.manifest_path(dt.date(2026, 11, 20)).read_bytes() == manifest_before
    assert lake.warehouse_path.read_bytes() == warehouse_before
    # the failed day's tables stay in the staging area for inspection
    assert all(lake.table_path(table, DAY_21).is_file() for table in MODEL_TABLES)

    # the next day is built from the 20th, the latest *published* day
    assert run_day(instance, lake, DAY_22).success
    assert lake.published.get(dt.date(2026, 11, 22)).predecessor.snapshot_date == dt.date(2026, 11, 20)


def test_a_failed_rerun_of_a_published_day_leaves_its_publication_as_it_was(instance, tmp_path):
    lake = DataLake(root=str(tmp_path))
    first = run_day(instance, lake, DAY_20)
    published = lake.published.get(dt.date(2026, 11, 20))
    published_files = published_bytes(lake, DAY_20)
    assert published.generation == first.run_id

    rerun = run_day(instance, lake, DAY_20, passes=False)
    assert not rerun.success
    again = lake.published.get(dt.date(2026, 11, 20))
    assert again.generation == first.run_id
    assert published_bytes(lake, DAY_20) == published_files
    # the rerun's report is there beside the published attempt's, which stays readable
    assert attempt_report_path(lake, DAY_20, rerun.run_id).is_file()
    assert again.quality_report == attempt_report_path(lake, DAY_20, first.run_id)


@pytest.mark.slow
def test_the_same_day_twice_writes_byte_identical_tables(tmp_path):
    """At a size where the facts and credits span several Parquet row groups and both threads are busy."""
    lakes = [DataLake(root=str(tmp_path / name)) for name in ("a", "b")]
    for lake in lakes:
        with dg.instance_for_test() as instance:
            assert run_day(instance, lake, DAY_20, scale=0.015).success
    first, second = (published_bytes(lake, DAY_20) for lake in lakes)
    published = lakes[0].published.get(dt.date(2026, 11, 20)).tables
    assert all(pq.ParquetFile(published[name]).num_row_groups > 1 for name in ("dim_person", "fact_cast_crew"))
    assert first == second
    clean = [Path(lake.table_path("clean_title_principals", DAY_20)) for lake in lakes]
    assert pq.ParquetFile(clean[0]).num_row_groups > 1
    assert clean[0].read_bytes() == clean[1].read_bytes()
