"""The daily job over the whole graph, and the executor every run of this code location uses."""

import dagster as dg

HEAVY_TAG_KEY = "media_assets/heavy"
"""Op tag (`op_tags=` on an asset, not `tags=`: asset tags do not reach the executor) of steps that need many GB."""

ENRICHMENT_GROUP = "enrichment"

imdb_executor = dg.multiprocess_executor.configured(
    {
        # Two cores: more processes only compete for them.
        "max_concurrent": 2,
        # Steps fork from a server that has imported dagster and this code location once, instead of each
        # spawning a fresh interpreter that imports them again: measured ~2 s less per step.
        "start_method": {"forkserver": {}},
        # principals and cast/crew each hold GBs at full size: side by side they exhaust 24 GB.
        "tag_concurrency_limits": [{"key": HEAVY_TAG_KEY, "value": "true", "limit": 1}],
    },
    name="imdb_multiprocess_executor",
)
"""Multiprocess executor: at most 2 steps at once, and at most 1 step tagged `media_assets/heavy=true`.

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
