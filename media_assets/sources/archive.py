"""The raw archive: `raw/<day>/<file>`, our own verified copy of each IMDb file of a day, and its sidecars.

    raw/<day>/<file>                          the file as the source served it (copied, never linked)
    raw/<day>/<file>.raw.json                 what it is: sha256, size, its own identity, source and the source's
                                              identity, header layout (BOM, CRLF, appended columns), line counts
    raw/<day>/<file>.invalid_utf8.parquet     only when lines are not UTF-8: line_number, raw_bytes (exact)
    raw/<day>/<file>.utf8-repaired.gz         only then: the same lines with U+FFFD for the bad bytes (clean reads it)
    raw/.locks/<file>.lock                    one writer of a file at a time, whatever the day (flock)

A new file is copied to a temporary named by `temporary_sibling` (pid in the name), checked completely in the
same read (`raw_files.copy_verified`), and renamed into place only when good; the sidecar is written last. The
user's files are only ever read.

"Unchanged" is decided without reading when the source file's identity (inode, size, mtime_ns, ctime_ns: any
write, `cp -p` and `rsync -t` included, changes the ctime) is the one recorded, else by sha256.

The rules, in the order `archive_file` applies them:
- a live source (one that serves only its newest snapshot) gives a past day from its archive only, unless it still
  serves that day's snapshot (IMDb's files of a day until the next refresh, see `ImdbSource.still_serves`);
- a published day's archive never changes: a source with other content is reported, not applied, unless the
  operator asked for a re-fetch (`refetch_published`);
- a live source that still offers the latest earlier day's file has no new release: nothing is archived;
- anything else new is verified, then replaces the day's file.
"""

import datetime as dt
import errno
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import polars as pl

from media_assets.atomic_files import file_lock, temporary_sibling, write_json_atomically
from media_assets.sources.imdb_files import ImdbFile
from media_assets.sources.raw_files import (
    RawFileError,
    RawLayout,
    VerifiedFile,
    copy_verified,
    sha256_of,
    write_utf8_repaired_copy,
)

SIDECAR_SUFFIX = ".raw.json"
INVALID_UTF8_SUFFIX = ".invalid_utf8.parquet"
REPAIRED_SUFFIX = ".utf8-repaired.gz"
INVALID_UTF8_SCHEMA = pl.Schema({"line_number": pl.Int64, "raw_bytes": pl.Binary})
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
"""The file system took no more bytes: full, over quota, or over a file size limit."""


@dataclass(frozen=True)
class SourceFile:
    """A local file a source offers as one IMDb file of a day."""

    path: Path
    origin: str
    """The file as the user knows it: their mirror's path, the URL, the sample's parameters."""
    ours: bool
    """A cache of ours (a download, a generated sample): deleted when it fails verification, so that it is
    fetched again rather than offered again."""
    etag: str | None = None
    last_modified: str | None = None


class Outcome(Enum):
    FETCHED = "fetched"
    """A new file was verified and archived."""
    UNCHANGED = "unchanged"
    """The source offers what the archive holds."""
    ARCHIVE_USED = "archive_used"
    """A live source cannot serve a past day: that day's archive is used."""
    SOURCE_CHANGED_NOT_APPLIED = "source_changed_not_applied"
    """The day is published: its archive stays as it is, the changed source is only reported."""
    NO_NEW_RELEASE = "no_new_release"
    """A live source still serves the latest archived day's file: nothing is archived under this day."""


@dataclass(frozen=True)
class ArchivedFile:
    """A file of the archive, as its sidecar describes it."""

    path: Path
    record: dict

    @property
    def sha256(self) -> str:
        return self.record["sha256"]

    @property
    def intact(self) -> bool:
        """The file is still the one the sidecar describes (same inode, size, mtime and ctime)."""
        return self.path.exists() and file_identity(self.path) == self.record["identity"]

    @property
    def invalid_utf8_lines(self) -> int:
        return self.record["invalid_utf8_lines"]

    @property
    def data_lines(self) -> int:
        """Lines after the header, as the complete read that verified the file counted them."""
        return self.record["lines"] - 1

    def layout(self, imdb_file: ImdbFile) -> RawLayout:
        return RawLayout.from_json(self.record["layout"], imdb_file)


@dataclass(frozen=True)
class ArchiveResult:
    outcome: Outcome
    archived: ArchivedFile | None
    """The day's archived file (None only for NO_NEW_RELEASE)."""
    source: SourceFile | None
    message: str | None = None
    """For the outcomes a person should hear about: what happened and what to do."""


def file_identity(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"inode": stat.st_ino, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns}


def sidecar_path(archive_path: Path) -> Path:
    return archive_path.with_name(archive_path.name + SIDECAR_SUFFIX)


def invalid_utf8_path(archive_path: Path) -> Path:
    return archive_path.with_name(archive_path.name + INVALID_UTF8_SUFFIX)


def repaired_path(archive_path: Path) -> Path:
    return archive_path.with_name(archive_path.name + REPAIRED_SUFFIX)


def read_archived(archive_path: Path) -> ArchivedFile | None:
    """The archived file at `archive_path`, or None when there is none (a file without sidecar was never
    verified)."""
    try:
        record = json.loads(sidecar_path(archive_path).read_text())
    except FileNotFoundError:
        return None
    return ArchivedFile(archive_path, record) if archive_path.exists() else None


def archived_sha256(archive_path: Path) -> str:
    """sha256 of an archived file: the recorded one while the file is intact, else computed from the file."""
    archived = read_archived(archive_path)
    return archived.sha256 if archived is not None and archived.intact else sha256_of(archive_path)


def latest_archived_before(raw_root: Path, day: dt.date, imdb_file: ImdbFile) -> ArchivedFile | None:
    """The archive of `imdb_file` of the latest day before `day` that has one."""
    days = sorted(
        (folder.name for folder in raw_root.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")),
        reverse=True,
    )
    for name in days:
        if name < day.isoformat() and (archived := read_archived(raw_root / name / imdb_file.file_name)):
            return archived
    return None


def check_free_space(folder: Path, needed: int, margin: int, what: str) -> None:
    """Fail before writing when the file system of `folder` has less than `needed` + `margin` bytes free."""
    free = shutil.disk_usage(folder).free
    if free < needed + margin:
        raise OSError(
            errno.ENOSPC,
            f"not enough free space in {folder} to archive {what}: {free:,} bytes free, {needed:,} needed plus a "
            f"margin of {margin:,} (setting min_free_bytes). Free some space and run again; nothing was written.",
        )


@dataclass(frozen=True)
class ArchiveRequest:
    """Where and how one file of a day is archived."""

    imdb_file: ImdbFile
    day: dt.date
    raw_root: Path
    source_name: str
    """The source in one phrase (URL, folder, sample parameters), for messages."""
    live: bool
    """The source serves only its newest snapshot (IMDb's URL, a mirror folder without `{date}`)."""
    published: bool
    """The day is published: its archive must not change."""
    refetch_published: bool = False
    """Replace a published day's archive with a changed source anyway (an operator's explicit choice)."""
    min_free_bytes: int = 0
    serves_past_day: Callable[[], bool] | None = None
    """For a live source asked for a past day it has no archive of: whether it still serves that day's snapshot
    (IMDb's files of day D are served until its next refresh, after midnight UTC). None: it never does."""

    @property
    def raw_dir(self) -> Path:
        return self.raw_root / self.day.isoformat()

    @property
    def dest(self) -> Path:
        return self.raw_dir / self.imdb_file.file_name


def archive_file(request: ArchiveRequest, offer: Callable[[], SourceFile]) -> ArchiveResult:
    """Make the archive of `request`'s file and day current, from the file `offer()` returns (called only when the
    source is needed). Serialized per file name by a lock, so concurrent runs neither copy twice nor see a
    half-made archive."""
    request.raw_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(request.raw_root / ".locks" / f"{request.imdb_file.file_name}.lock"):
        archived = _recheck_identity(read_archived(request.dest)) or _adopt_unrecorded(request)
        if request.live and request.day < dt.datetime.now(dt.UTC).date():
            if archived is not None:
                return ArchiveResult(Outcome.ARCHIVE_USED, archived, None)
            if request.serves_past_day is None or not request.serves_past_day():
                raise FileNotFoundError(past_day_not_served(request.imdb_file, request.day, request.source_name))
        source = offer()
        if archived is not None and archived.intact and archived.record["source_identity"] == _source_key(source):
            return ArchiveResult(Outcome.UNCHANGED, archived, source)
        if archived is not None and request.published and not request.refetch_published:
            return _keep_published(request, archived, source)
        return _archive_new(request, archived, source)


def _no_new_release(request: ArchiveRequest, source: SourceFile, sha256: str | None) -> ArchiveResult | None:
    """For a live source: NO_NEW_RELEASE when it offers the latest earlier day's file (the same source identity,
    or the same sha256 once `sha256` is known)."""
    previous = latest_archived_before(request.raw_root, request.day, request.imdb_file)
    if previous is None or not (previous.record["source_identity"] == _source_key(source) or previous.sha256 == sha256):
        return None
    return ArchiveResult(
        Outcome.NO_NEW_RELEASE,
        None,
        source,
        f"{request.imdb_file.file_name}: {source.origin} still serves the file archived for "
        f"{previous.path.parent.name} (sha256 {previous.sha256}): no new release for {request.day}, nothing "
        "archived.",
    )


def past_day_not_served(imdb_file: ImdbFile, day: dt.date, source_name: str) -> str:
    """Why a live source cannot give a past day it was not archived from."""
    return (
        f"{imdb_file.file_name} for past snapshot {day} was not archived on that day, and {source_name} serves "
        "only the current snapshot. Materialize today's partition instead, or use the `file` source with a mirror "
        "that kept that day (a folder with `{date}` in IMDB_FOLDER)."
    )


def _source_key(source: SourceFile) -> dict:
    return {"origin": source.origin, **file_identity(source.path)}


def _keep_published(request: ArchiveRequest, archived: ArchivedFile, source: SourceFile) -> ArchiveResult:
    sha256 = sha256_of(source.path)
    if sha256 == archived.sha256 and archived.intact:
        _write_sidecar(archived.path, {**archived.record, "source_identity": _source_key(source)})
        return ArchiveResult(Outcome.UNCHANGED, read_archived(request.dest), source)
    what = "the source now serves other content" if archived.intact else "the archived file changed on disk"
    return ArchiveResult(
        Outcome.SOURCE_CHANGED_NOT_APPLIED,
        archived,
        source,
        f"{request.imdb_file.file_name} of {request.day}: {what} (source {source.origin}: sha256 {sha256}; archive "
        f"{archived.path}: recorded sha256 {archived.sha256}). The day is published, so its archive was kept as "
        "it is. To replace it, materialize the day again with IMDB_REFETCH_PUBLISHED=1 (resource field "
        "refetch_published) and then re-publish the day.",
    )


def _archive_new(request: ArchiveRequest, archived: ArchivedFile | None, source: SourceFile) -> ArchiveResult:
    if archived is None and request.live and (no_release := _no_new_release(request, source, None)):
        return no_release
    dest = request.dest
    check_free_space(request.raw_dir, source.path.stat().st_size, request.min_free_bytes, source.origin)
    tmp = temporary_sibling(dest)
    try:
        try:
            verified = copy_verified(source.path, tmp, request.imdb_file, source.origin)
        except RawFileError:
            if source.ours:
                source.path.unlink(missing_ok=True)
            raise
        if archived is not None and archived.intact and verified.sha256 == archived.sha256:
            _write_sidecar(dest, {**archived.record, "source_identity": _source_key(source)})
            return ArchiveResult(Outcome.UNCHANGED, read_archived(request.dest), source)
        if request.live and (no_release := _no_new_release(request, source, verified.sha256)):
            return no_release
        _install(request, tmp, verified, source)
    except OSError as error:
        if error.errno in _NO_ROOM:
            raise OSError(
                error.errno,
                f"disk full while archiving {source.origin} into {request.raw_dir}: the partial copy was removed "
                f"and the archive left as it was. Free some space and run again. ({error})",
            ) from error
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return ArchiveResult(Outcome.FETCHED, read_archived(request.dest), source)


def _install(request: ArchiveRequest, tmp: Path, verified: VerifiedFile, source: SourceFile) -> None:
    """Rename the verified `tmp` (and, for lines that are not UTF-8, the derived files) into place, then write the
    sidecar: the sidecar comes last, so it never describes a file that is not there."""
    dest = request.dest
    derived = {invalid_utf8_path(dest), repaired_path(dest)} if verified.invalid_utf8 else set()
    temps = {final: temporary_sibling(final) for final in derived}
    try:
        if verified.invalid_utf8:
            _write_utf8_derivatives(tmp, verified, temps[invalid_utf8_path(dest)], temps[repaired_path(dest)])
        for final, temporary in temps.items():
            os.replace(temporary, final)
        os.replace(tmp, dest)
    finally:
        for temporary in temps.values():
            temporary.unlink(missing_ok=True)
    # Left from an earlier version of the file that had bad lines, they would describe another file.
    for stale in {invalid_utf8_path(dest), repaired_path(dest)} - derived:
        stale.unlink(missing_ok=True)
    _write_sidecar(dest, _record(dest, verified, source))


def _recheck_identity(archived: ArchivedFile | None) -> ArchivedFile | None:
    """`archived`, its recorded identity renewed when only that changed (a `touch`, `chmod` or a hard link made by
    a backup tool change the ctime): the content decides, so the file is hashed once then."""
    if archived is None or archived.intact or not archived.path.exists():
        return archived
    if sha256_of(archived.path) != archived.sha256:
        return archived  # changed on disk: reported (or replaced) by the caller
    _write_sidecar(archived.path, {**archived.record, "identity": file_identity(archived.path)})
    return read_archived(archived.path)


def _adopt_unrecorded(request: ArchiveRequest) -> ArchivedFile | None:
    """A day's file without a sidecar, left by an earlier version (which hard-linked the user's mirror files and
    kept `.stats.json`/`.origin.json`/`.meta.json` beside them) or by a crash between rename and sidecar: copied
    onto an inode of its own and recorded when it verifies; None (replaced like a missing file) when it does not."""
    dest = request.dest
    if not dest.exists():
        return None
    check_free_space(request.raw_dir, dest.stat().st_size, request.min_free_bytes, str(dest))
    tmp = temporary_sibling(dest)
    try:
        verified = copy_verified(dest, tmp, request.imdb_file, str(dest))
        _install(request, tmp, verified, SourceFile(dest, f"{dest} (an earlier archive)", ours=False))
    except RawFileError:
        return None
    finally:
        tmp.unlink(missing_ok=True)
    for legacy in (".stats.json", ".origin.json", ".meta.json"):
        dest.with_name(dest.name + legacy).unlink(missing_ok=True)
    return read_archived(dest)


def _write_utf8_derivatives(tmp: Path, verified: VerifiedFile, lines_path: Path, repaired: Path) -> None:
    """The lines that are not UTF-8, with their exact bytes, and the repaired copy the clean step reads."""
    pl.DataFrame(
        {
            "line_number": [line.line_number for line in verified.invalid_utf8],
            "raw_bytes": [line.raw_bytes for line in verified.invalid_utf8],
        },
        schema=INVALID_UTF8_SCHEMA,
    ).write_parquet(lines_path)
    write_utf8_repaired_copy(tmp, repaired)


def _record(dest: Path, verified: VerifiedFile, source: SourceFile) -> dict:
    return {
        "file": dest.name,
        "sha256": verified.sha256,
        "bytes": verified.bytes,
        "identity": file_identity(dest),
        "source": source.origin,
        "source_identity": _source_key(source),
        "etag": source.etag,
        "last_modified": source.last_modified,
        "layout": verified.layout.to_json(),
        "lines": verified.lines,
        "inflated_bytes": verified.inflated_bytes,
        "invalid_utf8_lines": len(verified.invalid_utf8),
    }


def _write_sidecar(dest: Path, record: dict) -> None:
    write_json_atomically(sidecar_path(dest), record)
