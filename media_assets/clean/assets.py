"""Clean layer: one typed Parquet table per IMDb file, with its quarantined lines and nulled values beside it."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from media_assets.clean.transforms import (
    CleanPlan,
    clean_name_basics,
    clean_title_basics,
    clean_title_principals,
    clean_title_ratings,
)
from media_assets.io_managers import SideTable, TableWithSideTables
from media_assets.jobs import HEAVY_TAG_KEY
from media_assets.partitions import daily_partitions, partition_date
from media_assets.resources import DataLake
from media_assets.sources.assets import raw_asset_key
from media_assets.sources.imdb_files import NAME_BASICS, TITLE_BASICS, TITLE_PRINCIPALS, TITLE_RATINGS, ImdbFile

CLEAN_GROUP = "clean"
HEAVY_TAGS = {HEAVY_TAG_KEY: "true"}
"""Steps the executor runs one at a time (the two largest files)."""

_COMMON_DESCRIPTION = (
    "Read in one streaming pass from the raw file: `\\N` as null, ids as integers (`tt0111161` -> 111161). Lines "
    "that cannot become a row (wrong field count, bad id or required value, repeated key) go to "
    "`quarantine/<partition>/{dataset}.quarantined.parquet` (line_number, reason, raw_line), counted by reason in "
    "`quarantined_by_reason`; values set to null because they did not parse or were out of range go to "
    "`{dataset}.nulled.parquet` (line_number, field, raw_value), counted in `nulled_by_field`."
)


@dataclass(frozen=True)
class CleanStep:
    """What differs between the clean assets."""

    imdb_file: ImdbFile
    clean: Callable[[Path, date], CleanPlan]
    summary: str
    heavy: bool = False


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
        heavy=True,
    ),
    CleanStep(
        TITLE_PRINCIPALS,
        clean_title_principals,
        "One row per principal credit (title_id, ordering): the person (person_id), category, job and the "
        "characters played as a list.",
        heavy=True,
    ),
)


def clean_asset_key(imdb_file: ImdbFile) -> dg.AssetKey:
    return dg.AssetKey(f"clean_{imdb_file.asset_suffix}")


def build_clean_asset(step: CleanStep) -> dg.AssetsDefinition:
    """The clean asset of one IMDb file."""
    imdb_file = step.imdb_file

    @dg.asset(
        key=clean_asset_key(imdb_file),
        partitions_def=daily_partitions,
        deps=[raw_asset_key(imdb_file)],
        group_name=CLEAN_GROUP,
        kinds={"polars", "parquet"},
        owners=["team:data-engineering"],
        tags={"layer": "clean", **(HEAVY_TAGS if step.heavy else {})},
        # The executor sees op tags only.
        op_tags=HEAVY_TAGS if step.heavy else None,
        description=f"Cleaned IMDb `{imdb_file.dataset}`. {step.summary} "
        + _COMMON_DESCRIPTION.format(dataset=imdb_file.dataset),
    )
    def clean_file(context: dg.AssetExecutionContext, data_lake: DataLake) -> TableWithSideTables:
        partition_key = context.partition_key
        raw_path = data_lake.raw_dir(partition_key) / imdb_file.file_name
        plan = step.clean(raw_path, partition_date(partition_key))
        quarantine_dir = data_lake.quarantine_dir(partition_key)
        return TableWithSideTables(
            plan.table,
            side_tables=(
                SideTable(
                    "quarantined",
                    quarantine_dir / f"{imdb_file.dataset}.quarantined.parquet",
                    plan.quarantined,
                    count_by="reason",
                ),
                SideTable(
                    "nulled",
                    quarantine_dir / f"{imdb_file.dataset}.nulled.parquet",
                    plan.nulled,
                    count_by="field",
                    holds_input_rows=False,
                ),
            ),
        )

    return clean_file


clean_assets = [build_clean_asset(step) for step in CLEAN_STEPS]
