"""Stand-in until the quality audit lands: where an attempt's report is, its failed gates, its publication."""

import json
from pathlib import Path
from typing import Any

from media_assets.atomic_files import write_json_atomically
from media_assets.resources import DataLake

QUALITY_FILE = "quality.json"


def attempt_report_path(data_lake: DataLake, partition_key: str, generation: str) -> Path:
    return data_lake.quality_dir(partition_key) / "attempts" / f"{generation}.json"


def failed_gates(report: dict[str, Any]) -> list[str]:
    return sorted(name for name, gate in report["gates"].items() if gate["passed"] is False)


def record_publication(data_lake: DataLake, partition_key: str, generation: str, waiver: dict | None) -> None:
    path = attempt_report_path(data_lake, partition_key, generation)
    report = json.loads(path.read_text(encoding="utf-8"))
    report |= {"published": True, "published_run": generation, "waiver": waiver}
    write_json_atomically(path, report)
    write_json_atomically(data_lake.quality_dir(partition_key) / QUALITY_FILE, report)
