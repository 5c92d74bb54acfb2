"""Reading a raw file once, completely: gzip, header, lines that are not UTF-8 (against plain-Python readings)."""

import gzip
import hashlib
import random
import threading

import pytest
from isal import isal_zlib

from media_assets.sources.imdb_files import TITLE_PRINCIPALS, TITLE_RATINGS
from media_assets.sources.raw_files import (
    CHUNK_BYTES,
    INFLATE_INPUT_BYTES,
    PIECE_TO_INPUT,
    RawFileError,
    copy_verified,
    in_thread,
    inflate,
    invalid_utf8_lines,
    is_utf8,
    line_blocks,
    write_utf8_repaired_copy,
)

RATINGS = f"{TITLE_RATINGS.header_line}\ntt0000001\t5.7\t2150\n".encode()


def chunks(data: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def expected_bad_lines(text: bytes) -> list[tuple[int, bytes]]:
    """(line number, bytes) of each line of `text` that Python's strict decoder refuses."""
    found = []
    for number, line in enumerate(text.split(b"\n")[:-1], start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            found.append((number, line))
    return found


def test_inflate_reads_every_member_and_bounds_each_piece():
    members = gzip.compress(b"header\n") + gzip.compress(b"a\nb\n") + gzip.compress(b"last\n")
    assert b"".join(inflate(chunks(members, 7), "f")) == b"header\na\nb\nlast\n"
    # 64 MB out of ~64 KB in: no piece larger than the bound.
    zeros = gzip.compress(bytes(64 << 20), compresslevel=1)
    pieces = list(inflate(chunks(zeros), "f"))
    assert sum(map(len, pieces)) == 64 << 20 and max(map(len, pieces)) <= PIECE_TO_INPUT * INFLATE_INPUT_BYTES


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
    expected = expected_bad_lines(data)
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


# --- the threaded copy: real files of several pipeline depths, checked against plain-Python readings -------------

BAD_LINE_EVERY = 7_919


def principals_like_text(lines: int, long_line_at: int | None = None) -> bytes:
    """A header and `lines` lines, mostly non-ASCII, a line that is not UTF-8 every `BAD_LINE_EVERY` lines, and
    optionally one line (numbered `long_line_at`) longer than any piece the copy handles."""
    rng = random.Random(11)
    rows = [b"tconst\tordering\tnconst\tcategory\tjob\tcharacters"]
    for number in range(2, lines + 2):
        name = rng.choice(["Amélie", "東京", "plain", "Zoë"]).encode()
        if number % BAD_LINE_EVERY == 0:
            name = rng.choice([b"Am\xe9lie", b"\xc3(", "東京".encode()[:-1], b"\xed\xa0\x80"])
        if number == long_line_at:
            name = "é".encode() * (6 << 20) + b"\xff"  # 12 MB: three inflated pieces, twelve read chunks
        rows.append(b'tt%07d\t%d\tnm%07d\tactor\t\\N\t["%s"]' % (number, number % 10, rng.randrange(10**7), name))
    return b"\n".join(rows) + b"\n"


def write_gzip_members(path, text: bytes, members: int = 3) -> bytes:
    """`text` gzipped in `members` members (as some tools write), at a level that keeps IMDb's ratio."""
    step = len(text) // members + 1
    data = b"".join(gzip.compress(text[start : start + step], compresslevel=6) for start in range(0, len(text), step))
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("long_line_at", [None, 31_337], ids=["short-lines", "a-12-MB-line"])
def test_the_threaded_copy_is_the_file_and_finds_every_bad_line(tmp_path, long_line_at):
    text = principals_like_text(300_000, long_line_at)  # ~25 MB of text: many pieces in flight in each thread
    source = tmp_path / "title.principals.tsv.gz"
    data = write_gzip_members(source, text)
    threads_before = threading.active_count()
    verified = copy_verified(source, tmp_path / "copy", TITLE_PRINCIPALS, str(source))
    assert (tmp_path / "copy").read_bytes() == data
    assert verified.sha256 == hashlib.sha256(data).hexdigest() and verified.bytes == len(data)
    assert verified.lines == text.count(b"\n") and verified.inflated_bytes == len(text)
    expected = expected_bad_lines(text)
    assert len(expected) >= 37 + (long_line_at is not None)
    assert [(line.line_number, line.raw_bytes) for line in verified.invalid_utf8] == expected
    assert threading.active_count() == threads_before


@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_a_gzip_broken_deep_inside_fails_with_the_last_good_line_and_leaves_no_thread(tmp_path, damage):
    text = principals_like_text(300_000)
    source = tmp_path / "title.principals.tsv.gz"
    data = gzip.compress(text, compresslevel=6)
    middle = len(data) // 2
    source.write_bytes(data[:middle] + bytes(4096) + data[middle + 4096 :] if damage == "corrupt" else data[:middle])
    threads_before = threading.active_count()
    with pytest.raises(RawFileError) as error:
        copy_verified(source, tmp_path / "copy", TITLE_PRINCIPALS, str(source))
    message = str(error.value)
    assert message.startswith(f"{source}: {damage} gzip")
    last_line = int(message.rsplit("line ", 1)[1].replace(",", ""))
    # The lines before the damage were checked, up to the input the failing inflate call was given.
    good_text = isal_zlib.decompressobj(wbits=31).decompress(data[: middle - 2 * INFLATE_INPUT_BYTES])
    assert good_text.count(b"\n") <= last_line < text.count(b"\n")
    assert threading.active_count() == threads_before


def test_a_wrong_header_stops_the_copy_early_and_leaves_no_thread(tmp_path):
    text = principals_like_text(300_000).replace(b"nconst\tcategory", b"category\tnconst", 1)
    source = tmp_path / "title.principals.tsv.gz"
    write_gzip_members(source, text)
    threads_before = threading.active_count()
    with pytest.raises(RawFileError, match="does not have IMDb's columns"):
        copy_verified(source, tmp_path / "copy", TITLE_PRINCIPALS, str(source))
    assert threading.active_count() == threads_before


def test_an_error_of_the_producing_thread_is_raised_after_the_items_before_it():
    def items():
        yield from range(100)
        raise OSError(28, "No space left on device")

    got = []
    with pytest.raises(OSError, match="No space left"):
        for item in in_thread(items(), "test"):
            got.append(item)
    assert got == list(range(100))


def test_closing_the_consumer_stops_and_joins_the_producing_thread():
    closed = threading.Event()

    def endless():
        try:
            while True:
                yield b"x"
        finally:
            closed.set()

    threads_before = threading.active_count()
    items = in_thread(endless(), "test")
    assert next(items) == b"x"
    items.close()
    assert closed.is_set() and threading.active_count() == threads_before


@pytest.mark.parametrize(
    "block",
    [
        "Amélie 東京 😀".encode(),
        b"\xc3(",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b"\xe6\x9d",
        b"\xff",
        b"a\x00b",
        b"\xf4\x8f\xbf\xbf",
        b"\xe0\x80\xaf",
        b"",
    ],
)
def test_is_utf8_agrees_with_pythons_strict_decoder(block):
    try:
        block.decode("utf-8")
        strict = True
    except UnicodeDecodeError:
        strict = False
    assert is_utf8(block) is strict
