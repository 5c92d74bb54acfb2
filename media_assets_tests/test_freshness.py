"""The daily assets' freshness policy: on the raw snapshots, the published star schema, the warehouse and the KPIs,
none on the steps in between."""

import datetime as dt

import dagster as dg

from media_assets.definitions import defs
from media_assets.freshness import DAILY_FRESHNESS


def test_raw_files_published_tables_and_kpis_carry_the_daily_freshness_policy():
    graph = defs.resolve_asset_graph()
    with_policy = {key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).freshness_policy}
    assert with_policy == {
        "raw_title_basics",
        "raw_title_ratings",
        "raw_name_basics",
        "raw_title_principals",
        "published_star_schema",
        "warehouse",
        "media_kpis",
    }
    assert all(graph.get(dg.AssetKey(name)).freshness_policy == DAILY_FRESHNESS for name in with_policy)


def test_policy_warns_after_26_hours_and_fails_after_two_days():
    assert DAILY_FRESHNESS == dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(hours=48), warn_window=dt.timedelta(hours=26)
    )


def test_no_superseded_freshness_checks_remain():
    check_names = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert not [name for name in check_names if "freshness" in name]
