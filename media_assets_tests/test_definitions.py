"""The code location loads, and every asset is daily partitioned and described."""

import dagster as dg

from media_assets.definitions import defs
from media_assets.partitions import daily_partitions


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert graph.get_all_asset_keys(), "no assets loaded"


def test_every_asset_is_daily_partitioned_grouped_and_described():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.partitions_def == daily_partitions, key
        assert node.group_name and node.group_name != "default", key
        assert node.description, key
