"""One partition = one IMDb snapshot day."""

import datetime as dt

import dagster as dg

from media_assets.settings import settings

daily_partitions = dg.DailyPartitionsDefinition(
    # MEDIA_ASSETS_START_DATE, kept recent on purpose: Dagster walks every partition since the start for some
    # operations.
    start_date=settings.start_date.isoformat(),
    # Today's snapshot is published today, so today's partition exists (the default would stop at yesterday).
    end_offset=1,
)


def partition_date(partition_key: str) -> dt.date:
    """The snapshot day a partition key stands for."""
    return dt.date.fromisoformat(partition_key)
