"""The compiled title.principals parser against a reference written with the standard library (`json`, `re`), on
hostile lines spread over many blocks, both ways of finding repeated keys."""

import gzip
import json
import random
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from media_assets.clean.transforms import clean_title_principals
from media_assets.sources.imdb_files import TITLE_PRINCIPALS

SNAPSHOT = date(2026, 11, 24)
N = "\\N"

TCONSTS = ["tt123456", "tt1234567890", "TT0000001", "tt00000a1", "", N, "tt\u0660\u0660\u0660\u0660\u0660\u0660\u0661",
           " tt0000001", "nm0000001"]  # fmt: skip
"""Bad tconsts (a good one out of key order would defeat the one-pass dedup: tested in test_clean)."""
ORDERINGS = ["-0", "0", "10000", "99999999999999999999", "", N, " 1", "1 ", "1.0", "\u0663", "-5", "+", "0x1"]
NCONSTS = ["nm7654321", "nm123456789", "nm123456", "tt0000001", "", N, "nm00000001\r"]
CATEGORIES = ["actor", "self", N, "", 'a"b', "é"]
JOBS = [N, "director", "x\ry", '"quoted"']
CHARACTERS = [N, '["A"]', "[]", ' [ "A" , "B" ] ', '["a\\"b"]', '["\\u00e9"]', '["\\ud83d\\ude00"]', '["\\ud83d"]',
              '["\\ude00"]', '["\\ud83d\\u0041"]', '["\\u12"]', '["a"', '["a",]', '[,"a"]', '["\\x"]', "[1]",
              "[null]", '"a"', "", '["\\/\\b\\f\\n\\r\\t\\\\"]', '["tab\x01"]', '["a"]x', '["é"]', '[\r"a"\r]',
              '["\\u0000"]', '\x0b["a"]', '[" "]', '["\\uDBFF\\uDFFF"]', '["\x7f"]', "[[]]", '["a"]]', "\ufeff[]",
              '["\U0001f600 ok"]']  # fmt: skip


def reference_id(text: str, prefix: str) -> int | None:
    return int(text[2:]) if re.fullmatch(prefix + "[0-9]{7,9}", text) else None


def reference_ordering(text: str) -> int | None:
    """polars' cast of a string to Int32: an optional sign, then ASCII digits."""
    if not re.fullmatch("[+-]?[0-9]+", text):
        return None
    return int(text) if 1 <= int(text) <= 9999 else None


def reference_characters(text: str) -> tuple[list[str] | None, bool]:
    """The decoded list and whether the value was present but not a JSON array of strings."""
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
    return value, False


def reference_clean(body: bytes) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The table rows, quarantined (line, reason, raw line) and nulled rows of a title.principals file's text."""
    lines = body.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    table, quarantined, nulled, seen = [], [], [], set()
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.removesuffix(b"\r").decode("utf-8")
        fields = line.split("\t")
        if len(fields) != 6:
            quarantined.append((number, "wrong_field_count", line))
            continue
        title, ordering, person = (
            reference_id(fields[0], "tt"),
            reference_ordering(fields[1]),
            reference_id(fields[2], "nm"),
        )
        for value, reason in ((title, "bad_tconst"), (ordering, "bad_ordering"), (person, "bad_nconst")):
            if value is None:
                quarantined.append((number, reason, line))
                break
        else:
            if (title, ordering) in seen:
                quarantined.append((number, "duplicate_key", line))
                continue
            seen.add((title, ordering))
            characters, unusable = reference_characters(fields[5])
            if unusable:
                nulled.append((number, "characters", fields[5]))
            category, job = (None if field == N else field for field in fields[3:5])
            table.append((title, ordering, person, category, job, characters))
    return table, quarantined, nulled


def hostile_body(line_count: int, seed: int) -> bytes:
    """A title.principals file's text: mostly well-formed credits with ascending keys, repeats of the last key, every
    kind of bad value, wrong field counts, empty lines, CRLF ends and one line longer than a block of the reader."""
    rng = random.Random(seed)
    lines = [TITLE_PRINCIPALS.header_line]
    title, ordering = 1, 0
    for index in range(line_count):
        if rng.random() < 0.3:
            title, ordering = title + rng.randint(1, 3), 0
        if rng.random() > 0.05:  # otherwise the last key again
            ordering += 1
        hostile = rng.random() < 0.1
        fields = [
            rng.choice(TCONSTS) if hostile and rng.random() < 0.3 else f"tt{title:07d}",
            rng.choice([*ORDERINGS, f"+{ordering}", f"00{ordering}"])
            if hostile and rng.random() < 0.3
            else str(ordering),
            rng.choice(NCONSTS) if hostile and rng.random() < 0.3 else f"nm{rng.randint(1, 9_999_999):07d}",
            rng.choice(CATEGORIES),
            rng.choice(JOBS),
            rng.choice(CHARACTERS),
        ]
        if hostile and rng.random() < 0.1:
            fields = fields[: rng.randint(0, 5)] if rng.random() < 0.5 else [*fields, "extra"]
        if index == line_count // 2:
            fields[5] = '["' + "x" * (5 << 20) + '"]'  # longer than the 4 MB the reader inflates at a time
        line = "\t".join(fields)
        lines.append(line + "\r" if rng.random() < 0.01 else line)
    return ("\n".join(lines)).encode("utf-8")


def cleaned(raw: Path, keys_sorted: bool) -> tuple[list[tuple], list[tuple], list[tuple]]:
    plan = clean_title_principals(raw, SNAPSHOT, keys_sorted=keys_sorted)
    assert not keys_sorted or plan.keys_in_order.collect().item() is True
    table, quarantined, nulled = pl.collect_all([plan.table, plan.quarantined, plan.nulled], engine="streaming")
    assert quarantined["raw_bytes"].null_count() == quarantined.height
    return table.rows(), quarantined.drop("raw_bytes").rows(), nulled.rows()


@pytest.mark.parametrize("final_line_end", ["", "\n", "\r\n"])
def test_the_parser_agrees_with_the_standard_library_on_hostile_lines(tmp_path: Path, final_line_end: str):
    body = hostile_body(120_000, seed=len(final_line_end)) + final_line_end.encode()
    raw = tmp_path / "title.principals.tsv.gz"
    raw.write_bytes(gzip.compress(body, compresslevel=1))
    table, quarantined, nulled = reference_clean(body)

    assert cleaned(raw, keys_sorted=True) == (table, quarantined, nulled)
    assert cleaned(raw, keys_sorted=False) == (table, quarantined, nulled)
    # The file really is hostile: every reason, nulled values and decoded escapes occur.
    assert {reason for _, reason, _ in quarantined} == {
        "wrong_field_count", "bad_tconst", "bad_ordering", "bad_nconst", "duplicate_key"
    }  # fmt: skip
    assert len(nulled) > 1000
    assert ["\U0001f600"] in [row[5] for row in table] and ["\U0010ffff"] in [row[5] for row in table]
