"""Generated sample snapshots, kept so that a day is generated once whatever the number of steps asking for it."""

import datetime as dt
import os
from pathlib import Path

from media_assets.atomic_files import file_lock, remove_orphaned_temporaries, temporary_sibling
from media_assets.sample.generator import GENERATOR_FINGERPRINT, write_sample_snapshot


def sample_snapshot_folder(cache_dir: Path, snapshot_date: dt.date, scale: float, seed: int) -> Path:
    """`cache_dir/<day>/scale=<scale>-seed=<seed>-generator=<fingerprint>/` holding the day's four generated files,
    generated on first use into a temporary folder renamed into place (under a lock: the four raw steps ask at the
    same time). Another version of the generator (GENERATOR_FINGERPRINT) generates its own folder."""
    folder = cache_dir / snapshot_date.isoformat() / f"scale={scale}-seed={seed}-generator={GENERATOR_FINGERPRINT}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(folder.parent / ".lock"):
        if not folder.is_dir():
            remove_orphaned_temporaries(folder.parent)
            tmp = temporary_sibling(folder)
            write_sample_snapshot(tmp, snapshot_date, scale, seed)
            os.replace(tmp, folder)
    return folder
