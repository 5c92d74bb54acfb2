"""The published state: which days' star schemas readers may see, and from which attempt (write-audit-publish).

A day's model tables are written to the staging area (`tables/<asset>/<day>.parquet`, the IO manager's plain
paths) and audited there; only when every blocking gate passed (or an operator waived them) are they published:

    published/<day>/<generation>/<table>.parquet   hard links of the staged files that were audited
    published/<day>/manifest.json                  the day's published generation; renamed into place, so the
                                                   switch from one generation to the next is atomic
    published/.lock                                serializes every change of the published state (flock)
    published/chain.lease                          the run now building the chain (see below)

A day without `manifest.json` is not published. The generation is the id of the run (group) that staged the
tables. Readers (the next day's SCD2 build, the warehouse, the KPIs) go through this module only. Paths in a
manifest are relative to the data directory, so the directory can move.

The SCD2 chain: a day is built from the latest earlier published day, its *predecessor*, recorded in the
manifest with the sha256 of the predecessor's `dim_title` (what the build read). A published day is *out of date*
when that is no longer the latest earlier published day's `dim_title` (a backfill published a day in between, or
the predecessor was rebuilt with other content or unpublished), or when its predecessor is out of date.

Two runs never interleave the chain: a run takes the chain lease before it reads its predecessor and gives it back
when it has published; another run waits meanwhile. A lease whose run has finished (failed at a gate, crashed,
killed) is taken over, so a lost run never blocks the next one.
"""

import contextlib
import datetime as dt
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_assets.atomic_files import file_lock, write_json_atomically
from media_assets.sources.raw_files import sha256_of

MANIFEST_FILE = "manifest.json"
LEASE_FILE = "chain.lease"
LEASE_POLL_SECONDS = 1.0
MANIFEST_FORMAT = 1
CHAIN_TABLE = "dim_title"
"""The table a day's build carries forward from its predecessor."""
PREDECESSOR_SHA256_KEY = "predecessor_dim_title_sha256"
"""Materialization metadata of dim_title: the sha256 of the predecessor's dim_title the build read ("" for none)."""


class PrunedTablesError(FileNotFoundError):
    """A published day's table that retention removed was asked for."""


class LegacyDataDirError(RuntimeError):
    """A data directory written by a version of media_assets from before the published state."""


@dataclass(frozen=True)
class ChainLink:
    """The predecessor a day was built from: its day and the sha256 of its published `dim_title`."""

    snapshot_date: dt.date
    dim_title_sha256: str

    def to_json(self) -> dict[str, str]:
        return {"snapshot_date": self.snapshot_date.isoformat(), "dim_title_sha256": self.dim_title_sha256}

    @classmethod
    def from_json(cls, value: Mapping[str, str] | None) -> "ChainLink | None":
        if value is None:
            return None
        return cls(dt.date.fromisoformat(value["snapshot_date"]), value["dim_title_sha256"])


@dataclass(frozen=True)
class PublishedDay:
    """One published day, as its manifest says."""

    snapshot_date: dt.date
    generation: str
    """The run (group) whose staged tables were published."""
    tables: dict[str, Path]
    """Absolute path of each published table."""
    predecessor: ChainLink | None
    """The day this day's SCD2 build carried forward (None: the first day of the chain)."""
    dim_title_sha256: str
    quality_report: Path | None
    """The audit report of the published attempt."""
    waiver: dict[str, Any] | None
    """Set when an operator published the day despite failing gates: reason and failed gates."""
    published_at: str
    pruned: dict[str, Any] | None = None
    """Set when retention removed the day's tables (they are rebuilt from the raw archive): which, with their
    sha256, and the retention run."""

    def table(self, name: str) -> Path:
        """The published table `name`; PrunedTablesError, saying what to run, when retention removed it."""
        if self.pruned and name in self.pruned["tables"]:
            raise PrunedTablesError(
                f"{name} of {self.snapshot_date} was removed by retention (run {self.pruned['retention_run']}); "
                f"it is rebuilt from the raw archive: run `python -m media_assets.admin restore "
                f"{self.snapshot_date}`, then this step again."
            )
        return self.tables[name]

    def link(self) -> ChainLink:
        """This day as the predecessor of a later day."""
        return ChainLink(self.snapshot_date, self.dim_title_sha256)


@dataclass(frozen=True)
class OutOfDateDay:
    """A published day whose build no longer follows the published chain."""

    snapshot_date: dt.date
    built_from: ChainLink | None
    """The predecessor it was built from."""
    rebuild_from: dt.date | None
    """The latest earlier published day now (None: it now starts the chain)."""
    reason: str


class PublishedState:
    """The published days under a data directory's `published/` folder."""

    def __init__(self, data_root: Path) -> None:
        self.data_root = Path(data_root)
        self.root = self.data_root / "published"

    # --- reading ---------------------------------------------------------------------------------------------

    def check_layout(self) -> None:
        """Refuse a data directory whose model tables were written before the published state existed: its
        `title_sk` and `genre_id` values mean something else, and nothing says which of its days passed their
        gates, so reading it as history would misread it."""
        legacy_tables = self.data_root / "tables" / CHAIN_TABLE
        if not self.root.exists() and legacy_tables.is_dir() and any(legacy_tables.glob("*.parquet")):
            raise LegacyDataDirError(
                f"{self.data_root} was written by an earlier version of media_assets (model tables under "
                f"{legacy_tables}, no published/ folder). Run `python -m media_assets.admin migrate "
                f"--data-dir {self.data_root}` to set its derived tables aside (the raw archive is kept), then "
                "rebuild its days in order with `python -m media_assets.admin rebuild-archive`."
            )

    def manifest_path(self, snapshot_date: dt.date) -> Path:
        return self.root / snapshot_date.isoformat() / MANIFEST_FILE

    def days(self) -> list[dt.date]:
        """The published days, oldest first."""
        if not self.root.is_dir():
            return []
        days = []
        for entry in self.root.iterdir():
            if (entry / MANIFEST_FILE).is_file():
                with contextlib.suppress(ValueError):
                    days.append(dt.date.fromisoformat(entry.name))
        return sorted(days)

    def get(self, snapshot_date: dt.date) -> PublishedDay | None:
        """The published state of a day, or None when the day is not published."""
        path = self.manifest_path(snapshot_date)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"{path}: unknown manifest format {manifest.get('format')!r}")
        return PublishedDay(
            snapshot_date=dt.date.fromisoformat(manifest["snapshot_date"]),
            generation=manifest["generation"],
            tables={name: self.data_root / relative for name, relative in manifest["tables"].items()},
            predecessor=ChainLink.from_json(manifest["predecessor"]),
            dim_title_sha256=manifest["dim_title_sha256"],
            quality_report=self.data_root / manifest["quality_report"] if manifest["quality_report"] else None,
            waiver=manifest["waiver"],
            published_at=manifest["published_at"],
            pruned=manifest.get("pruned"),
        )

    def is_published(self, snapshot_date: dt.date) -> bool:
        return self.manifest_path(snapshot_date).is_file()

    def latest_before(self, snapshot_date: dt.date) -> PublishedDay | None:
        """The latest published day before `snapshot_date`: the predecessor a build of that day uses."""
        earlier = [day for day in self.days() if day < snapshot_date]
        return self.get(earlier[-1]) if earlier else None

    def pruned_predecessors(self, snapshot_date: dt.date) -> list[dt.date]:
        """The days whose tables retention removed that a build of `snapshot_date` needs rebuilt first, oldest
        first: the run of pruned published days just before it, back to a day whose tables are kept."""
        needed = []
        for day in reversed([day for day in self.days() if day < snapshot_date]):
            published = self.get(day)
            if published is None or not published.pruned:
                break
            needed.append(day)
        return sorted(needed)

    def out_of_date(self) -> list[OutOfDateDay]:
        """Published days whose build does not follow the published chain, oldest first (see the module)."""
        result: list[OutOfDateDay] = []
        previous: PublishedDay | None = None
        previous_out_of_date = False
        for day in self.days():
            published = self.get(day)
            if published is None:  # unpublished meanwhile
                continue
            expected = previous.link() if previous else None
            reason = None
            if published.predecessor != expected:
                built = published.predecessor.snapshot_date.isoformat() if published.predecessor else "nothing"
                if expected is None:
                    reason = f"built from {built}, but no earlier day is published now"
                elif published.predecessor and published.predecessor.snapshot_date == expected.snapshot_date:
                    reason = f"built from an earlier publication of {built}, which was published again since"
                else:
                    reason = f"built from {built}, but {expected.snapshot_date} is the latest earlier published day"
            elif previous_out_of_date:
                reason = f"built from {expected.snapshot_date}, which is out of date itself"
            if reason:
                result.append(
                    OutOfDateDay(day, published.predecessor, expected.snapshot_date if expected else None, reason)
                )
            previous, previous_out_of_date = published, reason is not None
        return result

    # --- changing ----------------------------------------------------------------------------------------------

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the published state's lock (an flock, so a killed holder releases it)."""
        return file_lock(self.root / ".lock")

    def acquire_chain(
        self, run_id: str, run_finished: Callable[[str], bool], waiting: Callable[[str], None] | None = None
    ) -> None:
        """Take the chain lease for `run_id`, waiting while a run that has not finished holds it. `run_finished`
        tells whether a run is over; `waiting` is told the holder's id once, when this call starts waiting."""
        lease = self.root / LEASE_FILE
        told = False
        while True:
            with self.lock():
                holder = _lease_holder(lease)
                if holder in (None, run_id) or run_finished(holder):
                    write_json_atomically(lease, {"run_id": run_id})
                    return
            if waiting and not told:
                waiting(holder)
                told = True
            time.sleep(LEASE_POLL_SECONDS)

    def release_chain(self, run_id: str) -> None:
        """Give the chain lease back (when `run_id` holds it)."""
        lease = self.root / LEASE_FILE
        with self.lock():
            if _lease_holder(lease) == run_id:
                lease.unlink()

    def publish(
        self,
        snapshot_date: dt.date,
        generation: str,
        staged: Mapping[str, Path],
        predecessor: ChainLink | None,
        quality_report: Path | None,
        waiver: Mapping[str, Any] | None = None,
    ) -> PublishedDay:
        """Publish the staged tables of a day as one generation, replacing its earlier publication atomically.

        The staged files are hard-linked (copied across file systems) into the generation's folder first; the
        manifest's rename is the switch. Earlier generations' folders stay until `prune()`, so a reader in the
        middle of one is not cut off.
        """
        if CHAIN_TABLE not in staged:
            raise ValueError(f"publishing {snapshot_date}: {CHAIN_TABLE} is not among the staged tables")
        day_dir = self.root / snapshot_date.isoformat()
        with self.lock():
            day_dir.mkdir(parents=True, exist_ok=True)
            tmp_dir = day_dir / f".{generation}.{uuid.uuid4().hex}.tmp"
            tmp_dir.mkdir()
            try:
                for name, source in staged.items():
                    _link_or_copy(source, tmp_dir / f"{name}.parquet")
                generation_dir = day_dir / generation
                if generation_dir.exists():  # the same generation published again (e.g. a waiver after a retry)
                    shutil.rmtree(generation_dir)
                os.replace(tmp_dir, generation_dir)
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
            tables = {name: generation_dir / f"{name}.parquet" for name in staged}
            manifest = {
                "format": MANIFEST_FORMAT,
                "snapshot_date": snapshot_date.isoformat(),
                "generation": generation,
                "tables": {name: str(path.relative_to(self.data_root)) for name, path in tables.items()},
                "predecessor": predecessor.to_json() if predecessor else None,
                "dim_title_sha256": sha256_of(tables[CHAIN_TABLE]),
                "quality_report": str(quality_report.relative_to(self.data_root)) if quality_report else None,
                "waiver": dict(waiver) if waiver else None,
                "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            write_json_atomically(self.manifest_path(snapshot_date), manifest)
        published = self.get(snapshot_date)
        assert published is not None
        return published

    def unpublish(self, snapshot_date: dt.date, reason: str) -> Path:
        """Withdraw a day: its manifest is moved aside (kept, with the reason), so readers no longer see the day.
        Returns where the withdrawn manifest is."""
        path = self.manifest_path(snapshot_date)
        with self.lock():
            if not path.is_file():
                raise FileNotFoundError(f"{snapshot_date} is not published")
            manifest = json.loads(path.read_text(encoding="utf-8"))
            manifest["unpublished"] = {
                "reason": reason,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            withdrawn = path.with_name(f"withdrawn-{manifest['generation']}-{uuid.uuid4().hex[:8]}.json")
            write_json_atomically(withdrawn, manifest)
            path.unlink()
        return withdrawn

    def prune_tables(self, snapshot_date: dt.date, generation: str, retention_run: str) -> dict[str, dict]:
        """Remove the tables of a published day (retention): the manifest first records which, with their sha256 and
        sizes, then the generation's folder goes, so a crash between the two leaves a day marked pruned whose files
        are still there. Nothing is done (an empty dict) when the day's publication is no longer `generation` or
        is pruned already."""
        with self.lock():
            published = self.get(snapshot_date)
            if published is None or published.generation != generation or published.pruned:
                return {}
            removed = {
                name: {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
                for name, path in published.tables.items()
            }
            path = self.manifest_path(snapshot_date)
            manifest = json.loads(path.read_text(encoding="utf-8"))
            manifest["pruned"] = {"tables": removed, "retention_run": retention_run}
            write_json_atomically(path, manifest)
            shutil.rmtree(self.root / snapshot_date.isoformat() / generation)
        return removed

    def prune(self) -> list[Path]:
        """Remove the generation folders of published days that a later publication of the same day superseded
        (a withdrawn day keeps its folder for inspection). Returns what was removed. The warehouse step calls it once
        its views read the current publications (media_assets/publish/warehouse.py)."""
        removed = []
        with self.lock():
            for day in self.days():
                published = self.get(day)
                if published is None:
                    continue
                for entry in (self.root / day.isoformat()).iterdir():
                    if entry.is_dir() and entry.name != published.generation:
                        shutil.rmtree(entry)
                        removed.append(entry)
        return removed


def _lease_holder(lease: Path) -> str | None:
    try:
        return json.loads(lease.read_text(encoding="utf-8"))["run_id"]
    except FileNotFoundError:
        return None


def _link_or_copy(source: Path, dest: Path) -> None:
    # Staged files are only ever replaced by a rename, never rewritten in place, so a hard link keeps the
    # audited bytes whatever happens to the staging path later.
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)
