"""Clean layer on hand-written raw files: every nasty case with its exact row, quarantine line or nulled value."""

import gzip
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest

from media_assets.clean.assets import CLEAN_CODE_VERSION, CLEAN_STEPS, clean_output, file_assets
from media_assets.clean.schemas import (
    CLEAN_NAME_BASICS_SCHEMA,
    CLEAN_TITLE_BASICS_SCHEMA,
    CLEAN_TITLE_PRINCIPALS_SCHEMA,
    CLEAN_TITLE_RATINGS_SCHEMA,
    decoded_characters,
)
from media_assets.clean.storage import SourceReadError, store_table_with_side_tables
from media_assets.clean.transforms import (
    NULLED_SCHEMA,
    QUARANTINE_SCHEMA,
    CleanPlan,
    clean_name_basics,
    clean_title_basics,
    clean_title_principals,
    clean_title_ratings,
)
from media_assets.io_managers import ParquetIOManager
from media_assets.resources import DataLake
from media_assets.sources.imdb_files import NAME_BASICS, TITLE_BASICS, TITLE_PRINCIPALS, TITLE_RATINGS, ImdbFile
from media_assets.sources.imdb_source import FileImdbSource
from media_assets.sources.raw_files import RawFileError
from media_assets_tests.dagster_support import materialization_of

SNAPSHOT = date(2026, 1, 15)
"""Title years may go up to 2056, person years up to 2026."""


def write_raw(
    path: Path, imdb_file: ImdbFile, lines: list[str], line_end: str = "\n", final_line_end: bool = True
) -> Path:
    """A gzipped raw file: the official header, then `lines` as given (tabs and all)."""
    body = line_end.join([imdb_file.header_line, *lines]) + (line_end if final_line_end else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(body.encode("utf-8")))
    return path


def run(plan: CleanPlan) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    table, quarantined, nulled = pl.collect_all([plan.table, plan.quarantined, plan.nulled], engine="streaming")
    return table, quarantined, nulled


def tsv(*fields: str) -> str:
    return "\t".join(fields)


def quarantined_rows(lines: list[str], reasons: dict[int, str]) -> list[tuple[int, str, str]]:
    """The expected quarantine rows (line number, reason, raw line) of the data lines `lines` of a file, from the
    reason of each quarantined line number (the header is line 1, so `lines[0]` is line 2)."""
    return [(number, reason, lines[number - 2]) for number, reason in reasons.items()]


N = "\\N"

TITLE_BASICS_LINES = [
    tsv("tt0000001", "short", "Carmencita", "Carmencita", "0", "1894", N, "1", "Documentary,Short"),  # line 2
    tsv("tt0111161", "movie", '"Quoted" start', '"Quoted" start', "0", "1994", N, "142", "Drama"),
    tsv("tt10872600", "movie", 'Unbalanced " quote', 'Unbalanced " quote', "0", "2021", N, "148", "Action,Adventure"),
    tsv("tt0000005", "tvSeries", N, N, N, N, N, N, N),  # line 5: \N everywhere
    tsv("tt0000006", "movie", "Junk runtime", "Junk runtime", "0", "2000", N, "Reality-TV", "Drama"),
    tsv("tt0000007", "movie", "Out of range", "Out of range", "2", "1850", "2099", "0", "Drama"),  # line 7
    tsv("tt0000008", "movie", "Too many", "Too many", "0", "2000", N, "90", "Drama", "extra"),
    tsv("tt0000009", "movie", "Too few", "Too few", "0", "2000", N, "90"),  # line 9
    tsv("xx0000010", "movie", "Bad id", "Bad id", "0", "2000", N, "90", "Drama"),
    tsv("tt0000001", "short", "Duplicate", "Duplicate", "0", "1894", N, "1", "Short"),  # line 11
    tsv("tt0000012", "movie", "Edges", "Edges", "1", "1870", "2056", "1500", ""),
    "",  # line 13: an empty line
    tsv("tt123456", "movie", "Six digits", "Six digits", "0", "2000", N, "90", "Drama"),  # line 14
]


def test_title_basics_every_case(tmp_path: Path):
    raw = write_raw(tmp_path / "title.basics.tsv.gz", TITLE_BASICS, TITLE_BASICS_LINES)
    table, quarantined, nulled = run(clean_title_basics(raw, SNAPSHOT))

    assert table.schema == CLEAN_TITLE_BASICS_SCHEMA
    assert table.rows() == [
        (1, "tt0000001", "short", "Carmencita", "Carmencita", False, 1894, None, 1, ["Documentary", "Short"]),
        (111161, "tt0111161", "movie", '"Quoted" start', '"Quoted" start', False, 1994, None, 142, ["Drama"]),
        (
            10872600,
            "tt10872600",
            "movie",
            'Unbalanced " quote',
            'Unbalanced " quote',
            False,
            2021,
            None,
            148,
            ["Action", "Adventure"],
        ),
        (5, "tt0000005", "tvSeries", None, None, None, None, None, None, None),
        (6, "tt0000006", "movie", "Junk runtime", "Junk runtime", False, 2000, None, None, ["Drama"]),
        (7, "tt0000007", "movie", "Out of range", "Out of range", None, None, None, 0, ["Drama"]),
        (12, "tt0000012", "movie", "Edges", "Edges", True, 1870, 2056, 1500, []),
    ]
    assert quarantined.schema == QUARANTINE_SCHEMA
    assert quarantined["raw_bytes"].null_count() == quarantined.height  # only lines that are not UTF-8 have bytes
    assert quarantined.drop("raw_bytes").rows() == quarantined_rows(
        TITLE_BASICS_LINES,
        {
            8: "wrong_field_count",
            9: "wrong_field_count",
            10: "bad_tconst",
            11: "duplicate_key",
            13: "wrong_field_count",
            14: "bad_tconst",
        },
    )
    assert nulled.schema == NULLED_SCHEMA
    assert nulled.rows() == [
        (6, "runtimeMinutes", "Reality-TV"),
        (7, "isAdult", "2"),
        (7, "startYear", "1850"),
        (7, "endYear", "2099"),
        (12, "genres", ""),  # an empty value is a blank genre token, not IMDb's `\N`
    ]
    # Every data line is in exactly one of the two outputs.
    assert len(table) + len(quarantined) == len(TITLE_BASICS_LINES)


def test_crlf_line_ends_a_last_line_without_line_end_and_an_all_null_column(tmp_path: Path):
    lines = [
        tsv("tt0000001", "short", "Carmencita", "Carmencita", "0", "1894", N, "1", "Documentary,Short"),
        tsv("tt0000002", "short", "Le clown", "Le clown", "0", "1892", N, "5", "Animation"),
    ]
    raw = write_raw(tmp_path / "title.basics.tsv.gz", TITLE_BASICS, lines, line_end="\r\n", final_line_end=False)
    table, quarantined, nulled = run(clean_title_basics(raw, SNAPSHOT))

    assert table.schema == CLEAN_TITLE_BASICS_SCHEMA  # endYear is all `\N`: still Int32, not String
    assert table.rows() == [
        (1, "tt0000001", "short", "Carmencita", "Carmencita", False, 1894, None, 1, ["Documentary", "Short"]),
        (2, "tt0000002", "short", "Le clown", "Le clown", False, 1892, None, 5, ["Animation"]),
    ]
    assert (quarantined.height, nulled.height) == (0, 0)


def test_header_only_file_gives_empty_typed_tables(tmp_path: Path):
    raw = write_raw(tmp_path / "title.principals.tsv.gz", TITLE_PRINCIPALS, [])
    table, quarantined, nulled = run(clean_title_principals(raw, SNAPSHOT))
    assert (table.schema, table.height) == (CLEAN_TITLE_PRINCIPALS_SCHEMA, 0)
    assert (quarantined.schema, quarantined.height) == (QUARANTINE_SCHEMA, 0)
    assert (nulled.schema, nulled.height) == (NULLED_SCHEMA, 0)


RATINGS_LINES = [
    tsv("tt0000001", "5.7", "2150"),  # line 2
    tsv("tt10872600", "8.1", "1000000"),
    tsv("tt0000003", N, "10"),  # line 4
    tsv("tt0000004", "11.0", "10"),
    tsv("tt0000005", "6.0", "many"),  # line 6
    tsv("tt0000006", "6.0", "-3"),
    tsv("tt0000001", "6.0", "5"),  # line 8
    tsv("tt0000009", "nan", "5"),
    tsv("tt0000010", "7.0"),  # line 10
    tsv("tt0000011", "1.0", "0"),
]


def test_title_ratings_every_case(tmp_path: Path):
    raw = write_raw(tmp_path / "title.ratings.tsv.gz", TITLE_RATINGS, RATINGS_LINES)
    table, quarantined, nulled = run(clean_title_ratings(raw, SNAPSHOT))

    assert table.schema == CLEAN_TITLE_RATINGS_SCHEMA
    assert table.rows() == [
        (1, "tt0000001", 5.7, 2150),
        (10872600, "tt10872600", 8.1, 1_000_000),
        (11, "tt0000011", 1.0, 0),
    ]
    assert quarantined.drop("raw_bytes").rows() == quarantined_rows(
        RATINGS_LINES,
        {
            4: "bad_averageRating",
            5: "bad_averageRating",
            6: "bad_numVotes",
            7: "bad_numVotes",
            8: "duplicate_key",
            9: "bad_averageRating",
            10: "wrong_field_count",
        },
    )
    assert nulled.height == 0


NAME_LINES = [
    tsv("nm0000636", "William Shakespeare", "1564", "1616", "writer,soundtrack", "tt8632012,tt14297038"),  # line 2
    tsv("nm0290950", "Hans Frank", "1900", "1946", "", "tt0362236"),  # empty profession
    tsv("nm5533924", 'Stephen "Dr" Love', N, N, "producer,actor", N),  # line 4
    tsv("nm0000004", "Future Born", "2027", N, "actor", "tt0000001,xx123,tt0000002"),
    tsv("nm0000005", "Year Zero", "0", N, N, "tt0000001"),  # line 6
    tsv("nm12345678", "Eight Digits", "1980", N, "actress", "tt10872600"),
    tsv("mm0000007", "Bad Id", "1980", N, "actor", N),  # line 8
    tsv("nm0000636", "Shakespeare Again", "1564", "1616", "writer", N),
    tsv("nm0000010", "Too Many", "1980", N, "actor", N, "x"),  # line 10
]


def test_name_basics_every_case(tmp_path: Path):
    raw = write_raw(tmp_path / "name.basics.tsv.gz", NAME_BASICS, NAME_LINES)
    table, quarantined, nulled = run(clean_name_basics(raw, SNAPSHOT))

    assert table.schema == CLEAN_NAME_BASICS_SCHEMA
    assert table.rows() == [
        (636, "nm0000636", "William Shakespeare", 1564, 1616, ["writer", "soundtrack"], [8632012, 14297038]),
        (290950, "nm0290950", "Hans Frank", 1900, 1946, [], [362236]),
        (5533924, "nm5533924", 'Stephen "Dr" Love', None, None, ["producer", "actor"], None),
        (4, "nm0000004", "Future Born", None, None, ["actor"], [1, 2]),
        (5, "nm0000005", "Year Zero", None, None, None, [1]),
        (12345678, "nm12345678", "Eight Digits", 1980, None, ["actress"], [10872600]),
    ]
    assert quarantined.drop("raw_bytes").rows() == quarantined_rows(
        NAME_LINES, {8: "bad_nconst", 9: "duplicate_key", 10: "wrong_field_count"}
    )
    assert nulled.rows() == [
        (5, "birthYear", "2027"),
        (5, "knownForTitles", "xx123"),
        (6, "birthYear", "0"),
    ]


PRINCIPAL_LINES = [
    tsv("tt0000001", "1", "nm0000001", "actor", N, '["Narrator","Jimmy \\"The Kid\\" Doyle"]'),  # line 2
    tsv("tt0000001", "2", "nm0000002", "writer", 'novel "X"', N),
    tsv("tt10872600", "1", "nm12345678", "actress", N, '["Caf\\u00e9","\\ud83d\\ude00","a\\\\b","Zoë"]'),  # line 4
    tsv("tt0000001", "3", "nm0000003", "self", N, "[Self]"),
    tsv("tt0000001", "x", "nm0000004", "actor", N, N),  # line 6
    tsv("tt0000001", "0", "nm0000005", "actor", N, N),
    tsv("tt0000002", "1", N, "actor", N, N),  # line 8
    tsv("tt0000001", "1", "nm0000009", "actor", N, '["Someone else"]'),
    tsv("tt0000003", "1", "nm0000010", "actor", N),  # line 10: too few fields, but a parseable key
    tsv("tt0000003", "1", "nm0000011", "director", N, N),
]


def test_title_principals_every_case(tmp_path: Path):
    raw = write_raw(tmp_path / "title.principals.tsv.gz", TITLE_PRINCIPALS, PRINCIPAL_LINES)
    table, quarantined, nulled = run(clean_title_principals(raw, SNAPSHOT))

    assert table.schema == CLEAN_TITLE_PRINCIPALS_SCHEMA
    assert table.rows() == [
        (1, 1, 1, "actor", None, '["Narrator","Jimmy \\"The Kid\\" Doyle"]'),
        (1, 2, 2, "writer", 'novel "X"', None),
        (10872600, 1, 12345678, "actress", None, '["Caf\\u00e9","\\ud83d\\ude00","a\\\\b","Zoë"]'),
        (1, 3, 3, "self", None, None),
        # The broken line 10 has the same key but does not take it: this good line is kept.
        (3, 1, 11, "director", None, None),
    ]
    assert table.select(decoded_characters(pl.col("characters")))["characters"].to_list() == [
        ["Narrator", 'Jimmy "The Kid" Doyle'],
        None,
        ["Café", "\U0001f600", "a\\b", "Zoë"],
        None,
        None,
    ]
    assert quarantined.drop("raw_bytes").rows() == quarantined_rows(
        PRINCIPAL_LINES,
        {6: "bad_ordering", 7: "bad_ordering", 8: "bad_nconst", 9: "duplicate_key", 10: "wrong_field_count"},
    )
    assert nulled.rows() == [(5, "characters", "[Self]")]


@pytest.mark.parametrize(
    "characters",
    ['["a"', '["\\x"]', '["\\ude00"]', '{"a":1}', "[1]", "[null]", '"a"', ""],
)
def test_characters_that_are_not_a_json_array_of_strings_are_nulled_not_fatal(tmp_path: Path, characters: str):
    line = tsv("tt0000001", "1", "nm0000001", "actor", N, characters)
    raw = write_raw(tmp_path / "title.principals.tsv.gz", TITLE_PRINCIPALS, [line])
    table, quarantined, nulled = run(clean_title_principals(raw, SNAPSHOT))
    assert table.rows() == [(1, 1, 1, "actor", None, None)]
    assert quarantined.height == 0
    assert nulled.rows() == [(2, "characters", characters)]


def test_wrong_header_fails_naming_file_expected_and_found(tmp_path: Path):
    raw = tmp_path / "title.ratings.tsv.gz"
    raw.write_bytes(gzip.compress(b"tconst\tnumVotes\taverageRating\ntt0000001\t10\t5.0\n"))
    with pytest.raises(RawFileError) as failure:
        clean_title_ratings(raw, SNAPSHOT)
    message = str(failure.value)
    assert str(raw) in message
    assert repr("tconst\taverageRating\tnumVotes") in message
    assert repr("tconst\tnumVotes\taverageRating") in message


PARTITION = "2026-01-15"


def test_materialized_clean_asset_records_rows_and_quarantine_by_reason(tmp_path: Path):
    mirror = tmp_path / "mirror"
    write_raw(mirror / PARTITION / TITLE_BASICS.file_name, TITLE_BASICS, TITLE_BASICS_LINES)
    data_lake = DataLake(root=str(tmp_path / "data"))
    result = dg.materialize(
        file_assets,
        selection=[dg.AssetKey("raw_title_basics"), dg.AssetKey("clean_title_basics")],
        partition_key=PARTITION,
        resources={
            "imdb_source": FileImdbSource(folder=str(mirror / "{date}")),
            "data_lake": data_lake,
            "io_manager": ParquetIOManager(data_lake=data_lake),
        },
    )

    assert result.success
    materialization = materialization_of(result, "clean_title_basics")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert metadata["dagster/row_count"] == 7
    assert metadata["quarantined_rows"] == 6
    assert metadata["quarantined_by_reason"] == {"wrong_field_count": 3, "bad_tconst": 2, "duplicate_key": 1}
    assert metadata["nulled_rows"] == 5
    assert metadata["nulled_by_field"] == {"runtimeMinutes": 1, "isAdult": 1, "startYear": 1, "endYear": 1, "genres": 1}
    assert metadata["rows_in"] == len(TITLE_BASICS_LINES)
    # The lines are not in key order, so the one-pass plan was discarded for the order-independent one.
    assert metadata["keys_in_order"] is False

    quarantine_dir = data_lake.quarantine_dir(PARTITION)
    stored = pl.read_parquet(data_lake.table_path("clean_title_basics", PARTITION))
    assert stored.schema == CLEAN_TITLE_BASICS_SCHEMA
    assert stored["title_id"].to_list() == [1, 111161, 10872600, 5, 6, 7, 12]
    # Only the model steps read a clean table, whole: its statistics are the null counts its metadata shows.
    flat_columns = [name for name, dtype in stored.schema.items() if dtype != pl.List(pl.String)]
    assert {name: metadata["null_counts"][name] for name in flat_columns} == stored.select(
        flat_columns
    ).null_count().row(0, named=True)
    footer = pq.ParquetFile(data_lake.table_path("clean_title_basics", PARTITION)).metadata
    for index in range(footer.num_columns):
        statistics = footer.row_group(0).column(index).statistics
        assert statistics.has_null_count and not statistics.has_min_max
    assert pl.read_parquet(quarantine_dir / "title.basics.quarantined.parquet")["line_number"].to_list() == [
        8,
        9,
        10,
        11,
        13,
        14,
    ]
    assert pl.read_parquet(quarantine_dir / "title.basics.nulled.parquet")["field"].to_list() == [
        "runtimeMinutes",
        "isAdult",
        "startYear",
        "endYear",
        "genres",
    ]


def test_each_file_step_materializes_its_raw_and_clean_assets_partitioned_grouped_and_versioned():
    for step, asset in zip(CLEAN_STEPS, file_assets, strict=True):
        suffix = step.imdb_file.asset_suffix
        raw_key, clean_key = dg.AssetKey(f"raw_{suffix}"), dg.AssetKey(f"clean_{suffix}")
        assert asset.op.name == suffix
        assert set(asset.keys) == {raw_key, clean_key}
        assert asset.can_subset
        assert asset.partitions_def is not None
        assert asset.code_versions_by_key[clean_key] == CLEAN_CODE_VERSION
        assert asset.group_names_by_key == {raw_key: "raw", clean_key: "clean"}
        assert {dep.asset_key for dep in asset.specs_by_key[clean_key].deps} == {raw_key}
        assert asset.descriptions_by_key[clean_key].startswith("Cleaned IMDb")


# Ascending keys as in IMDb's files (a repeat can only follow its key), with what the one-pass dedup must get
# right: repeats, a repeat after a broken line, a broken line carrying the key of the good line after it.
SORTED_PRINCIPAL_LINES = [
    tsv("tt0000001", "1", "nm0000001", "actor", N, N),  # line 2
    tsv("tt0000001", "1", "nm0000002", "actor", N, N),  # repeat of line 2
    tsv("tt0000001", "2", "nm0000003", "writer", N, N),
    tsv("tt0000001", "3", "nm0000004", "self", N, "[Self]"),  # line 5: characters nulled
    tsv("tt0000001", "3", "nm0000005", "self", N, N),  # repeat of line 5
    tsv("tt0000002", "1", "nm0000006", "actor", N),  # line 7: too few fields, key of line 8
    tsv("tt0000002", "1", "nm0000007", "director", N, N),
    tsv("tt0000002", "x", "nm0000008", "actor", N, N),  # line 9: bad ordering
    tsv("tt0000002", "1", "nm0000009", "actor", N, N),  # repeat of line 8 after a broken line
    tsv("tt0000003", "1", "nm0000010", "actor", N, N),
]


def test_one_pass_dedup_on_ascending_keys_equals_the_order_independent_plan(tmp_path: Path):
    raw = write_raw(tmp_path / "title.principals.tsv.gz", TITLE_PRINCIPALS, SORTED_PRINCIPAL_LINES)
    one_pass = clean_title_principals(raw, SNAPSHOT, keys_sorted=True)
    table, quarantined, nulled = run(one_pass)

    assert one_pass.keys_in_order.collect().item() is True
    exact_table, exact_quarantined, exact_nulled = run(clean_title_principals(raw, SNAPSHOT))
    assert table.equals(exact_table)
    assert quarantined.equals(exact_quarantined)
    assert nulled.equals(exact_nulled)
    assert [(row[0], row[1]) for row in table.rows()] == [(1, 1), (1, 2), (1, 3), (2, 1), (3, 1)]
    assert quarantined.select("line_number", "reason").rows() == [
        (3, "duplicate_key"),
        (6, "duplicate_key"),
        (7, "wrong_field_count"),
        (9, "bad_ordering"),
        (10, "duplicate_key"),
    ]


def test_one_pass_dedup_says_when_keys_are_out_of_order(tmp_path: Path):
    raw = write_raw(tmp_path / "title.basics.tsv.gz", TITLE_BASICS, TITLE_BASICS_LINES)
    assert clean_title_basics(raw, SNAPSHOT, keys_sorted=True).keys_in_order.collect().item() is False
    # A repeat that does not follow its key is out of order too: one pass cannot tell it from a new key.
    lines = [SORTED_PRINCIPAL_LINES[0], SORTED_PRINCIPAL_LINES[2], SORTED_PRINCIPAL_LINES[0]]
    raw = write_raw(tmp_path / "title.principals.tsv.gz", TITLE_PRINCIPALS, lines)
    assert clean_title_principals(raw, SNAPSHOT, keys_sorted=True).keys_in_order.collect().item() is False


def test_stored_clean_tables_are_reused_until_the_raw_file_changes(tmp_path: Path):
    [step] = [step for step in CLEAN_STEPS if step.imdb_file == TITLE_PRINCIPALS]
    raw = write_raw(tmp_path / "raw" / "title.principals.tsv.gz", TITLE_PRINCIPALS, SORTED_PRINCIPAL_LINES)
    table_path = tmp_path / "clean.parquet"

    def store() -> dict:
        return store_table_with_side_tables(table_path, clean_output(step, raw, SNAPSHOT, tmp_path / "quarantine"))

    assert store() == {"reused": False, "keys_in_order": True}
    written_ns = table_path.stat().st_mtime_ns
    assert store() == {"reused": True}
    assert table_path.stat().st_mtime_ns == written_ns

    # A missing side table means the set is incomplete: everything is written again.
    (tmp_path / "quarantine" / "title.principals.nulled.parquet").unlink()
    assert store()["reused"] is False
    assert pl.read_parquet(tmp_path / "quarantine" / "title.principals.nulled.parquet").height == 1

    write_raw(raw, TITLE_PRINCIPALS, SORTED_PRINCIPAL_LINES[:2])
    assert store()["reused"] is False
    assert pl.read_parquet(table_path).height == 1


def test_truncated_raw_file_fails_naming_it_and_replaces_nothing(tmp_path: Path):
    [step] = [step for step in CLEAN_STEPS if step.imdb_file == TITLE_PRINCIPALS]
    lines = [tsv(f"tt{title:07d}", "1", "nm0000001", "actor", N, N) for title in range(1, 20_000)]
    raw = write_raw(tmp_path / "title.principals.tsv.gz", TITLE_PRINCIPALS, lines)
    raw.write_bytes(raw.read_bytes()[: raw.stat().st_size // 2])
    table_path = tmp_path / "clean.parquet"

    with pytest.raises(SourceReadError, match=str(raw)):
        store_table_with_side_tables(table_path, clean_output(step, raw, SNAPSHOT, tmp_path / "quarantine"))
    assert list(tmp_path.rglob("*parquet*")) == []  # neither outputs nor their temporary files
