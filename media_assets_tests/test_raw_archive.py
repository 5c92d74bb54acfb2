"""Issue 12's probes: the raw archive is ours, verified before it replaces anything, never changed once its day is
published, and every real line is kept. Real files, real processes, real Dagster runs."""

import datetime as dt
import gzip
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from media_assets.clean.assets import clean_asset_key, file_assets
from media_assets.clean.schemas import MAX_ORDERING
from media_assets.clean.transforms import clean_title_principals
from media_assets.io_managers import ParquetIOManager
from media_assets.resources import DataLake
from media_assets.sources.archive import Outcome, sidecar_path
from media_assets.sources.assets import ARCHIVE_CHECK_NAME, raw_asset_key
from media_assets.sources.imdb_files import IMDB_FILES, TITLE_BASICS, TITLE_PRINCIPALS, TITLE_RATINGS, ImdbFile
from media_assets.sources.imdb_source import FileImdbSource, HttpImdbSource, ImdbSource
from media_assets.sources.raw_files import RawFileError
from media_assets_tests.dagster_support import materialization_of
from media_assets_tests.http_fixtures import LocalFileServer

DAY = dt.date(2026, 3, 1)
PARTITION = DAY.isoformat()
RATINGS_LINES = ["tt0000001\t5.7\t2150", "tt0000002\t6.1\t300"]


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def gz(imdb_file: ImdbFile, lines: list[str], header: str | None = None, line_end: str = "\n") -> bytes:
    text = line_end.join([imdb_file.header_line if header is None else header, *lines]) + line_end
    return gzip.compress(text.encode("utf-8"), mtime=0)


def put(mirror: Path, day: dt.date, imdb_file: ImdbFile, data: bytes) -> Path:
    """`data` as the dated mirror's file of `day`."""
    path = mirror / day.isoformat() / imdb_file.file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lake_resources(tmp_path: Path, source: ImdbSource) -> dict:
    data_lake = DataLake(root=str(tmp_path / "data"))
    return {"imdb_source": source, "data_lake": data_lake, "io_manager": ParquetIOManager(data_lake=data_lake)}


def materialize(resources: dict, imdb_files=IMDB_FILES, partition: str = PARTITION) -> dg.ExecuteInProcessResult:
    """The raw and clean assets of `imdb_files` for one day."""
    keys = [raw_asset_key(f) for f in imdb_files] + [clean_asset_key(f) for f in imdb_files]
    return dg.materialize(
        file_assets,
        selection=keys,
        partition_key=partition,
        resources=resources,
        raise_on_error=False,
    )


def raw_metadata(result: dg.ExecuteInProcessResult, imdb_file: ImdbFile) -> dict:
    materialization = materialization_of(result, raw_asset_key(imdb_file))
    return {key: value.value for key, value in materialization.metadata.items()}


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    [failure] = [event for event in result.all_events if event.is_step_failure]
    return failure.step_failure_data.error.cause.message


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*.tmp"))


def publish(data_lake: DataLake, day: dt.date, tmp_path: Path) -> None:
    """Publish `day` through the real published state (a one-row dim_title stands in for the model)."""
    staged = tmp_path / "staged_dim_title.parquet"
    pl.DataFrame({"title_id": [1]}).write_parquet(staged)
    data_lake.published.publish(day, "run-1", {"dim_title": staged}, predecessor=None, quality_report=None)


def test_an_in_place_update_of_the_mirror_leaves_a_published_archive_unchanged(tmp_path):
    mirror = tmp_path / "mirror"
    source_file = put(mirror, DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES))
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(mirror / "{date}")))
    assert materialize(resources, [TITLE_RATINGS]).success
    archive = resources["data_lake"].raw_dir(PARTITION) / TITLE_RATINGS.file_name
    archived_inode, archived_sha = archive.stat().st_ino, sha256(archive)
    publish(resources["data_lake"], DAY, tmp_path)

    # `cp -p new file`: the same inode rewritten, same size, the old mtime put back.
    stat = source_file.stat()
    changed = gz(TITLE_RATINGS, ["tt0000001\t9.9\t2150", "tt0000002\t1.1\t300"])
    assert len(changed) == stat.st_size
    with source_file.open("r+b") as rewrite:
        rewrite.write(changed)
    os.utime(source_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (source_file.stat().st_ino, archive.stat().st_ino) == (stat.st_ino, archived_inode)
    assert sha256(archive) == archived_sha  # a copy, not a link: the mirror's write did not reach it

    rerun = materialize(resources, [TITLE_RATINGS])
    assert rerun.success
    metadata = raw_metadata(rerun, TITLE_RATINGS)
    assert metadata["outcome"] == "source_changed_not_applied"
    assert f"sha256 {hashlib.sha256(changed).hexdigest()}" in metadata["warning"]
    assert "IMDB_REFETCH_PUBLISHED=1" in metadata["warning"]
    assert (archive.stat().st_ino, sha256(archive)) == (archived_inode, archived_sha)

    # The operator asks for it explicitly: the published day's archive is replaced.
    refetch = lake_resources(tmp_path, FileImdbSource(folder=str(mirror / "{date}"), refetch_published=True))
    assert raw_metadata(materialize(refetch, [TITLE_RATINGS]), TITLE_RATINGS)["outcome"] == "fetched"
    assert archive.read_bytes() == changed


def test_a_truncated_mirror_file_leaves_the_good_archive_and_fails_naming_the_mirror_path(tmp_path):
    mirror = tmp_path / "mirror"
    good = gz(TITLE_RATINGS, RATINGS_LINES * 500)
    source_file = put(mirror, DAY, TITLE_RATINGS, good)
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(mirror / "{date}")))
    assert materialize(resources, [TITLE_RATINGS]).success
    archive = resources["data_lake"].raw_dir(PARTITION) / TITLE_RATINGS.file_name
    inode = archive.stat().st_ino

    source_file.write_bytes(good[: len(good) // 2])
    result = materialize(resources, [TITLE_RATINGS])
    assert not result.success
    message = failure_message(result)
    assert f"{source_file}: truncated gzip" in message
    assert archive.read_bytes() == good and archive.stat().st_ino == inode
    assert leftovers(tmp_path / "data") == []


CONCURRENT_FETCH = textwrap.dedent(
    """
    import datetime as dt, sys
    from media_assets.sources.imdb_files import TITLE_PRINCIPALS
    from media_assets.sources.imdb_source import FileImdbSource
    from pathlib import Path
    result = FileImdbSource(folder=sys.argv[1]).archive(
        TITLE_PRINCIPALS, dt.date.fromisoformat(sys.argv[2]), Path(sys.argv[3]), published=False
    )
    print(result.outcome.value)
    """
)


def test_three_concurrent_fetches_of_one_day_damage_nothing(tmp_path):
    mirror = tmp_path / "mirror"
    lines = [f'tt{n:07d}\t{n % 9 + 1}\tnm{n:07d}\tactor\t\\N\t["Role {n}"]' for n in range(1, 300_000)]
    source_file = put(mirror, DAY, TITLE_PRINCIPALS, gz(TITLE_PRINCIPALS, lines))
    source_sha, source_inode = sha256(source_file), source_file.stat().st_ino
    raw_root = tmp_path / "raw"
    fetches = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_FETCH, str(mirror / "{date}"), PARTITION, str(raw_root)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = sorted(fetch.communicate(timeout=120)[0].strip() for fetch in fetches)
    assert [fetch.returncode for fetch in fetches] == [0, 0, 0]
    assert outcomes == ["fetched", "unchanged", "unchanged"]
    archive = raw_root / PARTITION / TITLE_PRINCIPALS.file_name
    assert sha256(archive) == source_sha == sha256(source_file)
    assert source_file.stat().st_ino == source_inode and archive.stat().st_ino != source_inode
    assert sorted(path.name for path in archive.parent.iterdir()) == [
        TITLE_PRINCIPALS.file_name,
        TITLE_PRINCIPALS.file_name + ".raw.json",
    ]


def test_a_live_mirror_whose_content_did_not_change_archives_no_new_day(tmp_path):
    yesterday, data = today() - dt.timedelta(days=1), gz(TITLE_RATINGS, RATINGS_LINES)
    dated, live = tmp_path / "dated", tmp_path / "live"
    put(dated, yesterday, TITLE_RATINGS, data)
    (live / TITLE_RATINGS.file_name).parent.mkdir(parents=True)
    (live / TITLE_RATINGS.file_name).write_bytes(data)
    archived = materialize(
        lake_resources(tmp_path, FileImdbSource(folder=str(dated / "{date}"))), [TITLE_RATINGS], yesterday.isoformat()
    )
    assert archived.success

    live_source = FileImdbSource(folder=str(live))
    assert live_source.live
    resources = lake_resources(tmp_path, live_source)
    result = materialize(resources, [TITLE_RATINGS], today().isoformat())
    assert result.success
    assert result.get_asset_materialization_events() == []  # neither the raw file nor its clean table
    assert not (resources["data_lake"].raw_dir(today().isoformat()) / TITLE_RATINGS.file_name).exists()
    assert not resources["data_lake"].table_path("clean_title_ratings", today().isoformat()).exists()

    # A new release is archived under today.
    (live / TITLE_RATINGS.file_name).write_bytes(gz(TITLE_RATINGS, RATINGS_LINES[:1]))
    assert raw_metadata(materialize(resources, [TITLE_RATINGS], today().isoformat()), TITLE_RATINGS)["fetched"]


def test_a_past_day_without_archive_fails_from_a_live_mirror_as_from_http(tmp_path):
    past = today() - dt.timedelta(days=5)
    (tmp_path / "live").mkdir()
    with pytest.raises(FileNotFoundError) as from_mirror:
        FileImdbSource(folder=str(tmp_path / "live")).archive(TITLE_RATINGS, past, tmp_path / "raw", False)
    # The server serves the file of another day (its Last-Modified is in 2023): one HEAD tells, nothing is fetched.
    with LocalFileServer({"/" + TITLE_RATINGS.file_name: b"a newer release"}) as server:
        base_url = server.url("/")
        with pytest.raises(FileNotFoundError) as from_http:
            HttpImdbSource(base_url=base_url).archive(TITLE_RATINGS, past, tmp_path / "raw", False)
        assert [request.method for request in server.requests] == ["HEAD"]
    assert "serves only the current snapshot" in str(from_mirror.value)
    assert str(from_mirror.value).replace(str(tmp_path / "live"), "<source>") == str(from_http.value).replace(
        base_url, "<source>"
    )


NOT_UTF8_CASES = {
    # imdb_file: (the good lines 2 and 4, line 3 in Latin-1, the table's columns shown, their rows)
    TITLE_BASICS: (
        ["tt0000001\tmovie\tAmélie\tAmélie\t0\t2001\t\\N\t122\tComedy", "tt0000003\tshort\tX\tX\t0\t1999\t\\N\t5\t\\N"],
        b"tt0000002\tmovie\tAm\xe9lie\tAm\xe9lie\t0\t2001\t\\N\t122\tComedy",
        ("title_id", "primary_title"),
        [(1, "Amélie"), (3, "X")],
    ),
    # Read by the compiled parser, which leaves the line out by its number.
    TITLE_PRINCIPALS: (
        ['tt0000001\t1\tnm0000001\tactor\t\\N\t["Amélie"]', "tt0000001\t3\tnm0000003\tself\t\\N\t\\N"],
        b'tt0000001\t2\tnm0000002\tactress\t\\N\t["Am\xe9lie"]',
        ("title_id", "ordering", "characters"),
        [(1, 1, '["Amélie"]'), (1, 3, None)],
    ),
}


@pytest.mark.parametrize("imdb_file", list(NOT_UTF8_CASES), ids=lambda imdb_file: imdb_file.dataset)
def test_a_line_that_is_not_utf8_is_quarantined_with_its_bytes_and_the_other_lines_kept(tmp_path, imdb_file):
    good, latin1, columns, rows = NOT_UTF8_CASES[imdb_file]
    body = b"\n".join([imdb_file.header_line.encode(), good[0].encode(), latin1, good[1].encode()]) + b"\n"
    put(tmp_path / "mirror", DAY, imdb_file, gzip.compress(body))
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))
    result = materialize(resources, [imdb_file])
    assert result.success
    assert raw_metadata(result, imdb_file)["invalid_utf8_lines"] == 1
    clean_name = f"clean_{imdb_file.asset_suffix}"
    clean = materialization_of(result, clean_name)
    assert clean.metadata["quarantined_by_reason"].value == {"invalid_utf8": 1}
    assert clean.metadata["rows_in"].value == 3
    data_lake = resources["data_lake"]
    table = pl.read_parquet(data_lake.table_path(clean_name, PARTITION))
    assert table.select(columns).rows() == rows
    quarantined = pl.read_parquet(data_lake.quarantine_dir(PARTITION) / f"{imdb_file.dataset}.quarantined.parquet")
    assert quarantined.rows() == [(3, "invalid_utf8", latin1.decode("utf-8", "replace"), latin1)]


def test_ordering_10000_is_quarantined_with_its_line_and_does_not_fail_the_day(tmp_path):
    lines = [f"tt0000001\t{MAX_ORDERING}\tnm0000001\tactor\t\\N\t\\N", "tt0000001\t10000\tnm0000002\tactor\t\\N\t\\N"]
    raw = tmp_path / TITLE_PRINCIPALS.file_name
    raw.write_bytes(gz(TITLE_PRINCIPALS, lines))
    plan = clean_title_principals(raw, DAY)
    table, quarantined = pl.collect_all([plan.table, plan.quarantined])
    assert table.select("title_id", "ordering", "person_id").rows() == [(1, 9999, 1)]
    assert quarantined.drop("raw_bytes").rows() == [(3, "bad_ordering", lines[1])]
    # What the clean layer lets through is what the model's credit id holds.


def test_a_bom_and_crlf_file_is_accepted_and_recorded(tmp_path):
    data = b"\xef\xbb\xbf" + gzip.decompress(gz(TITLE_RATINGS, RATINGS_LINES, line_end="\r\n"))
    put(tmp_path / "mirror", DAY, TITLE_RATINGS, gzip.compress(data))
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))
    result = materialize(resources, [TITLE_RATINGS])
    assert result.success
    metadata = raw_metadata(result, TITLE_RATINGS)
    assert (metadata["bom"], metadata["line_ends"], metadata["lines"]) == (True, "CRLF", 3)
    clean = materialization_of(result, "clean_title_ratings")
    assert clean.metadata["quarantined_rows"].value == 0
    table = pl.read_parquet(resources["data_lake"].table_path("clean_title_ratings", PARTITION))
    assert table.rows() == [(1, "tt0000001", 5.7, 2150), (2, "tt0000002", 6.1, 300)]


def test_an_appended_column_is_tolerated_recorded_and_warned_about(tmp_path):
    header = TITLE_RATINGS.header_line + "\tnewColumn"
    put(tmp_path / "mirror", DAY, TITLE_RATINGS, gz(TITLE_RATINGS, [f"{line}\tx" for line in RATINGS_LINES], header))
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            file_assets,
            partition_key=PARTITION,
            resources=resources,
            instance=instance,
            selection=[raw_asset_key(TITLE_RATINGS), clean_asset_key(TITLE_RATINGS)],
        )
        warnings = [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.step_key == "title_ratings" and entry.level == logging.WARNING
        ]
    assert any("line 1 has columns after IMDb's: ['newColumn']" in message for message in warnings), warnings
    assert raw_metadata(result, TITLE_RATINGS)["appended_columns"] == ["newColumn"]
    table = pl.read_parquet(resources["data_lake"].table_path("clean_title_ratings", PARTITION))
    assert table.rows() == [(1, "tt0000001", 5.7, 2150), (2, "tt0000002", 6.1, 300)]


def test_a_renamed_column_is_refused_with_a_diff_and_the_archive_kept(tmp_path):
    mirror = tmp_path / "mirror"
    good = gz(TITLE_RATINGS, RATINGS_LINES)
    source_file = put(mirror, DAY, TITLE_RATINGS, good)
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(mirror / "{date}")))
    assert materialize(resources, [TITLE_RATINGS]).success
    source_file.write_bytes(gz(TITLE_RATINGS, RATINGS_LINES, header="tconst\taverageRating\tvotes"))
    result = materialize(resources, [TITLE_RATINGS])
    assert not result.success
    message = failure_message(result)
    assert f"{source_file}: line 1: the header of title.ratings.tsv.gz" in message
    assert "missing: ['numVotes']; not expected: ['votes']" in message
    assert (resources["data_lake"].raw_dir(PARTITION) / TITLE_RATINGS.file_name).read_bytes() == good


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from media_assets.atomic_files import temporary_sibling
    from media_assets.sources.imdb_files import TITLE_RATINGS
    from media_assets.sources.raw_files import copy_verified
    fifo, archive, *others = map(Path, sys.argv[1:])
    for path in others:  # a table and a quarantine file half written
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary_sibling(path).write_bytes(b"PAR1 half a file")
    print("writing", flush=True)
    copy_verified(fifo, temporary_sibling(archive), TITLE_RATINGS, str(fifo))  # blocks: the fifo stays open
    """
)


def test_a_run_killed_mid_write_leaves_no_temporary_after_the_next_run(tmp_path):
    mirror = tmp_path / "mirror"
    put(mirror, DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES))
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(mirror / "{date}")))
    data_lake = resources["data_lake"]
    archive = data_lake.raw_dir(PARTITION) / TITLE_RATINGS.file_name
    archive.parent.mkdir(parents=True)
    fifo = tmp_path / "slow_source"
    os.mkfifo(fifo)
    table = data_lake.table_path("clean_title_ratings", PARTITION)
    quarantine = data_lake.quarantine_dir(PARTITION) / "title.ratings.quarantined.parquet"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(fifo), str(archive), str(table), str(quarantine)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    killed, alive = writers
    with fifo.open("wb") as feed:
        for writer in writers:
            assert writer.stdout.readline().strip() == "writing"
        feed.write(gzip.compress(b"x" * 5_000_000)[:200_000])
        feed.flush()
        deadline = time.monotonic() + 30
        while len(leftovers(tmp_path / "data")) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(leftovers(tmp_path / "data")) == 6  # three per writer
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        try:
            assert materialize(resources, [TITLE_RATINGS]).success
            names = leftovers(tmp_path / "data")
            assert len(names) == 3 and all(f".{alive.pid}-" in name for name in names), names
        finally:
            alive.send_signal(signal.SIGKILL)
            alive.wait(timeout=30)
    assert materialize(resources, [TITLE_RATINGS]).success
    assert leftovers(tmp_path / "data") == []


def test_one_bad_file_of_four_still_cleans_the_other_three(tmp_path):
    mirror = tmp_path / "mirror"
    for imdb_file in IMDB_FILES:
        put(mirror, DAY, imdb_file, gz(imdb_file, []))
    bad = put(mirror, DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES)[:-9])
    result = materialize(lake_resources(tmp_path, FileImdbSource(folder=str(mirror / "{date}"))))
    assert not result.success
    assert f"{bad}: truncated gzip" in failure_message(result)
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    others = [imdb_file for imdb_file in IMDB_FILES if imdb_file != TITLE_RATINGS]
    assert materialized == {raw_asset_key(f) for f in others} | {clean_asset_key(f) for f in others}
    started = {event.step_key for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_START}
    assert started == {imdb_file.asset_suffix for imdb_file in IMDB_FILES}  # one step per file


def test_too_little_free_space_fails_before_writing_anything(tmp_path):
    put(tmp_path / "mirror", DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES))
    source = FileImdbSource(folder=str(tmp_path / "mirror" / "{date}"), min_free_bytes=1 << 62)
    with pytest.raises(OSError, match="not enough free space") as error:
        source.archive(TITLE_RATINGS, DAY, tmp_path / "raw", published=False)
    assert "min_free_bytes" in str(error.value)
    assert list((tmp_path / "raw" / PARTITION).iterdir()) == []


def test_the_archive_check_notices_a_changed_file(tmp_path):
    put(tmp_path / "mirror", DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES))
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))
    check_key = dg.AssetCheckKey(raw_asset_key(TITLE_RATINGS), ARCHIVE_CHECK_NAME)

    # The check alone, as an operator runs it over past days.
    defs = dg.Definitions(
        assets=file_assets,
        jobs=[dg.define_asset_job("archive_audit", selection=dg.AssetSelection.checks(check_key))],
        resources=resources,
    )

    def run_check() -> dg.AssetCheckEvaluation:
        # Tagged, not `partition_key=`: execute_in_process finds no partitions definition in a job of checks only.
        result = defs.resolve_job_def("archive_audit").execute_in_process(
            tags={"dagster/partition": PARTITION}, raise_on_error=False
        )
        [evaluation] = result.get_asset_check_evaluations()
        # A blocking check that fails fails its step, so the audit run fails too.
        assert result.success is evaluation.passed
        return evaluation

    assert materialize(resources, [TITLE_RATINGS]).success
    assert run_check().passed
    archive = resources["data_lake"].raw_dir(PARTITION) / TITLE_RATINGS.file_name
    recorded = sha256(archive)
    archive.write_bytes(gz(TITLE_RATINGS, RATINGS_LINES[:1]))
    evaluation = run_check()
    assert not evaluation.passed
    assert evaluation.metadata["recorded_sha256"].value == recorded
    assert evaluation.metadata["sha256"].value == sha256(archive)
    assert f"{archive} changed since it was archived" in evaluation.metadata["problem"].value


def test_an_unchanged_source_is_known_by_its_identity_and_a_touched_one_by_its_sha256(tmp_path):
    source_file = put(tmp_path / "mirror", DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES))
    source = FileImdbSource(folder=str(tmp_path / "mirror" / "{date}"))
    assert source.archive(TITLE_RATINGS, DAY, tmp_path / "raw", published=False).outcome is Outcome.FETCHED
    sidecar = sidecar_path(tmp_path / "raw" / PARTITION / TITLE_RATINGS.file_name)
    recorded = sidecar.stat().st_ino
    # Same identity: nothing is read, nothing rewritten.
    assert source.archive(TITLE_RATINGS, DAY, tmp_path / "raw", published=False).outcome is Outcome.UNCHANGED
    assert sidecar.stat().st_ino == recorded
    # Touched (a new mtime and ctime, the same bytes): read and hashed, found unchanged, its new identity recorded.
    os.utime(source_file, ns=(1, 1))
    assert source.archive(TITLE_RATINGS, DAY, tmp_path / "raw", published=False).outcome is Outcome.UNCHANGED
    assert sidecar.stat().st_ino != recorded
    assert json.loads(sidecar.read_text())["source_identity"]["mtime_ns"] == 1


FULL_DISK_FETCH = textwrap.dedent(
    """
    import datetime as dt, resource, signal, sys
    from pathlib import Path
    from media_assets.sources.imdb_files import TITLE_PRINCIPALS
    from media_assets.sources.imdb_source import FileImdbSource
    # The file system takes no more than 64 KiB per file from this process: a disk that fills up mid-copy.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65_536, 65_536))
    try:
        FileImdbSource(folder=sys.argv[1]).archive(
            TITLE_PRINCIPALS, dt.date.fromisoformat(sys.argv[2]), Path(sys.argv[3]), published=False
        )
    except OSError as error:
        print(error)
    """
)


def test_a_disk_that_fills_up_mid_copy_fails_clearly_and_leaves_nothing_partial(tmp_path):
    mirror = tmp_path / "mirror"
    old = put(mirror, DAY, TITLE_PRINCIPALS, gz(TITLE_PRINCIPALS, ["tt0000001\t1\tnm0000001\tactor\t\\N\t\\N"]))
    raw_root = tmp_path / "raw"
    FileImdbSource(folder=str(mirror / "{date}")).archive(TITLE_PRINCIPALS, DAY, raw_root, published=False)
    archive = raw_root / PARTITION / TITLE_PRINCIPALS.file_name
    kept = archive.read_bytes()
    lines = [f'tt{n:07d}\t1\tnm{n:07d}\tself\t\\N\t["{os.urandom(8).hex()}"]' for n in range(1, 20_000)]
    old.write_bytes(gz(TITLE_PRINCIPALS, lines))
    assert old.stat().st_size > 65_536
    fetch = subprocess.run(
        [sys.executable, "-c", FULL_DISK_FETCH, str(mirror / "{date}"), PARTITION, str(raw_root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fetch.returncode == 0, fetch.stderr
    assert f"disk full while archiving {old} into {raw_root / PARTITION}" in fetch.stdout
    assert "the partial copy was removed and the archive left as it was" in fetch.stdout
    assert archive.read_bytes() == kept
    assert leftovers(raw_root) == []


def test_an_archive_of_an_earlier_version_is_adopted_on_an_inode_of_its_own(tmp_path):
    # The earlier version hard-linked the mirror's file into raw/<day>/ and kept `.stats.json` beside it.
    source_file = put(tmp_path / "mirror", DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES))
    archive = tmp_path / "raw" / PARTITION / TITLE_RATINGS.file_name
    archive.parent.mkdir(parents=True)
    os.link(source_file, archive)
    (archive.parent / (archive.name + ".stats.json")).write_text("{}")
    result = FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")).archive(
        TITLE_RATINGS, DAY, tmp_path / "raw", published=True
    )
    assert result.outcome is Outcome.UNCHANGED
    assert archive.stat().st_ino != source_file.stat().st_ino and archive.read_bytes() == source_file.read_bytes()
    assert sorted(path.name for path in archive.parent.iterdir()) == [archive.name, archive.name + ".raw.json"]


def test_a_truncated_download_fails_naming_the_url_and_is_downloaded_again_next_time(tmp_path):
    good = gz(TITLE_RATINGS, RATINGS_LINES * 500)
    with LocalFileServer({"/title.ratings.tsv.gz": good}) as server:
        source = HttpImdbSource(base_url=server.url("/"), max_attempts=1)
        assert source.archive(TITLE_RATINGS, today(), tmp_path, published=False).outcome is Outcome.FETCHED
        archive = tmp_path / today().isoformat() / TITLE_RATINGS.file_name
        server.set_file("/title.ratings.tsv.gz", good[:-100])
        with pytest.raises(RawFileError) as error:
            source.archive(TITLE_RATINGS, today(), tmp_path, published=False)
        assert str(error.value).startswith(f"{server.url('/title.ratings.tsv.gz')}: truncated gzip")
        assert archive.read_bytes() == good
        # The bad download is not kept as the current version: the next run asks for the whole file again.
        server.set_file("/title.ratings.tsv.gz", good)
        gets_before = len(server.requests_to("/title.ratings.tsv.gz", method="GET"))
        assert source.archive(TITLE_RATINGS, today(), tmp_path, published=False).outcome is Outcome.UNCHANGED
        [again] = server.requests_to("/title.ratings.tsv.gz", method="GET")[gets_before:]
        assert again.status == 200
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "header, diff",
    [
        ("tconst\tnumVotes\taverageRating", "same columns, other order: column 2 is 'numVotes', expected"),
        ("tconst\taverageRating", "missing: ['numVotes']; not expected: none"),
    ],
)
def test_a_reordered_or_missing_column_is_refused_with_a_diff(tmp_path, header, diff):
    source_file = put(tmp_path / "mirror", DAY, TITLE_RATINGS, gz(TITLE_RATINGS, [], header=header))
    with pytest.raises(RawFileError) as error:
        FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")).archive(TITLE_RATINGS, DAY, tmp_path / "raw", False)
    assert str(error.value).startswith(f"{source_file}: line 1: the header of title.ratings.tsv.gz")
    assert diff in str(error.value)


def test_a_touched_archive_is_still_the_archive_and_a_changed_one_of_a_published_day_stops_its_clean_step(tmp_path):
    put(tmp_path / "mirror", DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES))
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))
    assert materialize(resources, [TITLE_RATINGS]).success
    publish(resources["data_lake"], DAY, tmp_path)
    archive = resources["data_lake"].raw_dir(PARTITION) / TITLE_RATINGS.file_name
    os.utime(archive)  # a new mtime and ctime, the same bytes
    touched = materialize(resources, [TITLE_RATINGS])
    assert touched.success and raw_metadata(touched, TITLE_RATINGS)["outcome"] == "unchanged"

    archive.write_bytes(gz(TITLE_RATINGS, RATINGS_LINES[:1]))  # the bytes themselves change
    changed = materialize(resources, [TITLE_RATINGS])
    assert not changed.success
    assert "the archived file changed on disk" in raw_metadata(changed, TITLE_RATINGS)["warning"]
    [evaluation] = changed.get_asset_check_evaluations()
    assert not evaluation.passed
    # The check blocks the clean table, built in the same step after it.
    assert [event.asset_key for event in changed.get_asset_materialization_events()] == [raw_asset_key(TITLE_RATINGS)]


PRINCIPALS_LINES = [
    'tt0000001\t1\tnm0000001\tactor\t\\N\t["Amélie", "Nino \\"the\\" Quincampoix"]',
    "tt0000001\t2\tnm0000002\tdirector\t\\N\t\\N",
    "tt0000001\t2\tnm0000003\twriter\t\\N\t\\N",  # a repeated key
    "tt0000002\t1\tnm0000004\tself\t\\N\t[not json]",  # characters nulled
    "tt0000002\tx\tnm0000005\tself\t\\N\t\\N",  # quarantined: the ordering
    "tt0000003\t1\tnm0000006",  # quarantined: the field count
]
CLEANED_ALONG_CASES = {
    # case: (the file's data lines, whether the one pass's tables were kept)
    "sorted": (PRINCIPALS_LINES, True),
    "keys out of order": ([*PRINCIPALS_LINES[3:], *PRINCIPALS_LINES[:3]], False),
    "a line not UTF-8": ([*PRINCIPALS_LINES, 'tt0000004\t1\tnm0000007\tactor\t\\N\t["Am\udce9lie"]'], False),
}


def clean_files(data_lake: DataLake, imdb_file: ImdbFile) -> dict[str, bytes]:
    """The bytes of the clean table and its side tables of `imdb_file` for the test day."""
    quarantine = data_lake.quarantine_dir(PARTITION)
    return {
        "table": data_lake.table_path(f"clean_{imdb_file.asset_suffix}", PARTITION).read_bytes(),
        "quarantined": (quarantine / f"{imdb_file.dataset}.quarantined.parquet").read_bytes(),
        "nulled": (quarantine / f"{imdb_file.dataset}.nulled.parquet").read_bytes(),
    }


@pytest.mark.parametrize("case", list(CLEANED_ALONG_CASES))
def test_a_file_cleaned_as_it_is_archived_gives_the_bytes_its_archive_cleaned_alone_gives(tmp_path, case):
    lines, kept = CLEANED_ALONG_CASES[case]
    text = "\n".join([TITLE_PRINCIPALS.header_line, *lines]) + "\n"
    put(tmp_path / "mirror", DAY, TITLE_PRINCIPALS, gzip.compress(text.encode("utf-8", "surrogateescape"), mtime=0))
    source = FileImdbSource(folder=str(tmp_path / "mirror" / "{date}"))

    along = lake_resources(tmp_path / "along", source)
    result = materialize(along, [TITLE_PRINCIPALS])
    assert result.success
    assert [event.step_key for event in result.all_events if event.is_step_start] == ["title_principals"]
    clean = materialization_of(result, clean_asset_key(TITLE_PRINCIPALS)).metadata
    assert ("read_with_raw" in clean) == kept

    apart = lake_resources(tmp_path / "apart", source)
    for key in (raw_asset_key(TITLE_PRINCIPALS), clean_asset_key(TITLE_PRINCIPALS)):
        assert dg.materialize(file_assets, selection=[key], partition_key=PARTITION, resources=apart).success
    assert clean_files(along["data_lake"], TITLE_PRINCIPALS) == clean_files(apart["data_lake"], TITLE_PRINCIPALS)
    # And what they hold, checked by hand: the first line of a key wins; the bad lines are quarantined.
    table = pl.read_parquet(along["data_lake"].table_path("clean_title_principals", PARTITION))
    assert sorted(table.select("title_id", "ordering", "person_id").rows()) == [(1, 1, 1), (1, 2, 2), (2, 1, 4)]
    assert table.filter(title_id=1, ordering=1)["characters"].item() == PRINCIPALS_LINES[0].split("\t")[5]
    quarantined = pl.read_parquet(along["data_lake"].quarantine_dir(PARTITION) / "title.principals.quarantined.parquet")
    assert sorted(quarantined["reason"]) == sorted(
        ["duplicate_key", "bad_ordering", "wrong_field_count"] + (["invalid_utf8"] if "UTF-8" in case else [])
    )


def test_a_truncated_file_cleaned_as_it_is_archived_replaces_neither_the_archive_nor_the_tables(tmp_path):
    lines = [f"tt{title:07d}\t1\tnm{title:07d}\tactor\t\\N\t\\N" for title in range(1, 20_000)]
    good = gz(TITLE_PRINCIPALS, lines)
    source_file = put(tmp_path / "mirror", DAY, TITLE_PRINCIPALS, good)
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))
    assert materialize(resources, [TITLE_PRINCIPALS]).success
    archive = resources["data_lake"].raw_dir(PARTITION) / TITLE_PRINCIPALS.file_name
    tables = clean_files(resources["data_lake"], TITLE_PRINCIPALS)

    source_file.write_bytes(gz(TITLE_PRINCIPALS, lines[:-1] + ["tt9999999\t1\tnm0000001\tself\t\\N\t\\N"])[:-100])
    result = materialize(resources, [TITLE_PRINCIPALS])
    assert not result.success
    assert f"{source_file}: truncated gzip" in failure_message(result)
    assert result.get_asset_materialization_events() == []
    assert archive.read_bytes() == good
    assert clean_files(resources["data_lake"], TITLE_PRINCIPALS) == tables
    assert leftovers(tmp_path / "data") == []


def test_the_check_trusts_the_hash_made_while_copying_only_in_the_step_that_copied(tmp_path):
    put(tmp_path / "mirror", DAY, TITLE_RATINGS, gz(TITLE_RATINGS, RATINGS_LINES))
    resources = lake_resources(tmp_path, FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))

    def check_metadata(result: dg.ExecuteInProcessResult) -> dict:
        [evaluation] = result.get_asset_check_evaluations()
        assert evaluation.passed
        return {key: value.value for key, value in evaluation.metadata.items()}

    copied = check_metadata(materialize(resources, [TITLE_RATINGS]))
    archive = resources["data_lake"].raw_dir(PARTITION) / TITLE_RATINGS.file_name
    assert copied["hashed"] == "as it was copied, by this step"
    assert copied["sha256"] == copied["recorded_sha256"] == sha256(archive)
    again = check_metadata(materialize(resources, [TITLE_RATINGS]))  # unchanged: nothing copied, so re-read
    assert again["hashed"] == "re-read now" and again["sha256"] == sha256(archive)


FILE_STEP = textwrap.dedent(
    """
    import sys
    import dagster as dg
    from media_assets.clean.assets import file_assets
    from media_assets.io_managers import ParquetIOManager
    from media_assets.resources import DataLake
    from media_assets.sources.archive import SourceFile
    from media_assets.sources.imdb_source import FileImdbSource
    class FifoSource(FileImdbSource):  # the mirror's file is a fifo, which the file source would refuse
        def offer(self, imdb_file, snapshot_date, cache_dir):
            return SourceFile(self.source_path(imdb_file, snapshot_date), "a fifo", ours=False)
    mirror, data, partition, source = sys.argv[1:]
    lake = DataLake(root=data)
    imdb_source = (FifoSource if source == "fifo" else FileImdbSource)(folder=mirror + "/{date}")
    resources = {"imdb_source": imdb_source, "data_lake": lake, "io_manager": ParquetIOManager(data_lake=lake)}
    result = dg.materialize(file_assets, selection=["raw_title_principals", "clean_title_principals"],
                            partition_key=partition, resources=resources)
    print(result.success)
    """
)


def file_step(tmp_path: Path, source: str) -> subprocess.Popen:
    """title.principals' step of the test day in a process of its own, from the mirror under `tmp_path`."""
    return subprocess.Popen(
        [sys.executable, "-c", FILE_STEP, str(tmp_path / "mirror"), str(tmp_path / "data"), PARTITION, source],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def open_fifo_for_writing(fifo: Path, reader: subprocess.Popen) -> int:
    """The write end of `fifo` once `reader` opened it (fails rather than blocks when it never does)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            assert reader.poll() is None and time.monotonic() < deadline, "the step never opened its source"
            time.sleep(0.05)
            continue
        os.set_blocking(descriptor, True)
        return descriptor


def test_a_file_step_killed_while_it_cleans_the_copy_leaves_nothing_a_rerun_does_not_replace(tmp_path):
    lines = [
        f'tt{title:07d}\t{n}\tnm{title + n:07d}\tactor\t\\N\t["Role {n}"]' for title in range(1, 60_000) for n in (1, 2)
    ]
    data = gz(TITLE_PRINCIPALS, lines)
    mirror_file = tmp_path / "mirror" / PARTITION / TITLE_PRINCIPALS.file_name
    mirror_file.parent.mkdir(parents=True)
    os.mkfifo(mirror_file)  # a source that stops mid-file: the step is then in the middle of its one pass
    step = file_step(tmp_path, "fifo")
    try:
        with os.fdopen(open_fifo_for_writing(mirror_file, step), "wb") as feed:
            feed.write(data[: len(data) // 2])
            feed.flush()
            deadline = time.monotonic() + 60
            # The archive's copy and the three clean files being written, all temporaries.
            while len(leftovers(tmp_path / "data")) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(leftovers(tmp_path / "data")) == 4, leftovers(tmp_path / "data")
            step.send_signal(signal.SIGKILL)
            step.wait(timeout=30)
    finally:
        step.kill()
    mirror_file.unlink()
    mirror_file.write_bytes(data)

    resources = lake_resources(tmp_path, FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))
    assert materialize(resources, [TITLE_PRINCIPALS]).success
    assert leftovers(tmp_path / "data") == []
    archive = resources["data_lake"].raw_dir(PARTITION) / TITLE_PRINCIPALS.file_name
    assert archive.read_bytes() == data
    table = pl.read_parquet(resources["data_lake"].table_path("clean_title_principals", PARTITION))
    assert table.height == len(lines)
    assert table["characters"].to_list() == [line.split("\t")[5] for line in lines]


def test_two_runs_of_a_file_step_at_once_archive_and_clean_it_once_and_both_succeed(tmp_path):
    lines = [f'tt{title:07d}\t1\tnm{title:07d}\tself\t\\N\t["Self {title}"]' for title in range(1, 150_000)]
    data = put(tmp_path / "mirror", DAY, TITLE_PRINCIPALS, gz(TITLE_PRINCIPALS, lines)).read_bytes()
    steps = [file_step(tmp_path, "file") for _ in range(2)]
    assert [step.communicate(timeout=300)[0].strip() for step in steps] == ["True", "True"]

    data_lake = DataLake(root=str(tmp_path / "data"))
    archive = data_lake.raw_dir(PARTITION) / TITLE_PRINCIPALS.file_name
    assert archive.read_bytes() == data
    assert leftovers(tmp_path / "data") == []
    # The one that waited for the file's lock found it archived and its tables made from it, and kept them.
    table = pl.read_parquet(data_lake.table_path("clean_title_principals", PARTITION))
    assert table["characters"].to_list() == [line.split("\t")[5] for line in lines]
    apart = lake_resources(tmp_path / "apart", FileImdbSource(folder=str(tmp_path / "mirror" / "{date}")))
    assert materialize(apart, [TITLE_PRINCIPALS]).success
    assert clean_files(data_lake, TITLE_PRINCIPALS) == clean_files(apart["data_lake"], TITLE_PRINCIPALS)
