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


def test_every_asset_has_kinds_owners_and_a_layer_for_the_catalog():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.kinds, key
        assert node.owners == ["team:data-engineering"], key
        assert node.tags.get("layer") == node.group_name, key


def test_the_daily_job_leaves_out_only_the_enrichment_needing_an_api_key():
    job = defs.resolve_job_def("imdb_daily")
    graph = defs.resolve_asset_graph()
    in_job = {key for key in job.asset_layer.asset_graph.get_all_asset_keys() if job.asset_layer.has(key)}
    enrichment = {key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "enrichment"}
    assert enrichment == {dg.AssetKey("tmdb_title_details")}
    assert graph.get_all_asset_keys() - enrichment <= in_job
    assert not enrichment & in_job
