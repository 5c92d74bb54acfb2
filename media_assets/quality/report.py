"""The quality report of a day, one per attempt, passed or failed.

    <data dir>/quality/<day>/attempts/<generation>.json   the report of one attempt (generation = the run group that
                                                          staged the tables)
    <data dir>/quality/<day>/quality.json                 the latest attempt's report

A report:

    {"snapshot_date": "2026-06-15", "generation": "<run id>", "quality_score": 0.97 | null,
     "published": false,           # is this attempt the day's published one
     "published_run": null,        # the generation published for the day (this one, an earlier one, or none)
     "published_report": null,     # that generation's report, relative to the data directory
     "waiver": null,               # {"reason": ..., "failed_gates": {...}} when published despite failing gates
     "gates": {"<gate>": {"status": "passed" | "failed" | "no_data", "passed": true | false | null, "pass_rate",
               "threshold", "rows_checked", "failing_count", "failing_by_condition", "failing_examples": [up to 20:
               {"dataset", "key", "line_number", "failed", "raw_value", "raw_line"}], "note"}},
     "raw_lines": {"<dataset>": <data lines>},   # what the next day's volume_drift compares with
     "staged_tables": {"<table>": "<path relative to the data directory>"}}

The audit writes its report as the published state stands (an attempt is not published yet when it is audited);
the publish step calls `record_publication` once the state switched, an unpublish `record_unpublication`.
"""

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from media_assets.atomic_files import write_json_atomically
from media_assets.publish.state import PublishedDay
from media_assets.quality import gates
from media_assets.quality.audit import DayAudit
from media_assets.resources import DataLake

REPORT_FILE = "quality.json"
ATTEMPTS_DIR = "attempts"


def attempt_report_path(data_lake: DataLake, day: dt.date | str, generation: str) -> Path:
    return data_lake.quality_dir(str(day)) / ATTEMPTS_DIR / f"{generation}.json"


def latest_report_path(data_lake: DataLake, day: dt.date | str) -> Path:
    return data_lake.quality_dir(str(day)) / REPORT_FILE


def _relative(data_lake: DataLake, path: Path) -> str:
    return str(path.relative_to(data_lake.root_path))


def build_report(
    data_lake: DataLake,
    day: str,
    generation: str,
    audit: DayAudit,
    published: PublishedDay | None,
    staged_tables: Mapping[str, Path],
) -> dict[str, Any]:
    """The report of an attempt just audited; `published` is the day's published state before it."""
    is_published = published is not None and published.generation == generation
    return {
        "snapshot_date": day,
        "generation": generation,
        "quality_score": audit.quality_score,
        "published": is_published,
        "published_run": published.generation if published else None,
        "published_report": _relative(data_lake, published.quality_report)
        if published and published.quality_report
        else None,
        "waiver": published.waiver if is_published else None,
        "gates": {gate: result.to_json() for gate, result in audit.gates.items()},
        "raw_lines": audit.raw_lines,
        "staged_tables": {table: _relative(data_lake, path) for table, path in staged_tables.items()},
    }


def write_report(data_lake: DataLake, day: str, report: Mapping[str, Any]) -> Path:
    """Write an attempt's report and make it the day's latest; returns the attempt's path."""
    path = attempt_report_path(data_lake, day, report["generation"])
    write_json_atomically(path, report)
    write_json_atomically(latest_report_path(data_lake, day), report)
    return path


def read_report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def record_publication(
    data_lake: DataLake, day: dt.date | str, generation: str, waiver: Mapping[str, Any] | None
) -> Path:
    """Record that `generation`'s attempt is now the day's published one (with the operator's waiver, if any), in
    every attempt's report of the day and in `quality.json`. Returns the attempt's report path.

    Called by the publish step after the published state switched."""
    path = attempt_report_path(data_lake, day, generation)
    if not path.is_file():
        raise FileNotFoundError(
            f"no quality report of attempt {generation} for {day} at {path}: materialize quality_audit for {day} "
            "in that run (or re-execute it) before publishing"
        )
    _record(data_lake, day, path, {"waiver": dict(waiver) if waiver else None})
    return path


def record_unpublication(data_lake: DataLake, day: dt.date | str) -> None:
    """Record that no attempt of the day is published any more (an operator withdrew it), in every attempt's
    report and in `quality.json`."""
    _record(data_lake, day, None, {})


def _record(data_lake: DataLake, day: dt.date | str, published: Path | None, published_changes: dict) -> None:
    """Point every attempt's report of the day at the published attempt's (`published`: its report, or None), apply
    `published_changes` to that one, and copy the latest attempt's report to `quality.json` again."""
    publication = {
        "published_run": published.stem if published else None,
        "published_report": _relative(data_lake, published) if published else None,
    }
    for attempt in sorted((data_lake.quality_dir(str(day)) / ATTEMPTS_DIR).glob("*.json")):
        report = read_report(attempt) | publication | {"published": attempt == published}
        write_json_atomically(attempt, report | (published_changes if attempt == published else {}))
    latest_path = latest_report_path(data_lake, str(day))
    if latest_path.is_file():
        latest = read_report(latest_path)
        write_json_atomically(latest_path, read_report(attempt_report_path(data_lake, day, latest["generation"])))


def failed_gates(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The gates an attempt failed, with their pass rate and threshold (what a waiver overrides)."""
    return {
        gate: {"pass_rate": figures["pass_rate"], "threshold": figures["threshold"]}
        for gate, figures in report["gates"].items()
        if figures["status"] == gates.FAILED
    }
