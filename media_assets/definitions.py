"""Everything Dagster loads: assets, checks, resources, jobs, schedules and sensors of media_assets."""

import os

import dagster as dg

from media_assets.clean.assets import clean_assets
from media_assets.enrich.assets import enrichment_assets
from media_assets.enrich.tmdb import TmdbClient
from media_assets.freshness import raw_freshness_checks, raw_freshness_sensor
from media_assets.history_rebuild import history_rebuild_sensor
from media_assets.io_managers import ParquetIOManager
from media_assets.jobs import imdb_daily, imdb_executor
from media_assets.kpis.assets import kpi_assets
from media_assets.model.assets import model_assets
from media_assets.publish.assets import publish_assets
from media_assets.quality.assets import quality_assets
from media_assets.quality.settings import QualitySettings
from media_assets.resources import DataLake, ModelSettings
from media_assets.run_failure import pipeline_metrics_on_failure
from media_assets.schedules import imdb_daily_schedule
from media_assets.sensors import imdb_release_sensor
from media_assets.settings import env_or_default
from media_assets.sources.assets import raw_assets
from media_assets.sources.imdb_source import imdb_source_from_env


def quality_settings_from_env() -> QualitySettings:
    """Gate thresholds, each overridable by `QUALITY_<FIELD>`, e.g. `QUALITY_TITLE_COMPLETENESS_MIN_PASS_RATE=0.95`."""
    overrides = {
        field: float(os.environ[f"QUALITY_{field.upper()}"])
        for field in QualitySettings.model_fields
        if f"QUALITY_{field.upper()}" in os.environ
    }
    return QualitySettings(**overrides)


data_lake = DataLake(root=env_or_default("MEDIA_ASSETS_DATA_DIR", "data"))

defs = dg.Definitions(
    assets=[
        *raw_assets,
        *clean_assets,
        *model_assets,
        *quality_assets,
        *publish_assets,
        *kpi_assets,
        *enrichment_assets,
    ],
    asset_checks=[*raw_freshness_checks],
    jobs=[imdb_daily],
    schedules=[imdb_daily_schedule],
    sensors=[imdb_release_sensor, history_rebuild_sensor, pipeline_metrics_on_failure, raw_freshness_sensor],
    # Set once here, so runs launched from the UI are limited like the daily job's.
    executor=imdb_executor,
    resources={
        "data_lake": data_lake,
        "io_manager": ParquetIOManager(data_lake=data_lake),
        "imdb_source": imdb_source_from_env(),
        "model_settings": ModelSettings(),
        "quality_settings": quality_settings_from_env(),
        # The key stays an EnvVar (hidden in the UI); unset means enrichment is off and its asset says how to set it.
        "tmdb": TmdbClient(api_key=env_or_default("TMDB_API_KEY", "")),
    },
)
