"""The thresholds of the quality gates (`QualitySettings`), each calibrated on real IMDb rows.

Measured on every folder of `../shared/imdb-real-samples` (pimdb-2020, ocheretko-2022, katzi23-2025) and on the
sample generator's day (scale 0.0005, 2026-06-15); the figures are in each field's description.
"""

import dagster as dg
from pydantic import Field

from media_assets.quality import gates


class QualitySettings(dg.ConfigurableResource):
    """Thresholds of the seven gates. Every field is a float, overridable by `QUALITY_<FIELD>` (e.g.
    `QUALITY_GENRE_COVERAGE_MIN_PASS_RATE=0.85`)."""

    rating_range_min_pass_rate: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Share of title.ratings lines with a rating in 1..10 and votes >= 0. Real: 1.0 on every sample "
        "(pimdb-2020 12 lines, katzi23-2025 132,011; IMDb never ships one out of range), generator 1.0. A 1% margin "
        "for a stray line; 5% of ratings at 11.0 (0.95) fails.",
    )
    genre_coverage_min_pass_rate: float = Field(
        default=0.75,
        ge=0,
        le=1,
        description="Share of scoped titles with a genre. Real: katzi23-2025 0.896, ocheretko-2022 0.847, pimdb-2020 "
        "0.857 (12 of 14), generator 0.93: IMDb leaves many titles without genre, more in some slices, so the floor "
        "sits 10 points under the lowest real slice. A drop from the previous published day is caught by "
        "`max_pass_rate_drop` instead; genres stripped from most titles (< 0.5) fail the floor on a first day.",
    )
    title_completeness_min_pass_rate: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Share of scoped titles (quarantined lines included) with a primary title, a start year when "
        "rated, and a line that parses. Real: 1.0 on every sample (ocheretko-2022's 637 of 2,000 titles without a "
        "start year are unrated announced titles, which IMDb ships so), generator 1.0. A fifth of titles without a "
        "primary title (0.8) fails.",
    )
    person_linking_min_pass_rate: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Share of title.principals lines of scoped titles whose person is in name.basics and title in "
        "title.basics. Real: ocheretko-2022 0.99948 (6 real orphans in 11,576 lines), pimdb-2020 1.0, generator "
        "1.0. A third of the people gone (about 0.67) fails.",
    )
    bridge_integrity_min_pass_rate: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Share of genre tokens and bridge rows that are consistent (token in IMDb's 28 genres, one "
        "bridge row each, keys resolve, weights sum to 1). Real: 1.0 on every sample (no token outside the "
        "vocabulary in 55,000 real tokens), generator 1.0. Lower-case or unknown tokens on 5% of titles fail.",
    )
    max_pass_rate_drop: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Relative rule of the five scored gates: a pass rate may not fall more than this below the "
        "previous published day's (the threshold is the higher of the floor and that). IMDb's day-to-day change "
        "is far below a point (a day adds or edits a few thousand of 12M titles); the generator's consecutive days "
        "move genre coverage by under 0.5 points. 5 points is what a floor set for IMDb's slices cannot see.",
    )
    reconciliation_max_quarantine_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Most of a file's lines that may be quarantined for their structure (field count, key, repeated "
        "key) or be unaccounted for. Real: 0 in every sample and in the generator's files. 1% keeps a few broken "
        "lines from blocking a day (they are quarantined and counted) while 5% of principals lines with missing "
        "fields fails.",
    )
    volume_drift_max_change: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Band around the previous published day's line count of each file. IMDb's files grow about 6% a "
        "year (0.02% a day); the generator's consecutive days differ by under 1%. ±5% passes normal days and gaps of "
        "months and fails a half-published dump (30% of titles gone).",
    )

    def floor(self, gate: str) -> float:
        """The absolute threshold of a scored gate."""
        return getattr(self, f"{gate}_min_pass_rate")

    def threshold(self, gate: str, previous_pass_rate: float | None) -> float:
        """A gate's threshold for the day, its pass rate compared against it; `previous_pass_rate` is the previous
        published day's (None on a first day)."""
        if gate == gates.RECONCILIATION:
            return 1 - self.reconciliation_max_quarantine_share
        if gate == gates.VOLUME_DRIFT:
            return 1.0
        return gates.relative_threshold(self.floor(gate), previous_pass_rate, self.max_pass_rate_drop)
