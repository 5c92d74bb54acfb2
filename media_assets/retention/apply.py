"""Retention over a data directory: compact the raw files and remove the tables of the days the policy does not keep
whole, and record what was done in `retention/<run>.json`.

Nothing a published day needs to be rebuilt exactly is removed: a compacted day's raw content stays, exactly, as a
delta against its keyframe's file (checked by sha256 before the whole file goes), and its tables are what a rebuild
makes again from that content and the day before. Unpublished days are left alone (their raw files may still be
replaced), and so are the keyframes' raw files and published tables and everything of the newest days.

Superseded publications of a day are not removed here: the warehouse step removes them once its views no longer
read them (media_assets/publish/warehouse.py).

Order and atomicity: raw files are compacted one at a time under the archive's lock of that file
(`archive.compact_file`); tables are removed while holding the chain lease (no run is between reading its
predecessor and publishing) and, day by day, the published state's lock (`PublishedState.prune_tables`: manifest
first, then the files).
"""

import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from media_assets.atomic_files import remove_orphaned_temporaries, write_json_atomically
from media_assets.model.transforms import MODEL_TABLES
from media_assets.resources import DataLake
from media_assets.retention.policy import DayPlan, RetentionPolicy, Role, plan_days
from media_assets.sources.archive import compact_file, read_archived
from media_assets.sources.deltas import DeltaError
from media_assets.sources.imdb_files import IMDB_FILES

RETENTION_DIR = "retention"
CLEAN_TABLES = tuple(f"clean_{imdb_file.asset_suffix}" for imdb_file in IMDB_FILES)
REBUILT_TABLES = (*CLEAN_TABLES, *MODEL_TABLES)
"""The staged tables a run of the day makes again from its raw files (not the TMDb enrichment: TMDb's answers are
not archived)."""


@dataclass
class RetentionRecord:
    """What one retention run did (the JSON of `retention/<run>.json`)."""

    run_id: str
    policy: RetentionPolicy
    days: dict[str, dict] = field(default_factory=dict)
    """Per published day: its role and keyframe, and what was compacted or removed."""
    skipped: list[str] = field(default_factory=list)
    """Why something was left as it was."""
    bytes_before: int = 0
    bytes_after: int = 0
    """Size of the data directory before and after (every file, the warehouse and the instance's files aside)."""

    @property
    def removed_staged(self) -> dict[str, list[str]]:
        """The staged tables removed, as asset name -> days (their partitions are no longer materialized)."""
        removed: dict[str, list[str]] = {}
        for day, entry in sorted(self.days.items()):
            for asset in entry.get("staged_removed", {}):
                removed.setdefault(asset, []).append(day)
        return removed

    def to_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "policy": {"keep_days": self.policy.keep_days, "keyframe_days": self.policy.keyframe_days},
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "days": self.days,
            "skipped": self.skipped,
        }


def bytes_of(files: Iterable[Path]) -> int:
    """Bytes of `files`, a file with several names (published tables are hard links of staged ones) counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in files:
        stat = path.lstat()
        if (stat.st_dev, stat.st_ino) not in seen:
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_size
    return total


def data_bytes(root: Path) -> int:
    """Bytes of every file under `root`."""
    return bytes_of(Path(folder, name) for folder, _, files in os.walk(root) for name in files)


def apply_retention(
    lake: DataLake, policy: RetentionPolicy, run_id: str, run_finished: Callable[[str], bool]
) -> RetentionRecord:
    """Apply `policy` to the published days of `lake`; `run_finished` tells whether a run holding the chain lease
    is over (see `PublishedState.acquire_chain`). Writes and returns the run's record."""
    published = lake.published
    record = RetentionRecord(run_id, policy, bytes_before=data_bytes(lake.root_path))
    plans = plan_days(published.days(), policy)
    for plan in plans:
        record.days[plan.day.isoformat()] = {"role": plan.role.value, "keyframe": plan.keyframe.isoformat()}
    newest = {plan.day for plan in plans[-policy.keep_days :]}
    for plan in plans:
        if plan.role is Role.COMPACTED:
            _compact_raw(lake, plan, record)
    published.acquire_chain(run_id, run_finished)
    try:
        for plan in plans:
            if plan.role is Role.COMPACTED:
                _prune_tables(lake, plan, record)
            elif plan.role is Role.KEYFRAME and plan.day not in newest:
                # Its clean tables are read by no later day: rebuilt from its raw files when it is run again.
                _remove_staged(lake, plan, record, clean_only=True)
    finally:
        published.release_chain(run_id)
    record.bytes_after = data_bytes(lake.root_path)
    write_json_atomically(lake.root_path / RETENTION_DIR / f"{run_id}.json", record.to_json())
    return record


def _compact_raw(lake: DataLake, plan: DayPlan, record: RetentionRecord) -> None:
    day = plan.day.isoformat()
    remove_orphaned_temporaries(lake.raw_dir(day))
    compacted = record.days[day].setdefault("raw_compacted", {})
    for imdb_file in IMDB_FILES:
        path = lake.raw_dir(day) / imdb_file.file_name
        base = lake.raw_dir(plan.keyframe.isoformat()) / imdb_file.file_name
        if read_archived(path) is None or read_archived(base) is None:
            record.skipped.append(f"{path}: it or its keyframe's {base} is not archived; kept as it is")
            continue
        try:
            result = compact_file(path, base)
        except DeltaError as error:
            record.skipped.append(f"{path}: not compacted: {error}")
            continue
        if result is not None:
            compacted[imdb_file.file_name] = {
                "base_day": result.base_day,
                "bytes_removed": result.bytes_removed,
                "bytes_added": result.bytes_added,
                "content_sha256": result.content_sha256,
            }


def _prune_tables(lake: DataLake, plan: DayPlan, record: RetentionRecord) -> None:
    publication = lake.published.get(plan.day)
    if publication is not None and not publication.pruned:
        removed = lake.published.prune_tables(plan.day, publication.generation, record.run_id)
        if removed:
            record.days[plan.day.isoformat()]["published_removed"] = removed
    _remove_staged(lake, plan, record, clean_only=False)


def _remove_staged(lake: DataLake, plan: DayPlan, record: RetentionRecord, clean_only: bool) -> None:
    day = plan.day.isoformat()
    removed = {}
    for asset in CLEAN_TABLES if clean_only else REBUILT_TABLES:
        path = lake.table_path(asset, day)
        if path.is_file():
            removed[asset] = path.stat().st_size
            path.unlink()
    if removed:
        record.days[day]["staged_removed"] = removed


def retention_run_id(now: dt.datetime | None = None) -> str:
    """A run id for retention launched outside Dagster (the admin command)."""
    return "admin-" + (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S")
