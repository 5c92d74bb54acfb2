"""The five quality gates as blocking Dagster asset checks, each on the table it judges (person linking, which
judges how fact_cast_crew and dim_person fit together, on dim_person). The two gates on title_genre_bridge are one
multi-asset check, evaluated in one step.

Each check runs in the same run and for the same partition as its asset: the checks share the assets' daily
partitions, so their inputs load the partition just written. A pass rate below the configured threshold fails
the check with severity ERROR and, being blocking, stops the assets downstream of the judged table (the KPIs)
in that run.
"""

import warnings
from collections.abc import Iterator

import dagster as dg
import polars as pl
from pydantic import Field

from media_assets.partitions import daily_partitions
from media_assets.priorities import CRITICAL_PATH_OP_TAGS
from media_assets.quality import gates
from media_assets.quality.gates import GateResult


class QualitySettings(dg.ConfigurableResource):
    """Minimum pass rate of each quality gate; below it the gate's check fails and blocks the KPIs."""

    rating_range_min_pass_rate: float = Field(default=0.99, ge=0, le=1, description="Rating range gate.")
    genre_coverage_min_pass_rate: float = Field(default=0.90, ge=0, le=1, description="Genre coverage gate.")
    title_completeness_min_pass_rate: float = Field(default=0.99, ge=0, le=1, description="Title completeness gate.")
    person_linking_min_pass_rate: float = Field(default=0.99, ge=0, le=1, description="Person linking gate.")
    bridge_integrity_min_pass_rate: float = Field(default=0.99, ge=0, le=1, description="Bridge integrity gate.")

    def threshold(self, gate: str) -> float:
        return getattr(self, f"{gate}_min_pass_rate")


def gate_check_result(
    result: GateResult, threshold: float, check_key: dg.AssetCheckKey | None = None
) -> dg.AssetCheckResult:
    """A gate's result as a check result: fails with severity ERROR when the pass rate is below `threshold`.

    `check_key` names the check among the several of a multi-asset check (a single check needs none)."""
    passed = result.pass_rate >= threshold
    return dg.AssetCheckResult(
        passed=passed,
        asset_key=check_key.asset_key if check_key else None,
        check_name=check_key.name if check_key else None,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{result.note}; pass rate {result.pass_rate:.4f} {'>=' if passed else '<'} threshold {threshold}",
        metadata={
            "pass_rate": dg.MetadataValue.float(result.pass_rate),
            "threshold": dg.MetadataValue.float(threshold),
            "rows_checked": dg.MetadataValue.int(result.rows_checked),
            "failing_count": dg.MetadataValue.int(result.failing_count),
            "failing_by_condition": dg.MetadataValue.json(result.failing_by_condition),
            "failing_keys": dg.MetadataValue.json(result.failing_keys),
            "note": dg.MetadataValue.text(result.note),
        },
    )


# Partitioned checks are a preview feature in Dagster 1.13, and the one way a check on a daily partitioned asset
# reads the partition its asset just wrote (without partitions_def, its input loads every partition).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)

    @dg.asset_check(asset="fact_ratings", blocking=True, partitions_def=daily_partitions)
    def rating_range(fact_ratings: pl.LazyFrame, quality_settings: QualitySettings) -> dg.AssetCheckResult:
        """Share of ratings with average and Bayesian weighted rating within [1, 10] and votes >= 0."""
        return gate_check_result(gates.rating_range_gate(fact_ratings), quality_settings.threshold(gates.RATING_RANGE))

    # It reads both fact_cast_crew and dim_person (built side by side from the same credits), so it waits for both
    # wherever it sits, and a failure stops the same assets (the KPIs and the warehouse read both tables).
    @dg.asset_check(
        asset="dim_person",
        blocking=True,
        partitions_def=daily_partitions,
        additional_ins={"fact_cast_crew": dg.AssetIn("fact_cast_crew"), "dim_title": dg.AssetIn("dim_title")},
    )
    def person_linking(
        dim_person: pl.LazyFrame,
        fact_cast_crew: pl.LazyFrame,
        dim_title: pl.LazyFrame,
        quality_settings: QualitySettings,
    ) -> dg.AssetCheckResult:
        """Share of the credits of fact_cast_crew whose person is in dim_person and whose title is a current title
        of dim_title."""
        return gate_check_result(
            gates.person_linking_gate(fact_cast_crew, dim_person, dim_title),
            quality_settings.threshold(gates.PERSON_LINKING),
        )

    # fact_cast_crew and dim_person wait for it (blocking, on dim_title): it is on the run's critical path.
    @dg.asset_check(asset="dim_title", blocking=True, partitions_def=daily_partitions, op_tags=CRITICAL_PATH_OP_TAGS)
    def title_completeness(dim_title: pl.LazyFrame, quality_settings: QualitySettings) -> dg.AssetCheckResult:
        """Share of current titles with tconst, primary title, title type and start year all present."""
        return gate_check_result(
            gates.title_completeness_gate(dim_title), quality_settings.threshold(gates.TITLE_COMPLETENESS)
        )

    # The two gates on title_genre_bridge share one step: a step costs ~0.4 CPU-s of process and event-log
    # overhead, more than these gates take. Both are on the bridge, so a failure stops what waits for the bridge
    # (the KPIs and the warehouse), as a check of its own would.
    bridge_check_specs = [
        dg.AssetCheckSpec(
            gates.GENRE_COVERAGE,
            asset="title_genre_bridge",
            additional_deps=["dim_title"],
            description="Share of current scoped titles with at least one genre in the bridge.",
            blocking=True,
            partitions_def=daily_partitions,
        ),
        dg.AssetCheckSpec(
            gates.BRIDGE_INTEGRITY,
            asset="title_genre_bridge",
            additional_deps=["dim_title", "dim_genre"],
            description="Share of bridge rows whose keys resolve, whose (title, genre) pair is unique and whose "
            "title's weighting factors sum to 1.",
            blocking=True,
            partitions_def=daily_partitions,
        ),
    ]

    @dg.multi_asset_check(
        specs=bridge_check_specs,
        ins={
            "dim_title": dg.AssetIn("dim_title"),
            "dim_genre": dg.AssetIn("dim_genre"),
            "title_genre_bridge": dg.AssetIn("title_genre_bridge"),
        },
    )
    def bridge_gates(
        dim_title: pl.LazyFrame,
        dim_genre: pl.LazyFrame,
        title_genre_bridge: pl.LazyFrame,
        quality_settings: QualitySettings,
    ) -> Iterator[dg.AssetCheckResult]:
        """Genre coverage and bridge integrity, the gates on title_genre_bridge, evaluated in one step."""
        results = {
            gates.GENRE_COVERAGE: gates.genre_coverage_gate(dim_title, title_genre_bridge),
            gates.BRIDGE_INTEGRITY: gates.bridge_integrity_gate(title_genre_bridge, dim_title, dim_genre),
        }
        for spec in bridge_check_specs:
            yield gate_check_result(results[spec.name], quality_settings.threshold(spec.name), spec.key)


quality_checks = [rating_range, title_completeness, bridge_gates, person_linking]

QUALITY_CHECK_KEYS: dict[str, dg.AssetCheckKey] = {
    check_key.name: check_key for check_def in quality_checks for check_key in check_def.check_keys
}
"""The check of each gate, by gate name (the check names are the gate names)."""
