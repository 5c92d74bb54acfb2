"""The `file` source and the clean layer over real IMDb rows: nothing real is quarantined or nulled, and every
value comes through exactly as a plain-Python reading of the TSV says.

Runs over each folder of `<repo>/../shared/imdb-real-samples` when it is there, and always over the excerpt
copied into `fixtures/real` (see its PROVENANCE.md).
"""

import gzip
import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from media_assets.clean.assets import clean_asset_key, file_assets
from media_assets.clean.schemas import decoded_characters
from media_assets.io_managers import ParquetIOManager
from media_assets.resources import DataLake
from media_assets.sources.imdb_files import IMDB_FILES, TITLE_PRINCIPALS
from media_assets.sources.imdb_source import FileImdbSource
from media_assets_tests.dagster_support import materialization_of

REPO = Path(__file__).resolve().parents[1]
SHARED_SAMPLES = REPO.parent / "shared" / "imdb-real-samples"
FIXTURE_SAMPLES = Path(__file__).parent / "fixtures" / "real"
PARTITION = "2026-01-15"
SNAPSHOT_YEAR = 2026
NULL = "\\N"


def folders(root: Path) -> list[Path]:
    return sorted(path for path in root.iterdir() if path.is_dir()) if root.is_dir() else []


def data_lines(path: Path) -> list[list[str]]:
    """The data lines of a plain TSV, split on tabs (no csv module: IMDb never quotes)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.split("\t") for line in lines[1:]]


def value(text: str) -> str | None:
    return None if text == NULL else text


def number(text: str) -> int | None:
    return None if text == NULL else int(text)


def year(text: str, first: int, last: int) -> int | None:
    parsed = number(text)
    return parsed if parsed is not None and first <= parsed <= last else None


def json_text(text: str) -> str:
    """A characters value as written, once the standard library has read it as a JSON array of strings."""
    names = json.loads(text)
    assert isinstance(names, list) and all(isinstance(name, str) for name in names), text
    return text


def comma_list(text: str) -> list[str] | None:
    if text == NULL:
        return None
    return [] if text == "" else text.split(",")


def expected_tables(folder: Path) -> dict[str, list[tuple]]:
    """Each clean table as plain Python reads the folder's TSV files."""
    basics = [
        (
            int(t[0][2:]),
            t[0],
            value(t[1]),
            value(t[2]),
            value(t[3]),
            {"0": False, "1": True}.get(t[4]),
            year(t[5], 1870, SNAPSHOT_YEAR + 30),
            year(t[6], 1870, SNAPSHOT_YEAR + 30),
            number(t[7]),
            comma_list(t[8]),
        )
        for t in data_lines(folder / "title.basics.tsv")
    ]
    ratings = [(int(r[0][2:]), r[0], float(r[1]), int(r[2])) for r in data_lines(folder / "title.ratings.tsv")]
    names = [
        (
            int(n[0][2:]),
            n[0],
            value(n[1]),
            year(n[2], 1, SNAPSHOT_YEAR),
            year(n[3], 1, SNAPSHOT_YEAR),
            comma_list(n[4]),
            None if n[5] == NULL else [int(t[2:]) for t in comma_list(n[5])],
        )
        for n in data_lines(folder / "name.basics.tsv")
    ]
    principals = [
        (int(p[0][2:]), int(p[1]), int(p[2][2:]), value(p[3]), value(p[4]), None if p[5] == NULL else json_text(p[5]))
        for p in data_lines(folder / "title.principals.tsv")
    ]
    return {"title.basics": basics, "title.ratings": ratings, "name.basics": names, "title.principals": principals}


def materialize_folder(folder: Path, tmp_path: Path) -> tuple[DataLake, dict[str, dg.AssetMaterialization]]:
    """Gzip the folder's files into a dated mirror (a header-only file for a missing one) and materialize the raw
    and clean assets of all four files from it with the `file` source."""
    mirror = tmp_path / "mirror" / PARTITION
    mirror.mkdir(parents=True)
    for imdb_file in IMDB_FILES:
        source = folder / f"{imdb_file.dataset}.tsv"
        content = source.read_bytes() if source.exists() else (imdb_file.header_line + "\n").encode()
        (mirror / imdb_file.file_name).write_bytes(gzip.compress(content))
    data_lake = DataLake(root=str(tmp_path / "data"))
    result = dg.materialize(
        file_assets,
        partition_key=PARTITION,
        resources={
            "imdb_source": FileImdbSource(folder=str(mirror.parent / "{date}")),
            "data_lake": data_lake,
            "io_manager": ParquetIOManager(data_lake=data_lake),
        },
    )
    assert result.success
    materializations = {
        imdb_file.dataset: materialization_of(result, clean_asset_key(imdb_file)) for imdb_file in IMDB_FILES
    }
    return data_lake, materializations


def check_folder(folder: Path, tmp_path: Path) -> dict[str, list[tuple]]:
    """Every real line of the folder becomes exactly its expected row; returns the cleaned rows by dataset, with
    the characters decoded as the model decodes them (checked against the standard library's reading)."""
    data_lake, materializations = materialize_folder(folder, tmp_path)
    expected = expected_tables(folder)
    cleaned = {}
    for imdb_file in IMDB_FILES:
        dataset = imdb_file.dataset
        metadata = {key: entry.value for key, entry in materializations[dataset].metadata.items()}
        assert metadata["quarantined_rows"] == 0, f"{folder.name}/{dataset}: {metadata['quarantined_by_reason']}"
        assert metadata["nulled_rows"] == 0, f"{folder.name}/{dataset}: {metadata['nulled_by_field']}"
        table = pl.read_parquet(data_lake.table_path(clean_asset_key(imdb_file).path[-1], PARTITION))
        assert table.rows() == expected[dataset], f"{folder.name}/{dataset}"
        if imdb_file == TITLE_PRINCIPALS:
            names = table.select(decoded_characters(pl.col("characters")))["characters"]
            assert names.to_list() == [None if text is None else json.loads(text) for text in table["characters"]]
            table = table.with_columns(characters=names)
        cleaned[dataset] = table.rows()
    return cleaned


def quirks(cleaned: dict[str, list[tuple]]) -> set[str]:
    """Which of the real data's traps a folder's cleaned rows contain."""
    found = set()
    ids = [row[1] for row in cleaned["title.basics"] + cleaned["title.ratings"] + cleaned["name.basics"]]
    if any(len(text_id) == 9 for text_id in ids):
        found.add("7-digit id")
    if any(len(text_id) == 10 for text_id in ids):
        found.add("8-digit id")
    texts = [row[2] for row in cleaned["name.basics"]] + [row[4] for row in cleaned["title.principals"]]
    if any(text is not None and '"' in text for text in texts):
        found.add("bare quote")
    if any(row[5] is not None and len(row[5]) > 1 for row in cleaned["title.principals"]):
        found.add("several characters")
    if any(row[5] is not None and any('"' in name for name in row[5]) for row in cleaned["title.principals"]):
        found.add("escaped quote in characters")
    if any(row[5] == [] for row in cleaned["name.basics"]):
        found.add("empty profession")
    return found


ALL_QUIRKS = {
    "7-digit id",
    "8-digit id",
    "bare quote",
    "several characters",
    "escaped quote in characters",
    "empty profession",
}

KNOWN_ROWS = {
    # Read off the TSV by eye: a bare-quoted name, an empty profession, a 1500s birth year, several characters.
    "name.basics": [
        (
            5533924,
            "nm5533924",
            'Stephen "Dr" Love',
            None,
            None,
            ["producer", "actor"],
            [11092020, 9324808, 10644644, 9873892],
        ),
        (290950, "nm0290950", "Hans Frank", 1900, 1946, [], [362236, 244109, 441889, 25913]),
        (
            636,
            "nm0000636",
            "William Shakespeare",
            1564,
            1616,
            ["writer", "soundtrack", "miscellaneous"],
            [8632012, 14297038, 10095582, 3894536],
        ),
    ],
    "title.principals": [
        (9806370, 1, 3586035, "actress", None, ["Mary", "Jane"]),
        (9806370, 8, 1241506, "writer", 'based on the graphic novel "Une nuit de pleine lune" by', None),
        (9838694, 1, 93671, "actress", None, ['Woman - (segment: "Fire Woman")']),
    ],
}


def check_known_rows(cleaned_by_folder: dict[str, dict[str, list[tuple]]]) -> None:
    for dataset, rows in KNOWN_ROWS.items():
        everything = [row for cleaned in cleaned_by_folder.values() for row in cleaned[dataset]]
        for row in rows:
            assert row in everything, row


def test_fixture_excerpt_comes_through_exactly(tmp_path: Path):
    cleaned_by_folder = {
        folder.name: check_folder(folder, tmp_path / folder.name) for folder in folders(FIXTURE_SAMPLES)
    }
    assert set(cleaned_by_folder) == {"pimdb-2020", "ocheretko-2022-excerpt"}
    assert set().union(*map(quirks, cleaned_by_folder.values())) == ALL_QUIRKS
    check_known_rows(cleaned_by_folder)


@pytest.mark.skipif(not SHARED_SAMPLES.is_dir(), reason=f"{SHARED_SAMPLES} is absent (the fixture excerpt still runs)")
def test_shared_real_samples_come_through_exactly(tmp_path: Path):
    cleaned_by_folder = {
        folder.name: check_folder(folder, tmp_path / folder.name) for folder in folders(SHARED_SAMPLES)
    }
    assert len(cleaned_by_folder) >= 3
    assert set().union(*map(quirks, cleaned_by_folder.values())) == ALL_QUIRKS
    check_known_rows(cleaned_by_folder)
    # The ratings file katzi23-2025 has in full (132,011 lines) is all there.
    assert len(cleaned_by_folder["katzi23-2025"]["title.ratings"]) == 132_011
