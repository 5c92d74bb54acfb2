"""The five quality gates: each passes on the hand-made model and fails on a deliberately corrupted copy, as a
plain function and as a blocking asset check that keeps the KPI asset from running."""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import polars as pl
import pytest

from media_assets.kpis.assets import media_kpis
from media_assets.quality import gates
from media_assets.quality.checks import QUALITY_CHECK_KEYS, QualitySettings, quality_checks
from media_assets.resources import DataLake
from media_assets_tests.star_schema_support import (
    DAY_1,
    DAY_2,
    GENRES,
    hand_made_model,
    materialize_day,
    model_assets,
    previous_day_model,
    resources_for,
)

Model = dict[str, pl.DataFrame]
DRAMA = GENRES.index("Drama") + 1


def run_gate(gate: str, model: Model) -> gates.GateResult:
    lazy = {name: frame.lazy() for name, frame in model.items()}
    if gate == gates.RATING_RANGE:
        return gates.rating_range_gate(lazy["fact_ratings"])
    if gate == gates.GENRE_COVERAGE:
        return gates.genre_coverage_gate(lazy["dim_title"], lazy["title_genre_bridge"])
    if gate == gates.TITLE_COMPLETENESS:
        return gates.title_completeness_gate(lazy["dim_title"])
    if gate == gates.PERSON_LINKING:
        return gates.person_linking_gate(lazy["fact_cast_crew"], lazy["dim_person"], lazy["dim_title"])
    return gates.bridge_integrity_gate(lazy["title_genre_bridge"], lazy["dim_title"], lazy["dim_genre"])


def bad_ratings(model: Model) -> Model:
    ratings = model["fact_ratings"].with_columns(
        average_rating=pl.when(pl.col("title_id") == 4).then(0.0).otherwise(pl.col("average_rating")),
        num_votes=pl.when(pl.col("title_id") == 5).then(-3).otherwise(pl.col("num_votes")),
    )
    return model | {"fact_ratings": ratings}


def titles_without_genres(model: Model) -> Model:
    return model | {"title_genre_bridge": model["title_genre_bridge"].filter(~pl.col("title_id").is_in([1, 2]))}


def incomplete_titles(model: Model) -> Model:
    titles = model["dim_title"].with_columns(
        start_year=pl.when(pl.col("title_id") == 9).then(None).otherwise(pl.col("start_year")),
        primary_title=pl.when(pl.col("title_id") == 4).then(pl.lit("  ")).otherwise(pl.col("primary_title")),
    )
    return model | {"dim_title": titles}


def unlinked_credits(model: Model) -> Model:
    credits = model["fact_cast_crew"]
    to_closed_title = credits.head(1).with_columns(
        credit_id=pl.lit(99, credits["credit_id"].dtype), title_id=pl.lit(13, pl.Int64)
    )
    return model | {
        "dim_person": model["dim_person"].filter(pl.col("person_id") != 8),
        "fact_cast_crew": pl.concat([credits, to_closed_title]),
    }


def broken_bridge(model: Model) -> Model:
    bridge = model["title_genre_bridge"]
    extra = pl.DataFrame(
        {"title_id": [1, 12], "genre_id": [DRAMA, 99], "weighting_factor": [1.0, 0.5]}, schema=bridge.schema
    )
    return model | {"title_genre_bridge": pl.concat([bridge, extra])}


@dataclass(frozen=True)
class Corruption:
    gate: str
    corrupt: Callable[[Model], Model]
    rows_checked: int
    failing_keys: list[dict]
    """Hand-checked: every failing row, smallest key first."""


CORRUPTIONS = [
    Corruption(
        gates.RATING_RANGE,
        bad_ratings,
        11,
        [
            {"title_id": 4, "failed": ["average_rating_in_1_10"]},
            {"title_id": 5, "failed": ["num_votes_not_negative"]},
        ],
    ),
    # Title 11 never had a genre.
    Corruption(
        gates.GENRE_COVERAGE,
        titles_without_genres,
        12,
        [
            {"title_id": 1, "tconst": "tt0000001", "failed": ["has_genre"]},
            {"title_id": 2, "tconst": "tt0000002", "failed": ["has_genre"]},
            {"title_id": 11, "tconst": "tt0000011", "failed": ["has_genre"]},
        ],
    ),
    Corruption(
        gates.TITLE_COMPLETENESS,
        incomplete_titles,
        12,
        [
            {"title_id": 4, "tconst": "tt0000004", "failed": ["primary_title_present"]},
            {"title_id": 9, "tconst": "tt0000009", "failed": ["start_year_present"]},
        ],
    ),
    # Person 8's two credits, and a credit on title 13, which only has a closed history row.
    Corruption(
        gates.PERSON_LINKING,
        unlinked_credits,
        30,
        [
            {"credit_id": 28, "title_id": 2, "person_id": 8, "failed": ["person_found"]},
            {"credit_id": 29, "title_id": 3, "person_id": 8, "failed": ["person_found"]},
            {"credit_id": 99, "title_id": 13, "person_id": 1, "failed": ["title_found"]},
        ],
    ),
    # (1, Drama) twice, so title 1 weighs 2; title 12 gains an unknown genre, so it weighs 1.5.
    Corruption(
        gates.BRIDGE_INTEGRITY,
        broken_bridge,
        24,
        [
            {"title_id": 1, "genre_id": DRAMA, "failed": ["unique_pair", "weights_sum_to_1"]},
            {"title_id": 1, "genre_id": DRAMA, "failed": ["unique_pair", "weights_sum_to_1"]},
            {"title_id": 12, "genre_id": GENRES.index("Crime") + 1, "failed": ["weights_sum_to_1"]},
            {"title_id": 12, "genre_id": DRAMA, "failed": ["weights_sum_to_1"]},
            {"title_id": 12, "genre_id": 99, "failed": ["genre_found", "weights_sum_to_1"]},
        ],
    ),
]
CLEAN_PASS_RATES = {gate: 1.0 for gate in gates.GATE_NAMES} | {gates.GENRE_COVERAGE: 11 / 12}


@pytest.mark.parametrize("gate", gates.GATE_NAMES)
def test_gate_passes_on_clean_model(gate: str) -> None:
    result = run_gate(gate, hand_made_model())
    assert result.pass_rate == pytest.approx(CLEAN_PASS_RATES[gate])
    assert result.pass_rate >= QualitySettings().threshold(gate)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=lambda corruption: corruption.gate)
def test_gate_fails_on_corrupted_model(corruption: Corruption) -> None:
    result = run_gate(corruption.gate, corruption.corrupt(hand_made_model()))
    assert result.rows_checked == corruption.rows_checked
    assert result.failing_count == len(corruption.failing_keys)
    assert result.failing_keys == corruption.failing_keys
    failing = len(corruption.failing_keys)
    assert result.pass_rate == pytest.approx((corruption.rows_checked - failing) / corruption.rows_checked)
    assert result.pass_rate < QualitySettings().threshold(corruption.gate)


def test_failing_keys_are_capped() -> None:
    many = pl.LazyFrame(
        {
            "title_id": range(50),
            "average_rating": [11.0] * 50,
            "num_votes": [1] * 50,
            "bayesian_weighted_rating": [5.0] * 50,
        }
    )
    result = gates.rating_range_gate(many)
    assert result.failing_count == 50
    assert [key["title_id"] for key in result.failing_keys] == list(range(gates.MAX_FAILING_KEYS))


def test_empty_table_passes_and_says_so() -> None:
    empty = hand_made_model()["fact_ratings"].clear().lazy()
    result = gates.rating_range_gate(empty)
    assert (result.rows_checked, result.pass_rate) == (0, 1.0)
    assert "no ratings to judge" in result.note


def test_quality_score_weighs_each_gate_20_percent() -> None:
    rates = {gate: 1.0 for gate in gates.GATE_NAMES} | {gates.GENRE_COVERAGE: 0.5}
    assert gates.quality_score(rates) == pytest.approx(0.2 * 4 + 0.2 * 0.5)
    assert gates.quality_score(rates | {gates.BRIDGE_INTEGRITY: None}) is None


def evaluations_by_gate(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=lambda corruption: corruption.gate)
def test_blocking_check_failure_keeps_kpis_from_running(corruption: Corruption, tmp_path) -> None:
    result = materialize_day(
        DAY_2,
        lambda _: corruption.corrupt(hand_made_model()),
        str(tmp_path),
        dg.DagsterInstance.ephemeral(),
        extra=quality_checks,
    )
    assert not result.success
    evaluations = evaluations_by_gate(result)
    failed = evaluations[corruption.gate]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR and failed.blocking
    assert failed.partition == DAY_2
    assert failed.metadata["failing_count"].value == len(corruption.failing_keys)
    assert failed.metadata["failing_keys"].value == corruption.failing_keys
    assert failed.metadata["pass_rate"].value == pytest.approx(
        (corruption.rows_checked - len(corruption.failing_keys)) / corruption.rows_checked
    )
    # The other gates judge untouched tables and pass.
    assert {gate for gate, evaluation in evaluations.items() if not evaluation.passed} == {corruption.gate}
    assert not result.asset_materializations_for_node("media_kpis")
    assert not (DataLake(root=str(tmp_path)).kpi_dir(DAY_2) / "kpis.json").exists()


def test_checks_judge_the_partition_of_their_run(tmp_path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    root = str(tmp_path)

    def clean_day_1_bad_day_2(partition_key: str) -> Model:
        return bad_ratings(hand_made_model()) if partition_key == DAY_2 else previous_day_model()

    assert materialize_day(DAY_1, clean_day_1_bad_day_2, root, instance, extra=quality_checks).success
    day_2 = materialize_day(DAY_2, clean_day_1_bad_day_2, root, instance, extra=quality_checks)
    assert not evaluations_by_gate(day_2)[gates.RATING_RANGE].passed

    # The checks alone, for day 1, read day 1's files (written before day 2's). Dagster 1.13 refuses a
    # partition_key for a selection without assets; the partition tag (what the partition key sets) works.
    checks_only = dg.materialize(
        [*model_assets(clean_day_1_bad_day_2), *quality_checks],
        selection=dg.AssetSelection.checks(*quality_checks),
        tags={"dagster/partition": DAY_1},
        resources=resources_for(root),
        instance=instance,
    )
    assert checks_only.success
    assert not checks_only.get_asset_materialization_events()
    evaluations = evaluations_by_gate(checks_only)
    assert set(evaluations) == set(QUALITY_CHECK_KEYS)
    assert all(evaluation.passed and evaluation.partition == DAY_1 for evaluation in evaluations.values())
    assert evaluations[gates.RATING_RANGE].metadata["rows_checked"].value == 10  # day 1 has 10 rated titles, day 2 11


def test_thresholds_are_configurable(tmp_path) -> None:
    result = dg.materialize(
        [*model_assets(lambda _: hand_made_model()), *quality_checks],
        partition_key=DAY_2,
        resources=resources_for(str(tmp_path))
        | {"quality_settings": QualitySettings(genre_coverage_min_pass_rate=0.95)},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    genre_coverage = evaluations_by_gate(result)[gates.GENRE_COVERAGE]
    assert not genre_coverage.passed
    assert genre_coverage.metadata["threshold"].value == 0.95


@pytest.mark.parametrize(
    ("corruption", "stopped"),
    [
        (
            corruption,
            {"fact_cast_crew", "dim_person", "media_kpis"} if gate == gates.TITLE_COMPLETENESS else {"media_kpis"},
        )
        for corruption in CORRUPTIONS
        for gate in [corruption.gate]
        if gate in {gates.TITLE_COMPLETENESS, gates.GENRE_COVERAGE, gates.BRIDGE_INTEGRITY}
    ],
    ids=lambda value: value.gate if isinstance(value, Corruption) else "",
)
def test_a_failing_title_table_gate_stops_what_waits_for_its_table(
    corruption: Corruption, stopped: set[str], tmp_path
) -> None:
    """title_completeness stops whatever waits for dim_title (here fact_cast_crew and dim_person, as in the real
    graph); the two bridge gates share one step and stop only what waits for the bridge, the KPIs."""
    result = dg.materialize(
        [
            *model_assets(
                lambda _: corruption.corrupt(hand_made_model()),
                deps={"fact_cast_crew": ["dim_title"], "dim_person": ["dim_title"]},
            ),
            *quality_checks,
            media_kpis,
        ],
        partition_key=DAY_2,
        resources=resources_for(str(tmp_path)),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    evaluations = evaluations_by_gate(result)
    assert {gate for gate, evaluation in evaluations.items() if not evaluation.passed} == {corruption.gate}
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert "dim_title" in materialized
    assert not materialized & stopped
    if corruption.gate != gates.TITLE_COMPLETENESS:
        # Both bridge gates are evaluated even when one of them fails, and the credits are built.
        assert {gates.GENRE_COVERAGE, gates.BRIDGE_INTEGRITY} <= set(evaluations)
        assert {"title_genre_bridge", "fact_cast_crew", "dim_person"} <= materialized
