"""download_file / head_validators against a real HTTP server on 127.0.0.1 (http_fixtures)."""

import gzip
import hashlib
import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from media_assets.sources import http_download
from media_assets.sources.http_download import DownloadError, download_file, head_validators
from media_assets_tests.http_fixtures import LocalFileServer

FILE = "/title.basics.tsv.gz"
# Incompressible payload, so the .gz is ~3 MB: several 1 MiB chunks, room to cut a transfer in the middle.
PAYLOAD = random.Random(20240101).randbytes(3_000_000)
GZ = gzip.compress(PAYLOAD, compresslevel=1)
CUT_AFTER = 2_500_000
FAST = {"backoff_seconds": 0.001}


@pytest.fixture
def server() -> Iterator[LocalFileServer]:
    with LocalFileServer({FILE: GZ}) as running:
        yield running


@pytest.fixture(scope="module")  # building a client (its SSL context) costs ~0.1 s; one serves every test
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0), follow_redirects=True) as http:
        yield http


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def meta_of(dest: Path) -> dict:
    return json.loads(dest.with_name(dest.name + ".meta.json").read_text())


def part_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def break_a_transfer(server: LocalFileServer, client: httpx.Client, dest: Path) -> int:
    """Leave a broken transfer on disk, as a killed run would; return how many bytes it kept."""
    server.cut_next(FILE, after_bytes=CUT_AFTER)
    with pytest.raises(DownloadError, match="gave up after 1 failed attempts"):
        download_file(client, server.url(FILE), dest, max_attempts=1, **FAST)
    kept = part_of(dest).stat().st_size
    assert 0 < kept <= CUT_AFTER
    return kept


def test_full_download_writes_content_sha256_and_meta(server, client, tmp_path):
    dest = tmp_path / "raw" / "title.basics.tsv.gz"
    dest.parent.mkdir()
    result = download_file(client, server.url(FILE), dest, **FAST)

    served = server.file(FILE)
    assert dest.read_bytes() == GZ
    assert gzip.decompress(dest.read_bytes()) == PAYLOAD
    assert (result.downloaded, result.resumed, result.attempts, result.bytes) == (True, False, 1, len(GZ))
    assert (result.etag, result.last_modified) == (served.etag, served.last_modified_header)
    assert result.sha256 == sha256_of(GZ)
    meta = meta_of(dest)
    assert {k: meta[k] for k in ("url", "etag", "last_modified", "bytes", "sha256")} == {
        "url": server.url(FILE),
        "etag": served.etag,
        "last_modified": served.last_modified_header,
        "bytes": len(GZ),
        "sha256": sha256_of(GZ),
    }
    # Nothing but the file and its meta is left behind; the server got an identity request.
    assert sorted(p.name for p in dest.parent.iterdir()) == ["title.basics.tsv.gz", "title.basics.tsv.gz.meta.json"]
    assert server.requests_to(FILE)[0].headers["accept-encoding"] == "identity"


def test_second_run_gets_304_and_leaves_the_file_alone(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    first = download_file(client, server.url(FILE), dest, **FAST)
    mtime_before = dest.stat().st_mtime_ns
    meta_before = meta_of(dest)

    second = download_file(client, server.url(FILE), dest, **FAST)

    last = server.requests_to(FILE)[-1]
    assert last.headers["if-none-match"] == server.file(FILE).etag
    assert last.headers["if-modified-since"] == server.file(FILE).last_modified_header
    assert (last.status, last.body_bytes_sent) == (304, 0)
    assert (second.downloaded, second.attempts, second.bytes) == (False, 1, len(GZ))
    assert (second.etag, second.last_modified, second.sha256) == (first.etag, first.last_modified, first.sha256)
    assert dest.stat().st_mtime_ns == mtime_before
    assert meta_of(dest) == meta_before


def test_file_altered_on_disk_is_downloaded_again_unconditionally(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    download_file(client, server.url(FILE), dest, **FAST)
    dest.write_bytes(GZ[:1000])  # no longer the file its meta describes: a 304 would keep it broken

    result = download_file(client, server.url(FILE), dest, **FAST)

    last = server.requests_to(FILE)[-1]
    assert "if-none-match" not in last.headers and last.status == 200
    assert result.downloaded and dest.read_bytes() == GZ


def test_new_release_replaces_the_file(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    old = download_file(client, server.url(FILE), dest, **FAST)
    new_gz = gzip.compress(b"tconst\ttitleType\ntt0000001\tshort\n")
    server.set_file(FILE, new_gz)

    new = download_file(client, server.url(FILE), dest, **FAST)

    last = server.requests_to(FILE)[-1]
    assert (last.headers["if-none-match"], last.status) == (old.etag, 200)
    assert new.downloaded and new.etag == server.file(FILE).etag != old.etag
    assert dest.read_bytes() == new_gz and meta_of(dest)["sha256"] == sha256_of(new_gz)


def test_connection_cut_mid_body_resumes_with_range_in_the_same_call(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    server.cut_next(FILE, after_bytes=CUT_AFTER)

    result = download_file(client, server.url(FILE), dest, **FAST)

    broken, resumed = server.requests_to(FILE, "GET")
    assert (broken.status, broken.body_bytes_sent) == (200, CUT_AFTER)
    start = int(resumed.headers["range"].removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= CUT_AFTER
    assert resumed.headers["if-range"] == server.file(FILE).etag
    # Only the missing bytes travelled the second time.
    assert (resumed.status, resumed.body_bytes_sent) == (206, len(GZ) - start)
    assert (result.resumed, result.attempts) == (True, 2)
    assert dest.read_bytes() == GZ
    assert result.sha256 == meta_of(dest)["sha256"] == sha256_of(GZ)


def test_broken_transfer_from_an_earlier_run_is_resumed_and_hashed_whole(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    kept = break_a_transfer(server, client, dest)
    assert not dest.exists()

    result = download_file(client, server.url(FILE), dest, **FAST)

    last = server.requests_to(FILE)[-1]
    assert (last.headers["range"], last.headers["if-range"], last.status) == (
        f"bytes={kept}-",
        server.file(FILE).etag,
        206,
    )
    assert (result.resumed, result.attempts) == (True, 1)
    assert dest.read_bytes() == GZ and result.sha256 == sha256_of(GZ)
    assert not part_of(dest).exists() and not (tmp_path / "title.basics.tsv.gz.part.meta.json").exists()


def test_file_changed_since_the_broken_transfer_starts_over(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    break_a_transfer(server, client, dest)
    old_etag = server.file(FILE).etag
    new_gz = gzip.compress(PAYLOAD[::-1], compresslevel=1)
    server.set_file(FILE, new_gz)

    result = download_file(client, server.url(FILE), dest, **FAST)

    last = server.requests_to(FILE)[-1]
    assert (last.headers["if-range"], last.status) == (old_etag, 200)
    assert not result.resumed
    assert dest.read_bytes() == new_gz and result.sha256 == sha256_of(new_gz)


def test_server_ignoring_ranges_starts_over(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    break_a_transfer(server, client, dest)
    server.ranges_enabled = False

    result = download_file(client, server.url(FILE), dest, **FAST)

    last = server.requests_to(FILE)[-1]
    assert "range" in last.headers and last.status == 200
    assert not result.resumed and dest.read_bytes() == GZ and result.sha256 == sha256_of(GZ)


def test_416_on_resume_starts_over(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    break_a_transfer(server, client, dest)
    # Same ETag (If-Range holds) but now shorter than what we hold: the range is not satisfiable.
    short_gz = gzip.compress(b"short\n")
    server.set_file(FILE, short_gz, etag=server.file(FILE).etag)

    result = download_file(client, server.url(FILE), dest, **FAST)

    assert [r.status for r in server.requests_to(FILE)[-2:]] == [416, 200]
    assert "range" not in server.requests_to(FILE)[-1].headers
    assert (result.attempts, result.resumed) == (2, False)
    assert dest.read_bytes() == short_gz


def test_416_for_a_part_that_already_holds_every_byte_completes_it(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    kept = break_a_transfer(server, client, dest)
    with part_of(dest).open("ab") as part:  # as if the rest had arrived just before the run was killed
        part.write(GZ[kept:])

    result = download_file(client, server.url(FILE), dest, **FAST)

    last = server.requests_to(FILE)[-1]
    assert (last.headers["range"], last.status) == (f"bytes={len(GZ)}-", 416)
    assert (result.attempts, result.resumed) == (1, True)
    assert dest.read_bytes() == GZ and result.sha256 == sha256_of(GZ)


def test_304_discards_a_stale_broken_transfer_and_keeps_the_good_file(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    download_file(client, server.url(FILE), dest, **FAST)
    server.set_file(FILE, gzip.compress(PAYLOAD[::-1], compresslevel=1))
    break_a_transfer(server, client, dest)
    assert dest.read_bytes() == GZ  # the failed update left the previous file intact
    server.set_file(FILE, GZ)  # the release was withdrawn: the server is back to what we hold

    result = download_file(client, server.url(FILE), dest, **FAST)

    last = server.requests_to(FILE)[-1]
    assert "range" in last.headers and last.status == 304
    assert not result.downloaded and dest.read_bytes() == GZ
    assert not part_of(dest).exists()


def test_5xx_twice_then_success(server, client, tmp_path):
    dest = tmp_path / "title.basics.tsv.gz"
    server.fail_next(FILE, times=2, status=503)

    result = download_file(client, server.url(FILE), dest, **FAST)

    assert [r.status for r in server.requests_to(FILE)] == [503, 503, 200]
    assert result.attempts == 3 and dest.read_bytes() == GZ


def test_backoff_doubles_with_small_jitter(server, client, tmp_path, monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(http_download.time, "sleep", delays.append)
    server.fail_next(FILE, times=3, status=500)

    result = download_file(client, server.url(FILE), tmp_path / "f.gz", backoff_seconds=1.0)

    assert result.attempts == 4
    assert len(delays) == 3
    for delay, base in zip(delays, (1.0, 2.0, 4.0), strict=True):
        assert base <= delay <= base * 1.1


def test_persistent_5xx_gives_up_after_max_attempts(server, client, tmp_path):
    server.fail_next(FILE, times=10, status=502)
    url = server.url(FILE)

    with pytest.raises(DownloadError) as error:
        download_file(client, url, tmp_path / "f.gz", max_attempts=3, **FAST)

    assert url in str(error.value) and "502" in str(error.value) and "3 failed attempts" in str(error.value)
    assert len(server.requests_to(FILE)) == 3
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_is_retried_then_reported(client, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/title.basics.tsv.gz"

    with pytest.raises(DownloadError, match=r"gave up after 2 failed attempts.*ConnectError") as error:
        download_file(client, url, tmp_path / "f.gz", max_attempts=2, **FAST)
    assert url in str(error.value)


def test_404_fails_at_once_naming_the_url(server, client, tmp_path):
    url = server.url("/no-such-file.tsv.gz")

    with pytest.raises(DownloadError, match="HTTP 404") as error:
        download_file(client, url, tmp_path / "f.gz", max_attempts=5, **FAST)

    assert url in str(error.value)
    assert len(server.requests_to("/no-such-file.tsv.gz")) == 1
    assert list(tmp_path.iterdir()) == []


def test_head_validators_returns_the_servers_etag_and_last_modified(server, client):
    served = server.file(FILE)

    assert head_validators(client, server.url(FILE)) == (served.etag, served.last_modified_header)

    (head,) = server.requests_to(FILE)
    assert (head.method, head.status, head.body_bytes_sent) == ("HEAD", 200, 0)
    with pytest.raises(DownloadError, match="HEAD .*/missing.gz: HTTP 404"):
        head_validators(client, server.url("/missing.gz"))
