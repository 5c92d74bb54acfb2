"""The raw archive: `raw/<day>/<file>`, our own verified copy of each IMDb file of a day, and its sidecars.

    raw/<day>/<file>                          the file as the source served it (copied, never linked)
    raw/<day>/<file>.raw.json                 what it is: sha256, size, its own identity, source and the source's
                                              identity, header layout (BOM, CRLF, appended columns), line counts
    raw/<day>/<file>.invalid_utf8.parquet     only when lines are not UTF-8: line_number, raw_bytes (exact)
    raw/<day>/<file>.utf8-repaired.gz         only then: the same lines with U+FFFD for the bad bytes (clean reads it)
    raw/<day>/<file>.delta.zst                instead of the file, once retention compacted it: its inflated content
                                              as a delta against a kept-whole day's file (`compact_file`)
    raw/.locks/<file>.lock                    one writer of a file at a time, whatever the day (flock)

A new file is copied to a temporary named by `temporary_sibling` (pid in the name), checked completely in the
same read (`raw_files.verified_copy`, whose checked text the clean step may parse as it comes: `ArchiveText`), and
renamed into place only when good; the sidecar is written last. The user's files are only ever read. The lock of a
file is held while its text is read along, so another day's step of the same file waits for that clean to end.

"Unchanged" is decided without reading when the source file's identity (inode, size, mtime_ns, ctime_ns: any
write, `cp -p` and `rsync -t` included, changes the ctime) is the one recorded, else by sha256.

The rules, in the order `archive_file` applies them:
- a live source (one that serves only its newest snapshot) gives a past day from its archive only, unless it still
  serves that day's snapshot (IMDb's files of a day until the next refresh, see `ImdbSource.still_serves`);
- a published day's archive never changes: a source with other content is reported, not applied, unless the
  operator asked for a re-fetch (`refetch_published`);
- a live source that still offers the latest earlier day's file has no new release: nothing is archived;
- anything else new is verified, then replaces the day's file (never a file other days' deltas are made against).

Compaction (`compact_file`, run by retention on old published days) stores a file's inflated content as a delta
against the same file of a kept-whole day, its *base* (`media_assets.sources.deltas`): written, reconstructed and
checked against the content's sha256 while the whole file is still there, then the sidecar records the delta and
the whole file is removed, so a crash at any point leaves a readable archive. The content is kept exactly; the
gzip container's bytes are not (its recorded sha256 stays as the file's identity). Every reader of a compacted file
goes through `readable_copy` (a temporary gzip of the content, checked) or `content_of`.
"""

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import polars as pl
from isal import igzip

from media_assets.atomic_files import file_lock, temporary_sibling, write_json_atomically
from media_assets.sources.deltas import DeltaChunk, DeltaError, file_content, reconstruct, write_delta
from media_assets.sources.imdb_files import ImdbFile
from media_assets.sources.raw_files import (
    INFLATE_INPUT_BYTES,
    RawFileError,
    RawLayout,
    VerifiedFile,
    copy_verified,
    sha256_of,
    verified_copy,
    write_utf8_repaired_copy,
)

SIDECAR_SUFFIX = ".raw.json"
INVALID_UTF8_SUFFIX = ".invalid_utf8.parquet"
REPAIRED_SUFFIX = ".utf8-repaired.gz"
DELTA_SUFFIX = ".delta.zst"
DELTA_FORM = "zstd_delta"
"""`stored.form` in the sidecar of a compacted file."""
RECONSTRUCTED_COMPRESSLEVEL = 1
"""ISA-L's fast level for the temporary gzip of a compacted file's content (read once by the clean step)."""
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


class BaseInUseError(RuntimeError):
    """An archived file other days' deltas are made against cannot be replaced."""


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
    def stored(self) -> dict | None:
        """How a compacted file is stored (delta file, base day, content sha256...); None while it is whole."""
        return self.record.get("stored")

    @property
    def stored_path(self) -> Path:
        """The file holding the day's content: the file itself, or its delta once compacted."""
        return self.path.with_name(self.stored["file"]) if self.stored else self.path

    @property
    def base_path(self) -> Path:
        """For a compacted file: the file of the day its delta is made against."""
        return self.path.parent.parent / self.stored["base_day"] / self.path.name

    @property
    def intact(self) -> bool:
        """The stored file (the file, or its delta) is still the one the sidecar describes (same inode, size,
        mtime and ctime)."""
        recorded = self.stored["identity"] if self.stored else self.record["identity"]
        return self.stored_path.exists() and file_identity(self.stored_path) == recorded

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


class ArchiveText:
    """The text of a new file as `archive_file` copies and checks it, in blocks of whole lines (`verified_copy`:
    lines that are not UTF-8 come repaired). Once the last block was read, the file is archived (or found unchanged,
    or no new release): `result` says how. Iterated once."""

    def __init__(self, blocks: Generator[bytes, None, ArchiveResult]):
        self._blocks = blocks
        self._result: ArchiveResult | None = None

    def __iter__(self) -> Iterator[bytes]:
        if self._result is None:  # once read to the end, there is nothing more
            self._result = yield from self._blocks

    def close(self) -> None:
        self._blocks.close()

    @property
    def result(self) -> ArchiveResult:
        if self._result is None:
            raise RuntimeError("the archive's outcome is known once all of the file's text was read")
        return self._result


@dataclass(frozen=True)
class ReadAlong:
    """A reader of a new file's text as `archive_file` copies it."""

    read: Callable[[ArchiveText], None]
    """Reads the text, all of it."""
    input_bytes: int
    """Compressed bytes inflated into one block of the text it is handed."""


def file_identity(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"inode": stat.st_ino, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns}


def sidecar_path(archive_path: Path) -> Path:
    return archive_path.with_name(archive_path.name + SIDECAR_SUFFIX)


def invalid_utf8_path(archive_path: Path) -> Path:
    return archive_path.with_name(archive_path.name + INVALID_UTF8_SUFFIX)


def repaired_path(archive_path: Path) -> Path:
    return archive_path.with_name(archive_path.name + REPAIRED_SUFFIX)


def delta_path(archive_path: Path) -> Path:
    return archive_path.with_name(archive_path.name + DELTA_SUFFIX)


def read_archived(archive_path: Path) -> ArchivedFile | None:
    """The archived file at `archive_path`, or None when there is none (a file without sidecar was never
    verified)."""
    try:
        record = json.loads(sidecar_path(archive_path).read_text())
    except FileNotFoundError:
        return None
    archived = ArchivedFile(archive_path, record)
    return archived if archived.stored_path.exists() else None


def archived_sha256(archive_path: Path) -> str:
    """sha256 of an archived file: the recorded one while the file is intact (or compacted: its content is checked
    whenever it is read), else computed from the file."""
    archived = read_archived(archive_path)
    if archived is not None and (archived.intact or archived.stored):
        return archived.sha256
    return sha256_of(archive_path)


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


def archive_file(
    request: ArchiveRequest,
    offer: Callable[[], SourceFile],
    read_along: ReadAlong | None = None,
) -> ArchiveResult:
    """Make the archive of `request`'s file and day current, from the file `offer()` returns (called only when the
    source is needed). Serialized per file name by a lock, so concurrent runs neither copy twice nor see a
    half-made archive.

    When a new file is copied, `read_along.read` (if any) is handed its text (`ArchiveText`) and reads it as it is
    copied and checked: the one inflate of the copy serves both (the clean step's read, see
    `media_assets.clean.assets`). The file is archived when its last block was read, before `read_along` returns;
    an error of the file (corrupt, truncated, a wrong header) is raised to `read_along` from the text it reads."""
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
        return _archive_new(request, archived, source, read_along)


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


def _archive_new(
    request: ArchiveRequest,
    archived: ArchivedFile | None,
    source: SourceFile,
    read_along: ReadAlong | None,
) -> ArchiveResult:
    if archived is None and request.live and (no_release := _no_new_release(request, source, None)):
        return no_release
    dest = request.dest
    check_free_space(request.raw_dir, source.path.stat().st_size, request.min_free_bytes, source.origin)
    tmp = temporary_sibling(dest)
    input_bytes = read_along.input_bytes if read_along is not None else INFLATE_INPUT_BYTES
    text = ArchiveText(_copied_then_archived(request, archived, source, tmp, input_bytes))
    try:
        if read_along is not None:
            read_along.read(text)
        for _ in text:  # what the reader left, or all of it when nothing reads along
            pass
    except OSError as error:
        if error.errno in _NO_ROOM:
            raise OSError(
                error.errno,
                f"disk full while archiving {source.origin} into {request.raw_dir}: the partial copy was removed "
                f"and the archive left as it was. Free some space and run again. ({error})",
            ) from error
        raise
    finally:
        text.close()
        tmp.unlink(missing_ok=True)
    return text.result


def _copied_then_archived(
    request: ArchiveRequest, archived: ArchivedFile | None, source: SourceFile, tmp: Path, input_bytes: int
) -> Generator[bytes, None, ArchiveResult]:
    """The text of `source` as it is copied to `tmp` and checked; then what `archive_file` makes of it."""
    try:
        verified = yield from verified_copy(source.path, tmp, request.imdb_file, source.origin, input_bytes)
    except RawFileError:
        if source.ours:
            source.path.unlink(missing_ok=True)
        raise
    if archived is not None and archived.intact and verified.sha256 == archived.sha256:
        _write_sidecar(request.dest, {**archived.record, "source_identity": _source_key(source)})
        return ArchiveResult(Outcome.UNCHANGED, read_archived(request.dest), source)
    if request.live and (no_release := _no_new_release(request, source, verified.sha256)):
        return no_release
    if archived is not None and (dependents := days_compacted_against(request.dest)):
        raise BaseInUseError(
            f"{request.dest} cannot be replaced by {source.origin}: the files of {', '.join(dependents)} are stored "
            "as deltas against it (retention compacted them), and their content would be lost. The archive was "
            "kept as it was."
        )
    _install(request, tmp, verified, source)
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
    delta_path(dest).unlink(missing_ok=True)  # a compacted earlier version's: the sidecar no longer names it


def _recheck_identity(archived: ArchivedFile | None) -> ArchivedFile | None:
    """`archived`, its recorded identity renewed when only that changed (a `touch`, `chmod` or a hard link made by
    a backup tool change the ctime): the content decides, so the stored file (or delta) is hashed once then."""
    if archived is None or archived.intact or not archived.stored_path.exists():
        return archived
    stored = archived.stored_path
    if sha256_of(stored) != (archived.stored["sha256"] if archived.stored else archived.sha256):
        return archived  # changed on disk: reported (or replaced) by the caller
    if archived.stored:
        record = {**archived.record, "stored": {**archived.stored, "identity": file_identity(stored)}}
    else:
        record = {**archived.record, "identity": file_identity(stored)}
    _write_sidecar(archived.path, record)
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


# --- compaction ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compaction:
    """One file compacted: what was removed and what replaced it."""

    path: Path
    base_day: str
    bytes_removed: int
    """The whole file's size."""
    bytes_added: int
    """The delta's size."""
    content_sha256: str


def days_compacted_against(archive_path: Path) -> list[str]:
    """The days whose file of the same name is stored as a delta against `archive_path`'s."""
    day = archive_path.parent.name
    dependents = []
    for sidecar in sorted(archive_path.parent.parent.glob(f"*/{archive_path.name}{SIDECAR_SUFFIX}")):
        stored = json.loads(sidecar.read_text()).get("stored")
        if stored and stored["base_day"] == day:
            dependents.append(sidecar.parent.name)
    return dependents


def compact_file(archive_path: Path, base_path: Path) -> Compaction | None:
    """Store the archived file at `archive_path` as a delta against `base_path` (the same file of a kept-whole day).

    Both must still have their recorded sha256. The delta is written to a temporary, reconstructed completely and
    compared with the content's sha256, renamed into place; then the sidecar records it and only then is the whole
    file removed. None when there is nothing to do: the file is compacted already (a whole file left by a crash
    after the sidecar is removed now), or it has lines that are not UTF-8 (the clean step reads its repaired copy,
    kept whole, so it stays whole too). Serialized with `archive_file` by the same lock."""
    with file_lock(archive_path.parent.parent / ".locks" / f"{archive_path.name}.lock"):
        archived, base = read_archived(archive_path), read_archived(base_path)
        if archived is None or base is None:
            raise FileNotFoundError(f"compacting {archive_path} against {base_path}: one of them is not archived")
        if archived.stored:
            archive_path.unlink(missing_ok=True)
            return None
        if archived.invalid_utf8_lines:
            return None
        if base.stored:
            raise DeltaError(f"{base_path} is compacted itself: a delta is made against a whole file only")
        for file in (archived, base):
            if sha256_of(file.path) != file.sha256:
                raise DeltaError(
                    f"{file.path} no longer has the sha256 recorded when it was archived ({file.sha256}): nothing "
                    "was compacted. Restore it from a backup."
                )
        delta_file = delta_path(archive_path)
        tmp = temporary_sibling(delta_file)
        try:
            delta = write_delta(file_content(archive_path), file_content(base_path), tmp)
            _check_content(reconstruct(tmp, delta.chunks, file_content(base_path)), delta.content_sha256, tmp)
            os.replace(tmp, delta_file)
        finally:
            tmp.unlink(missing_ok=True)
        stored = {
            "form": DELTA_FORM,
            "file": delta_file.name,
            "base_day": base_path.parent.name,
            "base_sha256": base.sha256,
            "content_sha256": delta.content_sha256,
            "content_bytes": delta.content_bytes,
            "sha256": delta.delta_sha256,
            "bytes": delta.delta_bytes,
            "identity": file_identity(delta_file),
            "chunks": [chunk.to_json() for chunk in delta.chunks],
        }
        _write_sidecar(archive_path, {**archived.record, "stored": stored})
        archive_path.unlink()
    return Compaction(
        archive_path, stored["base_day"], archived.record["bytes"], delta.delta_bytes, delta.content_sha256
    )


def _check_content(pieces: Iterator[bytes], content_sha256: str, what: Path) -> None:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    if digest.hexdigest() != content_sha256:
        raise DeltaError(f"{what} reconstructs content with sha256 {digest.hexdigest()}, not {content_sha256}")


def content_of(archived: ArchivedFile) -> Iterator[bytes]:
    """The inflated content of an archived file, whole or compacted; a compacted file's is checked against its
    recorded sha256 once it has all been read (DeltaError when it differs)."""
    if not archived.stored:
        yield from file_content(archived.path)
        return
    base = archived.base_path
    if not base.exists():
        raise FileNotFoundError(
            f"{archived.path} is stored as a delta against {base}, which is missing: restore {base} from a backup"
        )
    digest = hashlib.sha256()
    chunks = [DeltaChunk.from_json(chunk) for chunk in archived.stored["chunks"]]
    for piece in reconstruct(archived.stored_path, chunks, file_content(base)):
        digest.update(piece)
        yield piece
    if digest.hexdigest() != archived.stored["content_sha256"]:
        raise DeltaError(
            f"{archived.stored_path} with base {base} gives content with sha256 {digest.hexdigest()}, not the "
            f"recorded {archived.stored['content_sha256']}: restore {base} and {archived.stored_path} from a backup"
        )


@contextlib.contextmanager
def readable_copy(archive_path: Path) -> Iterator[Path]:
    """A `.tsv.gz` file with the archived file's content, for the duration of the block: the file itself while it is
    whole; for a compacted file, its content reconstructed into a temporary beside it (checked against the recorded
    sha256 before it is used, removed afterwards)."""
    archived = read_archived(archive_path)
    if archived is None or not archived.stored:
        yield archive_path
        return
    tmp = temporary_sibling(archive_path)
    try:
        with igzip.open(tmp, "xb", compresslevel=RECONSTRUCTED_COMPRESSLEVEL) as writer:
            for piece in content_of(archived):
                writer.write(piece)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def stored_sha256s(archived: ArchivedFile) -> dict[Path, tuple[str, str]]:
    """What the archive stores for a file, each by path with (recorded sha256, sha256 now): the file itself, or
    its delta and the base it is made against."""
    if not archived.stored:
        return {archived.path: (archived.sha256, sha256_of(archived.path))}
    base = archived.base_path
    return {
        archived.stored_path: (archived.stored["sha256"], sha256_of(archived.stored_path)),
        base: (archived.stored["base_sha256"], sha256_of(base) if base.exists() else "missing"),
    }
