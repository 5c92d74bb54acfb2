"""Everything Dagster loads: assets, checks, resources, jobs, schedules and sensors of media_assets."""

import dagster as dg

from media_assets.alerts import AlertWebhook, imdb_failure_alert
from media_assets.clean.assets import file_assets
from media_assets.enrich.assets import enrichment_assets
from media_assets.enrich.tmdb import TmdbClient
from media_assets.freshness import with_daily_freshness
from media_assets.history_rebuild import history_rebuild_sensor
from media_assets.io_managers import ParquetIOManager
from media_assets.jobs import imdb_daily, imdb_executor
from media_assets.kpis.assets import kpi_assets
from media_assets.model.assets import model_assets
from media_assets.publish.assets import publish_assets
from media_assets.quality.assets import quality_assets
from media_assets.quality.settings import QualitySettings
from media_assets.resources import DataLake, ModelSettings
from media_assets.retention.job import imdb_retention, retention_after_daily_sensor
from media_assets.run_failure import pipeline_metrics_on_failure
from media_assets.schedules import imdb_daily_schedule
from media_assets.sensors import imdb_release_sensor
from media_assets.settings import ImdbSourceSettings, quality_thresholds, settings
from media_assets.sources.assets import RAW_GROUP
from media_assets.sources.imdb_source import FileImdbSource, HttpImdbSource, ImdbSource, SampleImdbSource
from media_assets.sqlite_instance import commit_without_fsync_per_event


def imdb_source(source: ImdbSourceSettings) -> ImdbSource:
    """The IMDb source resource `IMDB_SOURCE` names, with its settings."""
    if source.kind == "file":
        return FileImdbSource(folder=source.folder, refetch_published=source.refetch_published)
    if source.kind == "http":
        return HttpImdbSource(base_url=source.base_url, refetch_published=source.refetch_published)
    return SampleImdbSource(scale=source.sample_scale, refetch_published=source.refetch_published)


commit_without_fsync_per_event()
data_lake = DataLake(root=settings.data_dir)

defs = dg.Definitions(
    assets=[
        # The raw files of a day, not their clean tables: the steps between raw and published carry no policy.
        *with_daily_freshness(file_assets, group_name=RAW_GROUP),
        *model_assets,
        *quality_assets,
        *with_daily_freshness(publish_assets),
        *with_daily_freshness(kpi_assets),
        *enrichment_assets,
    ],
    jobs=[imdb_daily, imdb_retention],
    schedules=[imdb_daily_schedule],
    sensors=[
        imdb_release_sensor,
        history_rebuild_sensor,
        pipeline_metrics_on_failure,
        imdb_failure_alert,
        retention_after_daily_sensor,
    ],
    # Set once here, so runs launched from the UI execute like the daily job's (settings.Settings.runs_in_process).
    executor=dg.in_process_executor if settings.runs_in_process else imdb_executor,
    resources={
        "data_lake": data_lake,
        "io_manager": ParquetIOManager(data_lake=data_lake),
        "imdb_source": imdb_source(settings.imdb_source),
        "model_settings": ModelSettings(),
        "quality_settings": QualitySettings(**quality_thresholds(QualitySettings.model_fields)),
        # The key stays an EnvVar (hidden in the UI); unset means enrichment is off and its asset says how to set it.
        "tmdb": TmdbClient(api_key=settings.tmdb_api_key),
        "alert_webhook": AlertWebhook(url=settings.alert_webhook_url),
    },
)
