"""One partition = one IMDb snapshot day."""

import datetime as dt
import os

import dagster as dg

DEFAULT_START_DATE = "2026-01-01"

daily_partitions = dg.DailyPartitionsDefinition(
    # Kept recent on purpose: Dagster walks every partition since the start for some operations.
    start_date=os.environ.get("MEDIA_ASSETS_START_DATE", DEFAULT_START_DATE),
    # Today's snapshot is published today, so today's partition exists (the default would stop at yesterday).
    end_offset=1,
)


def partition_date(partition_key: str) -> dt.date:
    """The snapshot day a partition key stands for."""
    return dt.date.fromisoformat(partition_key)
