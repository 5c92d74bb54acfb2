"""Clean layer: one typed Parquet table per IMDb file, with its quarantined lines and nulled values beside it."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from media_assets import owners
from media_assets.clean import compiled_reader, schemas, transforms
from media_assets.clean.storage import Assumption, SideTable, TableWithSideTables, store_clean_tables
from media_assets.clean.transforms import (
    CleanPlan,
    clean_name_basics,
    clean_title_basics,
    clean_title_principals,
    clean_title_ratings,
)
from media_assets.partitions import daily_partitions, partition_date
from media_assets.priorities import CRITICAL_PATH_OP_TAGS, LONGEST_STEP_OP_TAGS
from media_assets.resources import DataLake
from media_assets.sources import imdb_files, raw_files
from media_assets.sources.archive import (
    archived_sha256,
    invalid_utf8_path,
    read_archived,
    readable_copy,
    repaired_path,
)
from media_assets.sources.assets import raw_asset_key
from media_assets.sources.imdb_files import NAME_BASICS, TITLE_BASICS, TITLE_PRINCIPALS, TITLE_RATINGS, ImdbFile

CLEAN_GROUP = "clean"
CLEAN_CODE_VERSION = hashlib.sha256(
    b"".join(
        Path(module.__file__).read_bytes() for module in (transforms, compiled_reader, schemas, imdb_files, raw_files)
    )
).hexdigest()[:16]
"""Changes whenever the code that turns a raw file into its clean tables changes: the asset's `code_version`, and
half of what a stored clean table is reused on (the other half is the raw file's sha256)."""

_COMMON_DESCRIPTION = (
    "Read in one streaming pass from the raw file: `\\N` as null, ids as integers (`tt0111161` -> 111161). Lines "
    "that cannot become a row (not UTF-8, wrong field count, bad id or required value, repeated key) go to "
    "`quarantine/<partition>/{dataset}.quarantined.parquet` (line_number, reason, raw_line, raw_bytes), counted by "
    "reason in "
    "`quarantined_by_reason`; values set to null because they did not parse or were out of range go to "
    "`{dataset}.nulled.parquet` (line_number, field, raw_value), counted in `nulled_by_field`."
)


@dataclass(frozen=True)
class CleanStep:
    """What differs between the clean assets."""

    imdb_file: ImdbFile
    clean: Callable[[Path, date, bool, Path | None], CleanPlan]
    summary: str
    longest: bool = False
    """The longest step of a run (title.principals): started before the others."""


CLEAN_STEPS = (
    CleanStep(
        TITLE_BASICS,
        clean_title_basics,
        "One row per title (title_id): type, titles, adult flag, start/end years (1870..snapshot year + 30), runtime "
        "in minutes and genres as a list.",
    ),
    CleanStep(
        TITLE_RATINGS,
        clean_title_ratings,
        "One row per rated title (title_id): IMDb's weighted average rating (1-10) and its number of votes.",
    ),
    CleanStep(
        NAME_BASICS,
        clean_name_basics,
        "One row per person (person_id): name, birth/death years (1..snapshot year), professions and known-for "
        "titles (title ids) as lists.",
    ),
    CleanStep(
        TITLE_PRINCIPALS,
        clean_title_principals,
        "One row per principal credit (title_id, ordering): the person (person_id), category, job and the "
        "characters played (IMDb's JSON array, checked).",
        longest=True,
    ),
)


def clean_asset_key(imdb_file: ImdbFile) -> dg.AssetKey:
    return dg.AssetKey(f"clean_{imdb_file.asset_suffix}")


def clean_output(
    step: CleanStep, raw_path: Path, snapshot_date: date, quarantine_dir: Path, content_path: Path | None = None
) -> TableWithSideTables:
    """What a clean asset stores: the table, its quarantine and nulled values, from one pass over `content_path`
    (`raw_path` itself, or for a compacted file the copy `archive.readable_copy` reconstructed).

    The pass assumes the keys ascend, as in IMDb's files (repeated keys are then found holding nothing in memory);
    when they do not, that pass is discarded and the order-independent plan is written instead. Stored tables
    built from the same raw file (sha256) by the same code are kept as they are. A raw file with lines that are
    not UTF-8 is read from the repaired copy the raw layer made, and those lines are quarantined.
    """
    dataset = step.imdb_file.dataset
    archived = read_archived(raw_path)
    if archived is not None and archived.invalid_utf8_lines:
        scan_path, invalid_utf8 = repaired_path(raw_path), invalid_utf8_path(raw_path)
    else:
        scan_path, invalid_utf8 = content_path or raw_path, None

    def output(plan: CleanPlan, assumption: Assumption | None = None) -> TableWithSideTables:
        return TableWithSideTables(
            plan.table,
            side_tables=(
                SideTable(
                    "quarantined",
                    quarantine_dir / f"{dataset}.quarantined.parquet",
                    plan.quarantined,
                    count_by="reason",
                ),
                SideTable(
                    "nulled",
                    quarantine_dir / f"{dataset}.nulled.parquet",
                    plan.nulled,
                    count_by="field",
                    holds_input_rows=False,
                ),
            ),
            source=raw_path,
            source_version=f"{archived_sha256(raw_path)}:{CLEAN_CODE_VERSION}",
            assumption=assumption,
        )

    sorted_plan = step.clean(scan_path, snapshot_date, True, invalid_utf8)
    return output(
        sorted_plan,
        Assumption(
            "keys_in_order",
            holds=sorted_plan.keys_in_order,
            fallback=lambda: output(step.clean(scan_path, snapshot_date, False, invalid_utf8)),
        ),
    )


def build_clean_asset(step: CleanStep) -> dg.AssetsDefinition:
    """The clean asset of one IMDb file."""
    imdb_file = step.imdb_file

    @dg.asset(
        key=clean_asset_key(imdb_file),
        partitions_def=daily_partitions,
        deps=[raw_asset_key(imdb_file)],
        group_name=CLEAN_GROUP,
        kinds={"polars", "parquet"},
        owners=owners.DATA_ENGINEERING,
        tags={"layer": "clean"},
        op_tags=LONGEST_STEP_OP_TAGS if step.longest else CRITICAL_PATH_OP_TAGS,
        code_version=CLEAN_CODE_VERSION,
        description=f"Cleaned IMDb `{imdb_file.dataset}`. {step.summary} "
        + _COMMON_DESCRIPTION.format(dataset=imdb_file.dataset),
    )
    def clean_file(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
        # Written here, not by the IO manager: one pass makes three files, and unchanged ones are kept. The table
        # lands where the IO manager loads it from for the assets downstream.
        partition_key = context.partition_key
        raw_path = data_lake.raw_dir(partition_key) / imdb_file.file_name
        table_path = data_lake.table_path(context.asset_key.to_user_string(), partition_key)
        # A day retention compacted is read from its content, reconstructed for this step and checked by sha256.
        with readable_copy(raw_path) as content_path:
            output = clean_output(
                step, raw_path, partition_date(partition_key), data_lake.quarantine_dir(partition_key), content_path
            )
            return dg.MaterializeResult(metadata=store_clean_tables(table_path, output))

    return clean_file


clean_assets = [build_clean_asset(step) for step in CLEAN_STEPS]
