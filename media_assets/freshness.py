"""Freshness of the raw snapshots: a warning in the UI when no raw file has been materialized for two days."""

import datetime as dt
import warnings

import dagster as dg

from media_assets.sources.assets import raw_assets

RAW_MAX_AGE = dt.timedelta(days=2)

# Dagster 1.13 marks these check factories as superseded by FreshnessPolicy. The checks are kept because they show
# up as WARN-severity checks beside the raw assets, re-evaluate at the end of every imdb_daily run, and are
# testable against an instance; the warning about it would only be noise in every CLI call.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    raw_freshness_checks = dg.build_last_update_freshness_checks(
        # Partitioned assets: the newest materialization of any partition counts.
        assets=raw_assets,
        lower_bound_delta=RAW_MAX_AGE,
        severity=dg.AssetCheckSeverity.WARN,
    )
    raw_freshness_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=raw_freshness_checks,
        name="raw_freshness_sensor",
        minimum_interval_seconds=60 * 60,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
