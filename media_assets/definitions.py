"""Everything Dagster loads: assets, checks, resources, jobs, schedules and sensors of media_assets."""

import dagster as dg

from media_assets.alerts import AlertWebhook, imdb_failure_alert
from media_assets.clean.assets import clean_assets
from media_assets.enrich.assets import enrichment_assets
from media_assets.enrich.tmdb import TmdbClient
from media_assets.freshness import with_daily_freshness
from media_assets.io_managers import ParquetIOManager
from media_assets.jobs import imdb_daily, imdb_executor
from media_assets.kpis.assets import kpi_assets
from media_assets.model.assets import model_assets
from media_assets.quality.checks import QualitySettings, quality_checks
from media_assets.resources import DataLake, ImdbSource, ModelSettings
from media_assets.schedules import imdb_daily_schedule
from media_assets.sensors import imdb_release_sensor
from media_assets.settings import quality_thresholds, settings
from media_assets.sources.assets import raw_assets

data_lake = DataLake(root=settings.data_dir)

defs = dg.Definitions(
    assets=[
        *with_daily_freshness(raw_assets),
        *clean_assets,
        *model_assets,
        *with_daily_freshness(kpi_assets),
        *enrichment_assets,
    ],
    asset_checks=quality_checks,
    jobs=[imdb_daily],
    schedules=[imdb_daily_schedule],
    sensors=[imdb_release_sensor, imdb_failure_alert],
    # Set once here, so runs launched from the UI are limited like the daily job's.
    executor=imdb_executor,
    resources={
        "data_lake": data_lake,
        "io_manager": ParquetIOManager(data_lake=data_lake),
        "imdb_source": ImdbSource(
            kind=settings.imdb_source.kind,
            base_url=settings.imdb_source.base_url,
            folder=settings.imdb_source.folder,
            sample_scale=settings.imdb_source.sample_scale,
        ),
        "model_settings": ModelSettings(),
        "quality_settings": QualitySettings(**quality_thresholds(QualitySettings.model_fields)),
        # The key stays an EnvVar (hidden in the UI); unset means enrichment is off and its asset says how to set it.
        "tmdb": TmdbClient(api_key=settings.tmdb_api_key),
        "alert_webhook": AlertWebhook(url=settings.alert_webhook_url),
    },
)
