"""Everything Dagster loads: assets, checks, resources, jobs, schedules and sensors of media_assets."""

import os

import dagster as dg

from media_assets.io_managers import ParquetIOManager
from media_assets.resources import DataLake, ImdbSource, ModelSettings
from media_assets.settings import env_or_default
from media_assets.sources.assets import raw_assets

data_lake = DataLake(root=env_or_default("MEDIA_ASSETS_DATA_DIR", "data"))

defs = dg.Definitions(
    assets=[*raw_assets],
    resources={
        "data_lake": data_lake,
        "io_manager": ParquetIOManager(data_lake=data_lake),
        "imdb_source": ImdbSource(
            kind=env_or_default("IMDB_SOURCE", "sample"),
            base_url=env_or_default("IMDB_BASE_URL", "https://datasets.imdbws.com/"),
            folder=env_or_default("IMDB_FOLDER", ""),
            # Numbers are read here: Dagster's EnvVar only carries strings and ints.
            sample_scale=float(os.environ.get("IMDB_SAMPLE_SCALE", "0.0005")),
        ),
        "model_settings": ModelSettings(),
    },
)
