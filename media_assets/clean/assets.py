"""Clean layer: one typed Parquet table per IMDb file, with its quarantined lines and nulled values beside it, built
in the same step as the file's raw asset (`build_file_assets`)."""

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from media_assets import owners
from media_assets.clean import compiled_reader, schemas, transforms
from media_assets.clean.storage import (
    SOURCE_VERSION_KEY,
    Assumption,
    SideTable,
    TableWithSideTables,
    describe_clean_tables,
    store_clean_tables,
)
from media_assets.clean.transforms import (
    CleanPlan,
    clean_name_basics,
    clean_title_basics,
    clean_title_principals,
    clean_title_ratings,
)
from media_assets.io_managers import NULL_COUNTS_ONLY, write_parquet_atomically
from media_assets.partitions import daily_partitions, partition_date
from media_assets.priorities import CRITICAL_PATH_OP_TAGS, LONGEST_STEP_OP_TAGS
from media_assets.resources import DataLake
from media_assets.retries import NETWORK_RETRY_POLICY
from media_assets.sources import imdb_files, raw_files
from media_assets.sources.archive import (
    ArchiveText,
    Outcome,
    ReadAlong,
    archived_sha256,
    invalid_utf8_path,
    read_archived,
    readable_copy,
    repaired_path,
)
from media_assets.sources.assets import (
    ARCHIVE_CHECK_NAME,
    archive_check_result,
    archive_check_spec,
    materialize_raw,
    raw_asset_key,
    raw_asset_spec,
)
from media_assets.sources.imdb_files import NAME_BASICS, TITLE_BASICS, TITLE_PRINCIPALS, TITLE_RATINGS, ImdbFile
from media_assets.sources.imdb_source import ImdbSource

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
    clean: Callable[[Path, date, bool, Path | None, Iterable[bytes] | None], CleanPlan]
    """`transforms.clean_<dataset>`: raw file, snapshot day, keys sorted, lines not UTF-8, the text read along."""
    summary: str
    longest: bool = False
    """The longest step of a run (title.principals): started before the others."""
    reads_along: bool = True
    """Its reader takes the text of a file being archived (the compiled readers; title.ratings is read by polars
    from the archived file)."""


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
        reads_along=False,
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
    archived = read_archived(raw_path)
    if archived is not None and archived.invalid_utf8_lines:
        scan_path, invalid_utf8 = repaired_path(raw_path), invalid_utf8_path(raw_path)
    else:
        scan_path, invalid_utf8 = content_path or raw_path, None
    source_version = source_version_of(archived_sha256(raw_path))

    def output(plan: CleanPlan, assumption: Assumption | None = None) -> TableWithSideTables:
        return TableWithSideTables(
            plan.table,
            side_tables(step, plan, quarantine_dir),
            source=raw_path,
            source_version=source_version,
            assumption=assumption,
        )

    sorted_plan = step.clean(scan_path, snapshot_date, True, invalid_utf8, None)
    return output(
        sorted_plan,
        Assumption(
            "keys_in_order",
            holds=sorted_plan.keys_in_order,
            fallback=lambda: output(step.clean(scan_path, snapshot_date, False, invalid_utf8, None)),
        ),
    )


def source_version_of(raw_sha256: str) -> str:
    """What a clean table's footer records it was made from: the raw file's sha256 and the clean code's version."""
    return f"{raw_sha256}:{CLEAN_CODE_VERSION}"


def side_tables(step: CleanStep, plan: CleanPlan, quarantine_dir: Path) -> tuple[SideTable, ...]:
    """Where a clean plan's quarantined lines and nulled values are stored, and how they are counted."""
    dataset = step.imdb_file.dataset
    return (
        SideTable(
            "quarantined", quarantine_dir / f"{dataset}.quarantined.parquet", plan.quarantined, count_by="reason"
        ),
        SideTable(
            "nulled",
            quarantine_dir / f"{dataset}.nulled.parquet",
            plan.nulled,
            count_by="field",
            holds_input_rows=False,
        ),
    )


def clean_while_archiving(
    step: CleanStep, text: ArchiveText, raw_path: Path, snapshot_date: date, quarantine_dir: Path, table_path: Path
) -> dict[str, dg.MetadataValue | int] | None:
    """Clean `text`, the file being archived at `raw_path`, as it is copied: the raw layer's inflate serves both.

    The tables replace the stored ones only once the file is archived (the text's last block was read) and is what
    was read: its metadata then; None when it must be cleaned from the archive instead (keys out of order, lines
    that are not UTF-8: the archive's repaired copy and list of them are made at the end) or not at all (a live
    source with no new release)."""
    plan = step.clean(raw_path, snapshot_date, True, None, text)
    sides = side_tables(step, plan, quarantine_dir)
    frames = {table_path: plan.table} | {side.path: side.frame for side in sides}

    def archived_as_read() -> bool:
        result = text.result
        return result.outcome in (Outcome.FETCHED, Outcome.UNCHANGED) and not result.archived.invalid_utf8_lines

    written = write_parquet_atomically(
        frames,
        footer=lambda: {SOURCE_VERSION_KEY: source_version_of(text.result.archived.sha256)},
        condition=plan.keys_in_order,
        statistics=NULL_COUNTS_ONLY,
        before_replace=archived_as_read,
    )
    if not written:
        return None
    return describe_clean_tables(table_path, sides, {"reused": False, "keys_in_order": True, "read_with_raw": True})


def clean_asset_spec(step: CleanStep) -> dg.AssetSpec:
    imdb_file = step.imdb_file
    return dg.AssetSpec(
        clean_asset_key(imdb_file),
        deps=[raw_asset_key(imdb_file)],
        partitions_def=daily_partitions,
        group_name=CLEAN_GROUP,
        kinds={"polars", "parquet"},
        owners=owners.DATA_ENGINEERING,
        tags={"layer": "clean"},
        code_version=CLEAN_CODE_VERSION,
        # Not materialized when its raw file is not (a live source with no new release).
        skippable=True,
        description=f"Cleaned IMDb `{imdb_file.dataset}`. {step.summary} "
        + _COMMON_DESCRIPTION.format(dataset=imdb_file.dataset),
    )


def build_file_assets(step: CleanStep) -> dg.AssetsDefinition:
    """The raw and the clean asset of one IMDb file, and the raw file's archive check, in one step.

    A new file is cleaned as it is copied and checked (`clean_while_archiving`), so its gzip is inflated once and the
    clean read does not wait for the copy to end. Measured at full scale (one first day, 2 cores): title.principals
    took a raw step of 15.5 s then a clean step of 49.4 s (ending 67.9 s into the run); its one step takes 57.3 s
    (ending at 59.8 s), and the run 89.3 s instead of 100.0. The tables are the bytes a clean from the archive
    writes. Either asset can be materialized alone (the clean one from the archive), and an archived file's check
    runs before a clean table is built from it."""
    imdb_file = step.imdb_file
    raw_key, clean_key = raw_asset_key(imdb_file), clean_asset_key(imdb_file)
    check_key = dg.AssetCheckKey(raw_key, ARCHIVE_CHECK_NAME)

    @dg.multi_asset(
        name=imdb_file.asset_suffix,
        specs=[raw_asset_spec(imdb_file), clean_asset_spec(step)],
        check_specs=[archive_check_spec(imdb_file)],
        partitions_def=daily_partitions,
        can_subset=True,
        # A server that is down for minutes does not fail the day: the step runs again after 30, 90 and 210 s.
        retry_policy=NETWORK_RETRY_POLICY,
        op_tags=LONGEST_STEP_OP_TAGS if step.longest else CRITICAL_PATH_OP_TAGS,
    )
    def imdb_file_step(
        context: dg.AssetExecutionContext, imdb_source: ImdbSource, data_lake: DataLake
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        partition_key = context.partition_key
        raw_path = data_lake.raw_dir(partition_key) / imdb_file.file_name
        table_path = data_lake.table_path(clean_key.to_user_string(), partition_key)
        quarantine_dir = data_lake.quarantine_dir(partition_key)
        snapshot_date = partition_date(partition_key)
        cleaning = clean_key in context.selected_asset_keys
        cleaned: dict[str, dg.MetadataValue | int] | None = None
        fetched = False
        if raw_key in context.selected_asset_keys:

            def clean_along(text: ArchiveText) -> None:
                nonlocal cleaned
                cleaned = clean_while_archiving(step, text, raw_path, snapshot_date, quarantine_dir, table_path)

            read_along = (
                ReadAlong(clean_along, compiled_reader.BLOCK_INPUT_BYTES) if cleaning and step.reads_along else None
            )
            raw = materialize_raw(context, imdb_file, imdb_source, data_lake, read_along)
            if raw is None:
                return  # no new release: neither asset is materialized
            fetched = raw.metadata["fetched"]
            yield raw
        if check_key in context.selected_asset_check_keys:
            check = archive_check_result(imdb_file, data_lake, partition_key, hashed_in_this_step=fetched)
            yield check
            if not check.passed:
                return  # blocking: no clean table from an archive that changed
        if not cleaning:
            return
        if cleaned is None:
            # Written here, not by the IO manager: one pass makes three files, and unchanged ones are kept. The
            # table lands where the IO manager loads it from for the assets downstream. A day retention compacted
            # is read from its content, reconstructed for this step and checked by sha256.
            with readable_copy(raw_path) as content_path:
                output = clean_output(step, raw_path, snapshot_date, quarantine_dir, content_path)
                cleaned = store_clean_tables(table_path, output)
        yield dg.MaterializeResult(asset_key=clean_key, metadata=cleaned)

    return imdb_file_step


file_assets = [build_file_assets(step) for step in CLEAN_STEPS]
