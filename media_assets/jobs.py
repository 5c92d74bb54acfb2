"""The daily job over the whole graph, and the executor every run of this code location uses."""

import dagster as dg

LONGEST_STEP_OP_TAGS = {"dagster/priority": "2"}
"""Op tags (`op_tags=` on an asset, not `tags=`: asset tags do not reach the executor) of clean_title_principals,
the longest step of a run: it starts before any other ready step."""
CRITICAL_PATH_OP_TAGS = {"dagster/priority": "1"}
"""Op tags of the other steps the run's tail (fact_cast_crew and dim_person -> KPIs) waits for: the clean tables,
title_dimensions (dim_title) and its blocking check. When several steps are ready these start first, so they are
done by the time clean_title_principals is; the other steps fill the gaps. Measured at scale 0.1: without
priorities clean_title_principals started after the three other clean steps, and fact_cast_crew then waited
~1.7 s for dim_title, which had queued behind a freshness check."""

ENRICHMENT_GROUP = "enrichment"

FORKSERVER_PRELOADS = [
    "dagster._core.executor.multiprocess",  # first, as Dagster does
    "media_assets.definitions",
    # The instance's storage, opened by every step: SQLite (the default) or PostgreSQL (dagster.postgres.yaml).
    "dagster._core.storage.sqlite_storage",
    "dagster_postgres",
]

imdb_executor = dg.multiprocess_executor.configured(
    {
        # Two cores: more processes only compete for them.
        "max_concurrent": 2,
        # Steps fork from one server process instead of each starting a fresh interpreter. Its preloads are
        # explicit: left to Dagster it preloads only its executor module when a run is launched from the CLI,
        # and every step imported this code location and Dagster's storage again (~1 CPU-s a step, measured).
        # A module that is not installed (dagster_postgres without the extra) is skipped by the forkserver.
        "start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOADS}},
    },
    name="imdb_multiprocess_executor",
)
"""Multiprocess executor: at most 2 steps at once (no step needs more than ~2.3 GB at IMDb's full size, measured).

Set on the `Definitions`, so it also governs ad-hoc materializations launched from the UI, not only `imdb_daily`.
"""

imdb_daily = dg.define_asset_job(
    name="imdb_daily",
    # TMDb enrichment needs an API key: it is run on its own, never by the daily job.
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(ENRICHMENT_GROUP),
    description=(
        "Every asset and check of one IMDb snapshot day (raw files, cleaned tables, star schema, KPIs), "
        "except the TMDb enrichment that needs an API key. Partitioned by day."
    ),
)
