"""Enrichment layer: TMDb details (budget, revenue, popularity, poster) of the day's top titles.

Optional: it needs a TMDb API key, so it is not part of the daily job and nothing in the graph depends on it.
"""

import logging

import dagster as dg
import httpx
import polars as pl
from pydantic import Field

from media_assets import owners
from media_assets.enrich.tmdb import TmdbClient
from media_assets.enrich.transforms import top_rated_titles
from media_assets.partitions import daily_partitions
from media_assets.resources import DataLake
from media_assets.retries import NETWORK_RETRY_POLICY
from media_assets.telemetry import peak_rss_bytes

ENRICHMENT_GROUP = "enrichment"


class TmdbEnrichmentConfig(dg.Config):
    top_n: int = Field(default=1000, description="How many of the day's top titles (by weighted rating) to enrich.")


@dg.asset(
    partitions_def=daily_partitions,
    group_name=ENRICHMENT_GROUP,
    kinds={"polars", "parquet", "api"},
    owners=owners.DATA_ENGINEERING,
    tags={"layer": "enrichment"},
    # TMDb down for minutes does not fail the step: it runs again after 30, 90 and 210 s.
    retry_policy=NETWORK_RETRY_POLICY,
)
def tmdb_title_details(
    context: dg.AssetExecutionContext,
    config: TmdbEnrichmentConfig,
    tmdb: TmdbClient,
    data_lake: DataLake,
    fact_ratings: pl.LazyFrame,
    dim_title: pl.LazyFrame,
) -> pl.DataFrame:
    """TMDb budget, revenue, popularity, vote figures, poster URL, release date and language of the day's top N
    titles by Bayesian weighted rating. Answers are cached on disk (`<data dir>/cache/tmdb/`), so a rerun asks TMDb
    only for new or stale titles. Needs TMDB_API_KEY; without it the asset fails at once saying how to set it."""
    titles = top_rated_titles(fact_ratings, dim_title, config.top_n)
    # httpx logs every request URL at INFO, and a v3 key travels in the URL: keep it out of the run logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        details, summary = tmdb.fetch(
            list(titles.select("tconst", "title_type").iter_rows()), data_lake.tmdb_cache_dir, log=context.log
        )
    except httpx.TransportError:
        raise  # the network: worth the retry policy
    except Exception as error:
        # A rejected or missing API key, a bad cache folder: the same again after a wait, so no retry.
        raise dg.Failure(description=str(error), allow_retries=False) from error
    enriched = titles.select("title_id", "tconst", "bayesian_weighted_rating").join(details, on="tconst", how="left")
    context.add_output_metadata(
        {
            "requested": summary.requested,
            "from_cache": summary.from_cache,
            "fetched": summary.fetched,
            "not_found": summary.not_found,
            "failed": summary.failed,
            "peak_rss_bytes": peak_rss_bytes(),
        }
    )
    if summary.failed:
        context.log.warning(f"{summary.failed} titles failed on TMDb; see the `error` column. A rerun retries them.")
    return enriched


enrichment_assets = [tmdb_title_details]
