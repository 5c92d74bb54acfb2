"""A day's audit: the seven gates over the clean layer's outputs and the staged star schema (no Dagster here).

The five scored gates are measured first (on Parquet); then one pass over each raw file counts its lines (for
`reconciliation` and `volume_drift`) and fetches the lines of the failing examples that came from clean rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from media_assets.quality import gates
from media_assets.quality.gates import CleanFile, Example, GateResult, Measure
from media_assets.quality.raw_lines import fetch_lines_of_files
from media_assets.quality.settings import QualitySettings
from media_assets.sources.imdb_files import NAME_BASICS, TITLE_BASICS, TITLE_PRINCIPALS, TITLE_RATINGS

PARALLEL_GATES = 2


@dataclass(frozen=True)
class StagedModel:
    """The staged star-schema tables the gates read."""

    dim_title: pl.LazyFrame
    dim_genre: pl.LazyFrame
    title_genre_bridge: pl.LazyFrame


@dataclass(frozen=True)
class PreviousDay:
    """What the previous published day's report says, for the relative rules and volume drift."""

    snapshot_date: str
    pass_rates: dict[str, float | None]
    raw_lines: dict[str, int]

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> PreviousDay:
        return cls(
            snapshot_date=report["snapshot_date"],
            pass_rates={gate: figures["pass_rate"] for gate, figures in report["gates"].items()},
            raw_lines=report["raw_lines"],
        )


@dataclass(frozen=True)
class DayAudit:
    gates: dict[str, GateResult]
    raw_lines: dict[str, int]
    """Data lines of each raw file, by dataset."""

    @property
    def quality_score(self) -> float | None:
        return gates.quality_score({gate: result.pass_rate for gate, result in self.gates.items()})


def audit_day(
    clean_files: Mapping[str, CleanFile],
    raw_paths: Mapping[str, Path],
    raw_lines: Mapping[str, int],
    model: StagedModel,
    title_types: Sequence[str],
    settings: QualitySettings,
    previous: PreviousDay | None,
) -> DayAudit:
    """Every gate of the day, each computed whatever the others found. `raw_lines`: each raw file's data lines, as
    the raw step's complete read counted them (a reader independent of the clean step's)."""
    titles, ratings = clean_files[TITLE_BASICS.dataset], clean_files[TITLE_RATINGS.dataset]
    names, principals = clean_files[NAME_BASICS.dataset], clean_files[TITLE_PRINCIPALS.dataset]
    title_basics = gates.read_title_basics(titles, title_types)
    scored_gates: dict[str, Callable[[], Measure]] = {  # the longest first
        gates.PERSON_LINKING: lambda: gates.person_linking(principals, title_basics, names),
        gates.BRIDGE_INTEGRITY: lambda: gates.bridge_integrity(
            title_basics, model.dim_title, model.dim_genre, model.title_genre_bridge
        ),
        gates.RATING_RANGE: lambda: gates.rating_range(ratings),
        gates.GENRE_COVERAGE: lambda: gates.genre_coverage(title_basics),
        gates.TITLE_COMPLETENESS: lambda: gates.title_completeness(title_basics, ratings),
    }
    # Two gates at a time: polars releases the GIL, and one gate's queries leave a core idle part of the time.
    with ThreadPoolExecutor(max_workers=PARALLEL_GATES) as pool:
        futures = {gate: pool.submit(measure) for gate, measure in scored_gates.items()}
        measures: dict[str, Measure] = {gate: future.result() for gate, future in futures.items()}
    wanted: dict[str, set[int]] = {dataset: set() for dataset in raw_paths}
    for measure in measures.values():
        for example in measure.examples:
            if example.raw_line is None and example.line_number is not None:
                wanted[example.dataset].add(example.line_number)
    fetched = fetch_lines_of_files(raw_paths, wanted)
    measures = {
        gate: dataclasses.replace(measure, examples=[with_raw_line(e, fetched[e.dataset]) for e in measure.examples])
        for gate, measure in measures.items()
    }
    measures[gates.RECONCILIATION] = gates.reconciliation(
        [clean_files[dataset] for dataset in raw_paths], raw_lines, settings.reconciliation_max_quarantine_share
    )
    measures[gates.VOLUME_DRIFT] = gates.volume_drift(
        raw_lines,
        previous.raw_lines if previous else None,
        previous.snapshot_date if previous else None,
        settings.volume_drift_max_change,
    )
    results = {
        gate: gates.judge(
            gate, measures[gate], settings.threshold(gate, previous.pass_rates.get(gate) if previous else None)
        )
        for gate in gates.GATE_NAMES
    }
    return DayAudit(gates=results, raw_lines=raw_lines)


def with_raw_line(example: Example, lines: Mapping[int, str]) -> Example:
    """The example with its raw line from the file. Its line number came from the clean table's order: when the
    line found there does not start with the example's id, the number is dropped rather than shown wrong."""
    if example.raw_line is not None or example.line_number is None:
        return example
    line = lines.get(example.line_number)
    identifier = example.key.split(" ")[0].split("/")[0]
    if line is None or line.split("\t")[0] != identifier:
        return dataclasses.replace(example, line_number=None)
    return dataclasses.replace(example, raw_line=line)
