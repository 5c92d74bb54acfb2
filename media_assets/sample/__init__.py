"""Deterministic synthetic IMDb snapshots, byte-for-byte in IMDb's bulk-file format (offline demo and tests)."""

from media_assets.sample.generator import (
    SCALE_FULL_PEOPLE,
    SCALE_FULL_PRINCIPALS,
    SCALE_FULL_RATINGS,
    SCALE_FULL_TITLES,
    SampleSnapshot,
    generate_sample_snapshot,
    write_sample_snapshot,
)

__all__ = [
    "SCALE_FULL_PEOPLE",
    "SCALE_FULL_PRINCIPALS",
    "SCALE_FULL_RATINGS",
    "SCALE_FULL_TITLES",
    "SampleSnapshot",
    "generate_sample_snapshot",
    "write_sample_snapshot",
]
