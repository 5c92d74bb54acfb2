"""Small files written whole or not at all."""

import json
import os
import uuid
from pathlib import Path
from typing import Any


def write_json_atomically(path: Path, payload: Any) -> int:
    """Write `payload` as indented JSON through a uniquely named temporary sibling renamed into place (so neither a
    crash nor a second process writing the same file leaves half a file); returns the size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.stat().st_size
