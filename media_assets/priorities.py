"""Execution priorities of the steps, as op tags: a neutral module the layers declare them from (the executor that
honours them is in `media_assets.jobs`)."""

LONGEST_STEP_OP_TAGS = {"dagster/priority": "2"}
"""Op tags (`op_tags=` on an asset, not `tags=`: asset tags do not reach the executor) of title.principals' step,
the longest step of a run: it starts before any other ready step."""
CRITICAL_PATH_OP_TAGS = {"dagster/priority": "1"}
"""Op tags of the other steps the run's tail (fact_cast_crew and dim_person -> KPIs) waits for: the other IMDb files'
steps (raw file and clean table), title_dimensions (dim_title) and its blocking check. When several steps are ready
these start first, so they are done by the time title.principals' step is; the other steps fill the gaps. Measured
at scale 0.1 (when raw files and clean tables had steps of their own): without priorities clean_title_principals
started after the three other clean steps, and fact_cast_crew then waited ~1.7 s for dim_title, which had queued
behind a freshness check."""
