"""Resources: where files live (`DataLake`) and what the model covers (`ModelSettings`).

Where IMDb snapshots come from is `media_assets.sources.imdb_source.ImdbSource`."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from media_assets.publish.state import PublishedState


class DataLake(dg.ConfigurableResource):
    """The data directory: raw snapshots, cleaned/model tables, quarantine, KPIs and the DuckDB warehouse."""

    root: str = Field(default="data", description="Base directory of every file the pipeline writes.")

    @property
    def root_path(self) -> Path:
        return Path(self.root).expanduser().resolve()

    @property
    def tables_dir(self) -> Path:
        """Where the IO manager keeps one Parquet file per asset and partition."""
        return self.root_path / "tables"

    @property
    def raw_root(self) -> Path:
        """The raw archive: one folder per day (see `media_assets.sources.archive`)."""
        return self.root_path / "raw"

    def raw_dir(self, partition_key: str) -> Path:
        return self.raw_root / partition_key

    def quarantine_dir(self, partition_key: str) -> Path:
        return self.root_path / "quarantine" / partition_key

    def kpi_dir(self, partition_key: str) -> Path:
        return self.root_path / "kpis" / partition_key

    def quality_dir(self, partition_key: str) -> Path:
        """The day's quality reports: `quality.json` (latest attempt) and `attempts/<run id>.json`."""
        return self.root_path / "quality" / partition_key

    @property
    def published(self) -> PublishedState:
        """Which days readers may see (see `media_assets.publish.state`)."""
        return PublishedState(self.root_path)

    def table_path(self, asset_name: str, partition_key: str) -> Path:
        """The Parquet file the IO manager writes for an asset's partition."""
        return self.tables_dir / asset_name / f"{partition_key}.parquet"

    @property
    def tmdb_cache_dir(self) -> Path:
        """One JSON answer per title, so TMDb enrichment reruns ask only for new or stale titles."""
        return self.root_path / "cache" / "tmdb"

    @property
    def warehouse_path(self) -> Path:
        return self.root_path / "warehouse.duckdb"


class ModelSettings(dg.ConfigurableResource):
    """What the star schema covers and how ratings are banded."""

    title_types: list[str] = Field(
        default=["movie", "tvMovie", "tvSeries", "tvMiniSeries"],
        description="Title types in the model (episodes, shorts and video games are left out by default).",
    )
    facts_rated_only: bool = Field(
        default=True, description="Keep only rated titles in the facts (the architecture document's choice)."
    )
    medium_votes_from: int = Field(default=1_000, description="vote_tier is medium from this many votes.")
    high_votes_from: int = Field(default=100_000, description="vote_tier is high from this many votes.")
