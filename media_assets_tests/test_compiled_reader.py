"""The compiled readers of IMDb's three large files against references written with the standard library (`json`,
`re`, `str.split`), on hostile lines spread over many blocks, both ways of finding repeated keys."""

import gzip
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from media_assets.clean import compiled_reader
from media_assets.clean.compiled_reader import PRINCIPALS_READER, scan_compiled, text_blocks
from media_assets.clean.schemas import decoded_characters
from media_assets.clean.transforms import clean_name_basics, clean_title_basics, clean_title_principals
from media_assets.sources.imdb_files import IMDB_GENRES, NAME_BASICS, TITLE_BASICS, TITLE_PRINCIPALS, ImdbFile
from media_assets.sources.raw_files import RawFileError

SNAPSHOT = date(2026, 11, 24)
SMALL_BLOCK_INPUT_BYTES = 64 << 10
"""Compressed bytes per block in these tests: their files then span many blocks, and the long line is longer than
a piece of inflated text (16 x 64 kB)."""

N = "\\N"
INT32 = range(-(2**31), 2**31)

TCONSTS = ["tt123456", "tt1234567890", "TT0000001", "tt00000a1", "", N, "tt\u0660\u0660\u0660\u0660\u0660\u0660\u0661",
           " tt0000001", "nm0000001"]  # fmt: skip
"""Bad ids (a good one out of key order would defeat the one-pass dedup: tested in test_clean)."""
ORDERINGS = ["-0", "0", "10000", "99999999999999999999", "", N, " 1", "1 ", "1.0", "\u0663", "-5", "+", "0x1"]
NCONSTS = ["nm1234567890", "nm123456", "tt0000001", "", N, "nm00000001\r"]
CATEGORIES = ["actor", "self", N, "", 'a"b', "é"]
JOBS = [N, "director", "x\ry", '"quoted"']
CHARACTERS = [N, '["A"]', "[]", ' [ "A" , "B" ] ', '["a\\"b"]', '["\\u00e9"]', '["\\ud83d\\ude00"]', '["\\ud83d"]',
              '["\\ude00"]', '["\\ud83d\\u0041"]', '["\\u12"]', '["a"', '["a",]', '[,"a"]', '["\\x"]', "[1]",
              "[null]", '"a"', "", '["\\/\\b\\f\\n\\r\\t\\\\"]', '["tab\x01"]', '["a"]x', '["é"]', '[\r"a"\r]',
              '["\\u0000"]', '\x0b["a"]', '[" "]', '["\\uDBFF\\uDFFF"]', '["\x7f"]', "[[]]", '["a"]]', "\ufeff[]",
              '["\U0001f600 ok"]']  # fmt: skip


INTEGERS = ["1994", "0", "-0", "+2000", "02000", "1869", "1870", "2056", "2057", "2147483647", "2147483648",
            "-2147483648", "99999999999999999999", "", N, " 1990", "1990.0", "\u0661\u0669\u0669\u0660", "1e3", "+",
            "-", "2026", "2027", "1", "Reality-TV"]  # fmt: skip
FLAGS = ["0", "1", N, "", "2", "01", "true", " 1"]
TEXTS = ["Carmencita", '"Quoted" start', 'Unbalanced " quote', N, "", "Zoë", "a,b", "\u00a0", "x\ry", "\\n"]
GENRES = ["Drama", "Comedy,Short", "Documentary,Short,Sci-Fi", N, "", "drama", " Drama", "Drama,", ",Drama",
          "Drama,,Comedy", "Reality-TV", "Talk-Show,Game-Show", "Film-Noir", "Unknown,Drama"]  # fmt: skip
PROFESSIONS = ["actor", "actress,soundtrack", "", N, "a,,b", ",", "writer,"]
TITLE_LISTS = ["tt0000001", "tt0111161,tt10872600", "", N, "tt123,tt0000002", "x", "tt0000001,", ",tt0000001",
               "tt0000001,\\N", "nm0000001,tt0000001"]  # fmt: skip


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(compiled_reader, "BLOCK_INPUT_BYTES", SMALL_BLOCK_INPUT_BYTES)


def reference_id(text: str, prefix: str) -> int | None:
    return int(text[2:]) if re.fullmatch(prefix + "[0-9]{7,9}", text) else None


def reference_integer(text: str, low: int, high: int) -> int | None:
    """polars' cast of a string to Int32 (an optional sign, then ASCII digits), within [low, high]."""
    if not re.fullmatch("[+-]?[0-9]+", text) or int(text) not in INT32:
        return None
    return int(text) if low <= int(text) <= high else None


def reference_characters(text: str) -> tuple[str | None, bool]:
    """The text as written when it is a JSON array of strings, and whether the value was present but not one."""
    if text == N:
        return None, False
    try:
        value = json.loads(text)  # strict: control characters in strings are refused
        if not (isinstance(value, list) and all(isinstance(name, str) for name in value)):
            return None, True
        for name in value:
            name.encode("utf-8")  # a lone surrogate has no UTF-8
    except (ValueError, UnicodeEncodeError):
        return None, True
    return text, False


def principal(fields: list[str]) -> tuple[str | None, tuple, tuple, list[tuple[str, str]]]:
    """A title.principals line's reason, key, row and nulled values."""
    title, ordering, person = (
        reference_id(fields[0], "tt"),
        reference_integer(fields[1], 1, 9999),
        reference_id(fields[2], "nm"),
    )
    for value, reason in ((title, "bad_tconst"), (ordering, "bad_ordering"), (person, "bad_nconst")):
        if value is None:
            return reason, (), (), []
    characters, unusable = reference_characters(fields[5])
    category, job = (None if field == N else field for field in fields[3:5])
    nulled = [("characters", fields[5])] if unusable else []
    return None, (title, ordering), (title, ordering, person, category, job, characters), nulled


def nulled_scalars(fields: list[str], parsed: dict[int, object], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (column, raw value) of the fields that were present (not `\\N`) but parsed to None."""
    return [(names[index], fields[index]) for index, value in parsed.items() if value is None and fields[index] != N]


def title(fields: list[str]) -> tuple[str | None, tuple, tuple, list[tuple[str, str]]]:
    """A title.basics line's reason, key, row and nulled values."""
    title_id = reference_id(fields[0], "tt")
    if title_id is None:
        return "bad_tconst", (), (), []
    last_year = SNAPSHOT.year + 30
    parsed = {
        4: {"0": False, "1": True}.get(fields[4]),
        5: reference_integer(fields[5], 1870, last_year),
        6: reference_integer(fields[6], 1870, last_year),
        7: reference_integer(fields[7], 0, 2**31 - 1),
    }
    tokens = None if fields[8] == N else fields[8].split(",")
    genres = None if tokens is None else [token for token in tokens if token in IMDB_GENRES]
    nulled = nulled_scalars(fields, parsed, TITLE_BASICS.columns)
    nulled += [("genres", token) for token in tokens or [] if token not in IMDB_GENRES]
    texts = [None if field == N else field for field in fields[:4]]
    return None, (title_id,), (title_id, *texts, *parsed.values(), genres), nulled


def person(fields: list[str]) -> tuple[str | None, tuple, tuple, list[tuple[str, str]]]:
    """A name.basics line's reason, key, row and nulled values."""
    person_id = reference_id(fields[0], "nm")
    if person_id is None:
        return "bad_nconst", (), (), []
    parsed = {index: reference_integer(fields[index], 1, SNAPSHOT.year) for index in (2, 3)}
    professions, titles = ([] if field == "" else None if field == N else field.split(",") for field in fields[4:6])
    title_ids = None if titles is None else [reference_id(token, "tt") for token in titles]
    nulled = nulled_scalars(fields, parsed, NAME_BASICS.columns)
    nulled += [
        ("knownForTitles", token) for token, id_ in zip(titles or [], title_ids or [], strict=True) if id_ is None
    ]
    known_for = None if title_ids is None else [id_ for id_ in title_ids if id_ is not None]
    texts = [None if field == N else field for field in fields[:2]]
    return None, (person_id,), (person_id, *texts, *parsed.values(), professions, known_for), nulled


@dataclass(frozen=True)
class HostileFile:
    imdb_file: ImdbFile
    clean: Callable
    reference: Callable[[list[str]], tuple[str | None, tuple, tuple, list[tuple[str, str]]]]
    fields: Callable[[random.Random, int, int, bool], list[str]]
    """A line's fields from the title and ordering counters, hostile or not."""
    long_field: int
    """The field made longer than a block of the reader on one line."""
    id_reasons: tuple[str, ...]


def principal_fields(rng: random.Random, title: int, ordering: int, hostile: bool) -> list[str]:
    return [
        rng.choice(TCONSTS) if hostile and rng.random() < 0.3 else f"tt{title:07d}",
        rng.choice([*ORDERINGS, f"+{ordering}", f"00{ordering}"]) if hostile and rng.random() < 0.3 else str(ordering),
        rng.choice(NCONSTS) if hostile and rng.random() < 0.3 else f"nm{rng.randint(1, 9_999_999):07d}",
        rng.choice(CATEGORIES),
        rng.choice(JOBS),
        rng.choice(CHARACTERS),
    ]


def title_fields(rng: random.Random, title: int, _ordering: int, hostile: bool) -> list[str]:
    return [
        rng.choice(TCONSTS) if hostile and rng.random() < 0.3 else f"tt{title:07d}",
        rng.choice(["movie", "short", N]),
        rng.choice(TEXTS),
        rng.choice(TEXTS),
        rng.choice(FLAGS) if hostile else "0",
        rng.choice(INTEGERS),
        rng.choice(INTEGERS) if hostile else N,
        rng.choice(INTEGERS),
        rng.choice(GENRES),
    ]


def person_fields(rng: random.Random, title: int, _ordering: int, hostile: bool) -> list[str]:
    return [
        rng.choice(NCONSTS) if hostile and rng.random() < 0.3 else f"nm{title:07d}",
        rng.choice(TEXTS),
        rng.choice(INTEGERS),
        rng.choice(INTEGERS) if hostile else N,
        rng.choice(PROFESSIONS),
        rng.choice(TITLE_LISTS),
    ]


HOSTILE_FILES = [
    HostileFile(
        TITLE_PRINCIPALS,
        clean_title_principals,
        principal,
        principal_fields,
        5,
        ("bad_tconst", "bad_ordering", "bad_nconst"),
    ),
    HostileFile(TITLE_BASICS, clean_title_basics, title, title_fields, 2, ("bad_tconst",)),
    HostileFile(NAME_BASICS, clean_name_basics, person, person_fields, 1, ("bad_nconst",)),
]


def reference_clean(body: bytes, case: HostileFile) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The table rows, quarantined (line, reason, raw line) and nulled (line, column, raw value) rows of a file's
    text."""
    lines = body.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    table, quarantined, nulled, seen = [], [], [], set()
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.removesuffix(b"\r").decode("utf-8")
        fields = line.split("\t")
        if len(fields) != len(case.imdb_file.columns):
            quarantined.append((number, "wrong_field_count", line))
            continue
        reason, key, row, nulled_values = case.reference(fields)
        if reason is None and key in seen:
            reason = "duplicate_key"
        if reason is not None:
            quarantined.append((number, reason, line))
            continue
        seen.add(key)
        table.append(row)
        nulled += [(number, column, value) for column, value in nulled_values]
    return table, quarantined, nulled


def hostile_body(case: HostileFile, line_count: int, seed: int) -> bytes:
    """A file's text: mostly well-formed lines with ascending keys, repeats of the last key, every kind of bad
    value, wrong field counts, empty lines, CRLF ends and one line longer than a block of the reader."""
    rng = random.Random(seed)
    lines = [case.imdb_file.header_line]
    title, ordering = 1, 0
    for index in range(line_count):
        if rng.random() < 0.3:
            title, ordering = title + rng.randint(1, 3), 0
        if rng.random() > 0.05:  # otherwise the last key again
            ordering += 1
        hostile = rng.random() < 0.1
        fields = case.fields(rng, title, ordering, hostile)
        if hostile and rng.random() < 0.1:
            fields = fields[: rng.randint(0, len(fields) - 1)] if rng.random() < 0.5 else [*fields, "extra"]
        if index == line_count // 2:
            fields[case.long_field] = '["' + "x" * (5 << 20) + '"]'  # longer than a piece of text (1 MB)
        line = "\t".join(fields)
        lines.append(line + "\r" if rng.random() < 0.01 else line)
    return ("\n".join(lines)).encode("utf-8")


def cleaned(raw: Path, case: HostileFile, keys_sorted: bool) -> tuple[list[tuple], list[tuple], list[tuple]]:
    plan = case.clean(raw, SNAPSHOT, keys_sorted=keys_sorted)
    assert not keys_sorted or plan.keys_in_order.collect().item() is True
    table, quarantined, nulled = pl.collect_all([plan.table, plan.quarantined, plan.nulled], engine="streaming")
    assert quarantined["raw_bytes"].null_count() == quarantined.height
    return table.rows(), quarantined.drop("raw_bytes").rows(), nulled.rows()


@pytest.mark.parametrize("case", HOSTILE_FILES, ids=lambda case: case.imdb_file.dataset)
@pytest.mark.parametrize("final_line_end", ["", "\n", "\r\n"], ids=["no-end", "lf", "crlf"])
def test_the_reader_agrees_with_the_standard_library_on_hostile_lines(
    tmp_path: Path, case: HostileFile, final_line_end: str
):
    body = hostile_body(case, 60_000, seed=len(final_line_end)) + final_line_end.encode()
    raw = tmp_path / case.imdb_file.file_name
    raw.write_bytes(gzip.compress(body, compresslevel=1))
    table, quarantined, nulled = reference_clean(body, case)

    assert cleaned(raw, case, keys_sorted=True) == (table, quarantined, nulled)
    assert cleaned(raw, case, keys_sorted=False) == (table, quarantined, nulled)
    # The file really is hostile: every reason and many nulled values occur.
    assert {reason for _, reason, _ in quarantined} == {"wrong_field_count", "duplicate_key", *case.id_reasons}
    assert len(nulled) > 500


def test_kept_characters_decode_to_the_names_the_standard_library_reads(tmp_path: Path):
    """The model decodes the texts the reader kept (`decoded_characters`): escapes and surrogate pairs give the
    code points `json.loads` gives."""
    body = hostile_body(HOSTILE_FILES[0], 20_000, seed=7)
    raw = tmp_path / TITLE_PRINCIPALS.file_name
    raw.write_bytes(gzip.compress(body, compresslevel=1))
    texts = [row[5] for row in cleaned(raw, HOSTILE_FILES[0], keys_sorted=True)[0] if row[5] is not None]
    decoded = pl.DataFrame({"characters": texts}, schema={"characters": pl.String})
    names = decoded.select(decoded_characters(pl.col("characters")))["characters"].to_list()
    assert names == [json.loads(text) for text in texts]
    assert ["\U0001f600"] in names and ["\U0010ffff"] in names and ["/\b\f\n\r\t\\"] in names


def test_skipped_lines_are_left_out_in_every_block(tmp_path: Path):
    """The lines the raw layer found not UTF-8 are left out by number, wherever their block starts."""
    body = hostile_body(HOSTILE_FILES[0], 60_000, seed=3)
    raw = tmp_path / TITLE_PRINCIPALS.file_name
    raw.write_bytes(gzip.compress(body, compresslevel=1))
    last = body.count(b"\n") + 1
    block_lines = [block.count(b"\n") for block in text_blocks(raw)]
    block_starts = [1 + sum(block_lines[:index]) for index in range(1, len(block_lines))]
    assert len(block_starts) > 3
    # The first line of every block, a line in its middle, and the file's first and last data lines.
    skipped = sorted({2, 3, last, *block_starts, *(start + 1000 for start in block_starts)})
    frame = scan_compiled(PRINCIPALS_READER, raw, SNAPSHOT, pl.Series(skipped)).collect()
    assert frame["line_number"].to_list() == [number for number in range(2, last + 1) if number not in skipped]


def test_a_block_too_large_for_its_positions_fails_naming_the_file(tmp_path: Path, monkeypatch):
    """Positions in a block are int32 (Arrow's string views): a larger block, which only a line of gigabytes
    makes, fails with an error naming the file and the line it starts at instead of wrapping around."""
    body = hostile_body(HOSTILE_FILES[0], 20_000, seed=5)
    raw = tmp_path / TITLE_PRINCIPALS.file_name
    raw.write_bytes(gzip.compress(body, compresslevel=1))
    first_block, second_block = list(text_blocks(raw))[:2]
    monkeypatch.setattr(compiled_reader, "MAX_BLOCK_BYTES", max(len(first_block), len(second_block)) - 1)
    too_large_from = 1 if len(first_block) >= len(second_block) else 1 + first_block.count(b"\n")
    with pytest.raises(RawFileError) as error:
        scan_compiled(PRINCIPALS_READER, raw, SNAPSHOT).collect()
    assert str(error.value).startswith(f"{raw}: a line from line {too_large_from:,} on is over ")
    assert "check that the file is the IMDb file it is named after" in str(error.value)


def test_keys_repeated_or_lower_at_block_starts_are_found_though_blocks_are_read_ahead(tmp_path: Path):
    """Blocks are read several at a time, each without the largest key of the blocks before it: a block whose
    first line repeats or goes below that key is read again with it. The rule checked: a parsed line whose key is
    not above every key before it is a `duplicate_key`, `key_out_of_order` where it is below."""
    header = "\t".join(TITLE_PRINCIPALS.columns)
    # Every line the same length, and gzip's stored blocks: changing a key moves no block boundary.
    keys = [(title, ordering) for title in range(1, 30_001) for ordering in range(1, 5)]

    def principals_file(keys: list[tuple[int, int]]) -> Path:
        lines = [f"tt{title:07d}\t{ordering}\tnm{title:07d}\tactor\t{N}\t{N}" for title, ordering in keys]
        raw = tmp_path / TITLE_PRINCIPALS.file_name
        raw.write_bytes(gzip.compress("\n".join([header, *lines, ""]).encode(), compresslevel=0))
        return raw

    def block_starts(raw: Path) -> list[int]:
        block_lines = [block.count(b"\n") for block in text_blocks(raw)]
        return [1 + sum(block_lines[:index]) for index in range(1, len(block_lines))]

    starts = block_starts(principals_file(keys))
    assert len(starts) > 10
    for number, line_number in enumerate(starts):
        title, ordering = keys[line_number - 3]  # the line before it (keys[0] is line 2)
        keys[line_number - 2] = (title, ordering) if number % 2 else (title - 1, ordering)
    raw = principals_file(keys)
    assert block_starts(raw) == starts

    expected, largest = [], (0, 0)
    for line_number, key in enumerate(keys, start=2):
        expected.append((line_number, "duplicate_key" if key <= largest else None, key < largest))
        largest = max(largest, key)
    assert sum(reason is not None for _, reason, _ in expected) == len(starts)
    frame = scan_compiled(PRINCIPALS_READER, raw, SNAPSHOT, keys_sorted=True).collect()
    assert frame.select("line_number", "reason", "key_out_of_order").rows() == expected
