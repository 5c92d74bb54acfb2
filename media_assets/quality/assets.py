"""The audit of write-audit-publish: `quality_audit`, one asset computing every gate of a day over its staged star
schema and clean layer, writing the day's quality report and carrying the gates as blocking checks on itself.

All seven gates are evaluated on every run, whatever each finds (see `media_assets.quality.gates`); a failed gate
fails its check, and, the checks being blocking, nothing downstream of the audit (the publish step) runs. A gate
without data passes its check with status `no_data`: it is not a pass (the report says `passed: null` and the
quality score is null), but an empty input is not a reason to block (volume_drift catches an emptied file).
"""

import contextlib
import warnings
from pathlib import Path

import dagster as dg
import polars as pl

from media_assets import owners
from media_assets.clean.assets import clean_asset_key
from media_assets.model.transforms import MODEL_TABLES
from media_assets.partitions import daily_partitions, partition_date
from media_assets.quality import gates
from media_assets.quality.audit import DayAudit, PreviousDay, StagedModel, audit_day
from media_assets.quality.gates import CleanFile, GateResult
from media_assets.quality.report import build_report, read_report, write_report
from media_assets.quality.settings import QualitySettings
from media_assets.resources import DataLake, ModelSettings
from media_assets.sources.archive import read_archived, readable_copy
from media_assets.sources.imdb_files import (
    IMDB_FILES,
    NAME_BASICS,
    TITLE_BASICS,
    TITLE_PRINCIPALS,
    TITLE_RATINGS,
    ImdbFile,
)

QUALITY_GROUP = "quality"
QUALITY_AUDIT = "quality_audit"
READ_MODEL_TABLES = ("dim_title", "dim_genre", "title_genre_bridge")
"""The staged tables the gates read; the audit waits for the other staged tables too (it judges the day's whole
star schema before it is published) and records where they are."""

GATE_DESCRIPTIONS = {
    gates.RATING_RANGE: "title.ratings lines with a rating in 1..10 and votes >= 0 (the clean step's rejects fail).",
    gates.GENRE_COVERAGE: "Scoped titles with at least one genre of IMDb's vocabulary.",
    gates.TITLE_COMPLETENESS: "Scoped titles (quarantined lines included) with a primary title, a start year when "
    "rated, and a line that parses.",
    gates.PERSON_LINKING: "title.principals lines of scoped titles (quarantined included) whose person is in "
    "name.basics and title in title.basics.",
    gates.BRIDGE_INTEGRITY: "Genre tokens in IMDb's vocabulary, one bridge row each, keys resolving, weights summing "
    "to 1.",
    gates.RECONCILIATION: "Every raw line a clean row or a quarantined line; structural quarantines under the "
    "maximum share in every file.",
    gates.VOLUME_DRIFT: "Each raw file's line count within a band of the previous published day's.",
}

with warnings.catch_warnings():
    # Partitioned checks are a preview feature in Dagster 1.13: the evaluations are recorded per day.
    warnings.simplefilter("ignore", dg.PreviewWarning)
    QUALITY_CHECK_SPECS = [
        dg.AssetCheckSpec(
            gate,
            asset=QUALITY_AUDIT,
            blocking=True,
            description=GATE_DESCRIPTIONS[gate],
            partitions_def=daily_partitions,
        )
        for gate in gates.GATE_NAMES
    ]

QUALITY_CHECK_KEYS: dict[str, dg.AssetCheckKey] = {spec.name: spec.key for spec in QUALITY_CHECK_SPECS}
"""The check of each gate, by gate name (the check names are the gate names)."""

CLEAN_INPUTS = [clean_asset_key(imdb_file).path[-1] for imdb_file in IMDB_FILES]


def generation_of(run: dg.DagsterRun) -> str:
    """The staging generation a run writes and audits: its own id, or the id of the run it re-executes (which
    finishes the same attempt). Attempt reports are named by it, and the publish step publishes it."""
    return run.root_run_id or run.run_id


def clean_file(data_lake: DataLake, partition_key: str, imdb_file: ImdbFile, table: pl.LazyFrame) -> CleanFile:
    """A clean table with the side tables its clean step wrote beside it."""
    side_tables = {}
    for side in ("quarantined", "nulled"):
        path = data_lake.quarantine_dir(partition_key) / f"{imdb_file.dataset}.{side}.parquet"
        if not path.is_file():
            raise FileNotFoundError(
                f"quality_audit {partition_key}: {path} is missing; materialize "
                f"{clean_asset_key(imdb_file).to_user_string()} for {partition_key} again (it writes the table and "
                "its side tables together)"
            )
        side_tables[side] = pl.scan_parquet(path)
    return CleanFile(imdb_file.dataset, table, side_tables["quarantined"], side_tables["nulled"])


def previous_day(data_lake: DataLake, partition_key: str) -> PreviousDay | None:
    """The previous published day's report, if any (the relative rules and volume drift compare with it)."""
    published = data_lake.published.latest_before(partition_date(partition_key))
    if published is None or published.quality_report is None:
        return None
    return PreviousDay.from_report(read_report(published.quality_report))


def audit_summary(partition_key: str, audit: DayAudit, report_path: Path) -> str:
    """The day's gates in a few lines, for the run's output (the one step that runs whether they pass or not)."""
    score = "null (a gate had no data)" if audit.quality_score is None else f"{audit.quality_score:.4f}"
    lines = [
        f"quality {partition_key}: score {score}; report {report_path}",
        "  raw lines: " + ", ".join(f"{dataset} {count:,}" for dataset, count in audit.raw_lines.items()),
    ]
    for gate, result in audit.gates.items():
        rate = "no data" if result.pass_rate is None else f"{result.pass_rate:.4f} (threshold {result.threshold})"
        lines.append(f"  {gate:<20} {result.status:<8} {rate}")
    return "\n".join(lines)


def gates_table(audit: DayAudit) -> dg.MetadataValue:
    """The day's gates as a table for the UI."""
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "gate": gate,
                    "status": result.status,
                    "pass_rate": result.pass_rate,
                    "threshold": result.threshold,
                    "rows_checked": result.rows_checked,
                    "failing_count": result.failing_count,
                }
            )
            for gate, result in audit.gates.items()
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("gate", "string"),
                dg.TableColumn("status", "string"),
                dg.TableColumn("pass_rate", "float"),
                dg.TableColumn("threshold", "float"),
                dg.TableColumn("rows_checked", "int"),
                dg.TableColumn("failing_count", "int"),
            ]
        ),
    )


def check_result(result: GateResult, report_path: str, staging: str) -> dg.AssetCheckResult:
    """A gate as a check result: failed with severity ERROR (blocking) when the gate failed; a `no_data` gate
    passes its check and says so."""
    return dg.AssetCheckResult(
        check_name=result.gate,
        passed=result.status != gates.FAILED,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{result.status}: {result.note}",
        metadata={
            "status": dg.MetadataValue.text(result.status),
            "pass_rate": dg.MetadataValue.null()
            if result.pass_rate is None
            else dg.MetadataValue.float(result.pass_rate),
            "threshold": dg.MetadataValue.float(result.threshold),
            "rows_checked": dg.MetadataValue.int(result.rows_checked),
            "failing_count": dg.MetadataValue.int(result.failing_count),
            "failing_by_condition": dg.MetadataValue.json(result.failing_by_condition),
            "failing_examples": dg.MetadataValue.json([example.to_json() for example in result.failing_examples]),
            "report_path": dg.MetadataValue.path(report_path),
            "staging": dg.MetadataValue.path(staging),
        },
    )


@dg.asset(
    name=QUALITY_AUDIT,
    partitions_def=daily_partitions,
    group_name=QUALITY_GROUP,
    kinds={"polars", "json"},
    owners=owners.DATA_ENGINEERING,
    tags={"layer": "quality"},
    ins={name: dg.AssetIn(name) for name in [*CLEAN_INPUTS, *READ_MODEL_TABLES]},
    deps=[table for table in MODEL_TABLES if table not in READ_MODEL_TABLES],
    check_specs=QUALITY_CHECK_SPECS,
)
def quality_audit(
    context: dg.AssetExecutionContext,
    data_lake: DataLake,
    quality_settings: QualitySettings,
    model_settings: ModelSettings,
    clean_title_basics: pl.LazyFrame,
    clean_title_ratings: pl.LazyFrame,
    clean_name_basics: pl.LazyFrame,
    clean_title_principals: pl.LazyFrame,
    dim_title: pl.LazyFrame,
    dim_genre: pl.LazyFrame,
    title_genre_bridge: pl.LazyFrame,
) -> dg.MaterializeResult:
    """The day's seven quality gates over its staged star schema and clean layer, written to
    `<data dir>/quality/<day>/attempts/<generation>.json` and `quality.json` (the latest attempt), and carried as
    blocking checks: the day is published only when every gate passed (or an operator waived them)."""
    partition_key = context.partition_key
    generation = generation_of(context.run)
    clean_tables = {
        TITLE_BASICS: clean_title_basics,
        TITLE_RATINGS: clean_title_ratings,
        NAME_BASICS: clean_name_basics,
        TITLE_PRINCIPALS: clean_title_principals,
    }
    raw_paths = {imdb_file.dataset: data_lake.raw_dir(partition_key) / imdb_file.file_name for imdb_file in IMDB_FILES}
    # A day retention compacted has its raw files' content reconstructed for the examples' raw lines.
    with contextlib.ExitStack() as copies:
        audit = audit_day(
            {
                imdb_file.dataset: clean_file(data_lake, partition_key, imdb_file, table)
                for imdb_file, table in clean_tables.items()
            },
            {dataset: copies.enter_context(readable_copy(path)) for dataset, path in raw_paths.items()},
            {dataset: read_archived(path).data_lines for dataset, path in raw_paths.items()},
            StagedModel(dim_title, dim_genre, title_genre_bridge),
            model_settings.title_types,
            quality_settings,
            previous_day(data_lake, partition_key),
        )
    staged_tables = {table: data_lake.table_path(table, partition_key) for table in MODEL_TABLES}
    published = data_lake.published.get(partition_date(partition_key))
    report_path = write_report(
        data_lake, partition_key, build_report(data_lake, partition_key, generation, audit, published, staged_tables)
    )
    staging = str(data_lake.tables_dir)
    failed = [gate for gate, result in audit.gates.items() if result.status == gates.FAILED]
    context.log.info(audit_summary(partition_key, audit, report_path))
    if failed:
        context.log.error(
            f"quality_audit {partition_key}: failed {', '.join(failed)}; this attempt is not published (what was "
            f"published of the day stays), its staged tables are kept for inspection under "
            f"{staging}/<table>/{partition_key}.parquet; report {report_path}"
        )
    return dg.MaterializeResult(
        metadata={
            "gates": gates_table(audit),
            "quality_score": dg.MetadataValue.null()
            if audit.quality_score is None
            else dg.MetadataValue.float(audit.quality_score),
            "failed_gates": dg.MetadataValue.json(failed),
            "report_path": dg.MetadataValue.path(str(report_path)),
            "staging": dg.MetadataValue.path(staging),
            "staged_tables": dg.MetadataValue.json({table: str(path) for table, path in staged_tables.items()}),
            "published_run": dg.MetadataValue.text(published.generation if published else "none"),
            "raw_lines": dg.MetadataValue.json(audit.raw_lines),
        },
        check_results=[check_result(result, str(report_path), staging) for result in audit.gates.values()],
    )


quality_assets = [quality_audit]
