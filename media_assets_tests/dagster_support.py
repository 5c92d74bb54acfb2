"""Reading a test run's results by asset: one step may materialize several assets (an IMDb file's raw and clean)."""

import dagster as dg


def materialization_of(result: dg.ExecuteInProcessResult, asset_key: dg.AssetKey | str) -> dg.AssetMaterialization:
    """The one materialization of `asset_key` in `result`."""
    key = dg.AssetKey(asset_key) if isinstance(asset_key, str) else asset_key
    [materialization] = [
        event.step_materialization_data.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == key
    ]
    return materialization
