"""Files written whole or not at all, through temporaries that name their writer so orphans can be removed; and
the exclusive lock that keeps writers of one file from interleaving."""

import contextlib
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_TEMPORARY_NAME = re.compile(r"^\..+\.(?P<pid>\d+)-[0-9a-f]{32}\.tmp$")


def temporary_sibling(path: Path) -> Path:
    """`.<name>.<pid>-<random>.tmp` beside `path`: unique to one writer (two processes writing the same file never
    share a temporary), and naming the writing process, so a later run can tell a temporary left by a killed
    writer from one a live writer is still filling (`remove_orphaned_temporaries`)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_orphaned_temporaries(folder: Path) -> list[Path]:
    """Remove the temporaries (files or folders named by `temporary_sibling`) directly in `folder` whose writing
    process no longer exists on this machine; return what was removed. A temporary of a live process is kept.
    (A dead writer's pid reused by a new process keeps its orphan until that process ends: the safe side.)"""
    removed = []
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        match = _TEMPORARY_NAME.match(entry.name)
        if match is None or _process_exists(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def write_json_atomically(path: Path, payload: Any) -> int:
    """Write `payload` as indented JSON through a uniquely named temporary sibling renamed into place (so neither a
    crash nor a second process writing the same file leaves half a file); returns the size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.stat().st_size


@contextlib.contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive flock on `lock_path` (released when the holder exits, even by SIGKILL)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield
