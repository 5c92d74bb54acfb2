"""The daily job over the whole graph, and the executor every run of this code location uses."""

import dagster as dg

ENRICHMENT_GROUP = "enrichment"

FORKSERVER_PRELOADS = [
    # The two private Dagster module names below are only strings handed to the forkserver to import ahead of the
    # steps; nothing here imports or calls them, so no private API is used. The first is the module Dagster itself
    # preloads (listed first, as Dagster does); a Dagster that renames either makes the preload a no-op (the
    # forkserver skips what it cannot import), never a failure.
    "dagster._core.executor.multiprocess",
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
