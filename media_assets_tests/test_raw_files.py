"""Reading a raw file once, completely: gzip, header, lines that are not UTF-8 (against plain-Python readings)."""

import gzip
import random

import pytest

from media_assets.sources.imdb_files import TITLE_RATINGS
from media_assets.sources.raw_files import (
    CHUNK_BYTES,
    RawFileError,
    copy_verified,
    inflate,
    invalid_utf8_lines,
    line_blocks,
    write_utf8_repaired_copy,
)

RATINGS = f"{TITLE_RATINGS.header_line}\ntt0000001\t5.7\t2150\n".encode()


def chunks(data: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def test_inflate_reads_every_member_and_bounds_each_piece():
    members = gzip.compress(b"header\n") + gzip.compress(b"a\nb\n") + gzip.compress(b"last\n")
    assert b"".join(inflate(chunks(members, 7), "f")) == b"header\na\nb\nlast\n"
    # 64 MB out of ~64 KB in: no piece larger than one chunk.
    zeros = gzip.compress(bytes(64 << 20), compresslevel=1)
    pieces = list(inflate(chunks(zeros), "f"))
    assert sum(map(len, pieces)) == 64 << 20 and max(map(len, pieces)) <= CHUNK_BYTES


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty file (0 bytes), not gzip"),
        (b"tconst\taverageRating\n", "not gzip: it starts with b'tconst"),
        (gzip.compress(RATINGS * 1_000)[:-1], "truncated gzip: the stream stops after"),
        (gzip.compress(RATINGS) + b"trailing garbage", "corrupt gzip"),
        (gzip.compress(RATINGS)[:-8] + bytes(8), "corrupt gzip"),  # CRC-32 and length zeroed
    ],
    ids=["empty", "plain-tsv", "truncated", "trailing-garbage", "bad-crc"],
)
def test_a_broken_gzip_is_named_and_described_in_words(tmp_path, content, words):
    source = tmp_path / "mirror" / "title.ratings.tsv.gz"
    source.parent.mkdir()
    source.write_bytes(content)
    with pytest.raises(RawFileError) as error:
        copy_verified(source, tmp_path / "copy", TITLE_RATINGS, str(source))
    assert str(error.value).startswith(f"{source}: ") and words in str(error.value)


def test_lines_that_are_not_utf8_are_found_in_every_block_with_their_exact_bytes():
    rng = random.Random(7)
    lines = []
    for number in range(2, 60_000):
        text = f"tt{number:07d}\t{rng.choice(['Amélie', 'plain', '東京'])}\t{number}".encode()
        if number % 9_973 == 0:
            text = (
                text.replace(b"plain", b"Am\xe9lie")
                .replace("Amélie".encode(), b"\xc3(")
                .replace("東京".encode(), "東京".encode()[:-1])
            )
        lines.append(text)
    data = b"\n".join([b"tconst\ttitle\tn", *lines]) + b"\n"
    expected = []
    for number, line in enumerate(data.split(b"\n")[:-1], start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            expected.append((number, line))
    assert len(expected) == 6
    found = []
    first_line = 1
    for block in line_blocks(chunks(data, 65_536)):
        found += [(line.line_number, line.raw_bytes) for line in invalid_utf8_lines(block, first_line)]
        first_line += block.count(b"\n")
    assert found == expected


def test_the_repaired_copy_keeps_every_line_and_its_number(tmp_path):
    data = b"tconst\taverageRating\tnumVotes\r\ntt1\t\xff\xfe\t3\r\ntt2\t\xc3\xa9\t1\r\ntt3\t1\t\xe9"
    raw = tmp_path / "raw.gz"
    raw.write_bytes(gzip.compress(data[:40]) + gzip.compress(data[40:]))
    write_utf8_repaired_copy(raw, tmp_path / "repaired.gz")
    repaired = gzip.decompress((tmp_path / "repaired.gz").read_bytes())
    assert repaired.split(b"\n") == [line.decode("utf-8", "replace").encode() for line in data.split(b"\n")]


@pytest.mark.parametrize("size", [1, 3, 5, 8, 64])
def test_line_blocks_cut_at_line_ends_whatever_the_pieces(size):
    # Lines shorter and longer than a piece, pieces ending exactly at a line end, a last line without one.
    data = b"ab\ncdefghijklmnop\n\nq\nrstu\nvwxyz0123456789"
    blocks = list(line_blocks(chunks(data, size)))
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") for block in blocks[:-1]) and blocks[-1] == b"vwxyz0123456789"
    assert all(block for block in blocks)
