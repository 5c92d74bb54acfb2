"""How fresh the daily assets are expected to be: a `FreshnessPolicy` the daemon evaluates (no check steps, no
sensor of our own; the UI shows each asset's freshness as passing, warning or failing).

The policy looks at the newest materialization of any partition: a day's assets are expected once a day, after
IMDb's refresh. It warns when none came in 26 hours (a late or skipped day) and fails after two days.
"""

import datetime as dt
from collections.abc import Iterable

import dagster as dg

DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(days=2), warn_window=dt.timedelta(hours=26))


def with_daily_freshness(
    assets: Iterable[dg.AssetsDefinition], group_name: str | None = None
) -> list[dg.AssetsDefinition]:
    """`assets` with the daily freshness policy on each of their specs (in `group_name` only, when given)."""
    return list(
        dg.map_asset_specs(
            lambda spec: (
                dg.apply_freshness_policy(spec, DAILY_FRESHNESS)
                if group_name is None or spec.group_name == group_name
                else spec
            ),
            assets,
        )
    )
