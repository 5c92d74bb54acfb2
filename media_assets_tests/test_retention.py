"""Retention: raw files of old published days stored as deltas that give back their exact content, tables pruned and
rebuilt byte for byte, a killed compaction leaving a readable archive, and the instance showing pruned partitions as
not materialized.

The days run the real raw, clean, model, audit and publish assets on the sample source (`test_history.run_day`).
"""

import datetime as dt
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from media_assets.admin import main as admin_main
from media_assets.atomic_files import remove_orphaned_temporaries
from media_assets.clean.assets import clean_asset_key
from media_assets.history_rebuild import history_rebuild_sensor
from media_assets.model.transforms import MODEL_TABLES
from media_assets.publish.assets import PUBLISHED_ASSET
from media_assets.publish.warehouse import sync_warehouse
from media_assets.resources import DataLake
from media_assets.retention.apply import RETENTION_DIR
from media_assets.retention.job import imdb_retention
from media_assets.retention.policy import RetentionPolicy, Role, plan_days
from media_assets.sample.generator import write_sample_snapshot
from media_assets.sources import deltas
from media_assets.sources.archive import (
    ArchiveRequest,
    BaseInUseError,
    Outcome,
    SourceFile,
    archive_file,
    compact_file,
    content_of,
    delta_path,
    read_archived,
    readable_copy,
    stored_sha256s,
)
from media_assets.sources.imdb_files import IMDB_FILES, TITLE_PRINCIPALS
from media_assets_tests.test_history import run_day
from media_assets_tests.test_warehouse import assert_views_read_the_files_of

DAYS = [f"2026-11-{day}" for day in range(21, 27)]
"""With keyframes every 3 days (blocks counted from 1970-01-01) the 21st and the 24th start their blocks; keeping
the newest 2 whole leaves the 22nd and 23rd to compact."""
KEYFRAMES, COMPACTED, RECENT = ["2026-11-21", "2026-11-24"], ["2026-11-22", "2026-11-23"], ["2026-11-25", "2026-11-26"]
POLICY = RetentionPolicy(keep_days=2, keyframe_days=3)


def inflated_sha256(gz_bytes: bytes) -> str:
    return hashlib.sha256(gzip.decompress(gz_bytes)).hexdigest()


def lines_of(count: int, seed: int, changed: int = 0) -> bytes:
    """An IMDb-like sorted file's content: a header and `count` keyed lines, `changed` of them altered."""
    rng = random.Random(seed)
    lines = [f"tt{number:07d}\t{rng.randrange(10**9)}\tsome words that repeat\n" for number in range(1, count + 1)]
    for index in random.Random(seed + 1).sample(range(count), changed):
        lines[index] = lines[index].replace("repeat", "changed")
    return ("tconst\tvalue\ttext\n" + "".join(lines)).encode()


def blocks(content: bytes, size: int = 1 << 16) -> list[bytes]:
    """`content` in pieces ending at line ends, as `file_content` yields them."""
    pieces, start = [], 0
    while start < len(content):
        end = content.find(b"\n", start + size) + 1 or len(content)
        pieces.append(content[start:end])
        start = end
    return pieces


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 64 KiB, so the test files span many chunks and windows."""
    monkeypatch.setattr(deltas, "CHUNK_BYTES", 1 << 16)
    monkeypatch.setattr(deltas, "SLACK_BYTES", 1 << 12)
    monkeypatch.setattr(deltas, "MAX_WINDOW_BYTES", 2 * (1 << 16) + 2 * (1 << 12))


def reconstructed(path: Path, delta: deltas.Delta, base: bytes) -> bytes:
    return b"".join(deltas.reconstruct(path, delta.chunks, blocks(base)))


def test_a_delta_gives_back_the_exact_content_and_costs_little_when_little_changed(tmp_path, small_chunks):
    base = lines_of(20_000, seed=1)
    content = lines_of(20_500, seed=1, changed=40)  # 500 lines appended, 40 changed
    delta = deltas.write_delta(blocks(content), blocks(base), tmp_path / "delta")
    assert len(delta.chunks) > 5
    assert reconstructed(tmp_path / "delta", delta, base) == content
    assert delta.content_sha256 == hashlib.sha256(content).hexdigest()
    assert delta.delta_bytes == (tmp_path / "delta").stat().st_size
    assert delta.delta_bytes < len(gzip.compress(content)) / 10


def test_an_unsorted_file_only_gives_a_bigger_delta(tmp_path, small_chunks):
    base = lines_of(20_000, seed=2)
    header, *rows = lines_of(20_000, seed=2, changed=40).splitlines(keepends=True)
    random.Random(3).shuffle(rows)
    content = header + b"".join(rows)
    delta = deltas.write_delta(blocks(content), blocks(base), tmp_path / "delta")
    assert reconstructed(tmp_path / "delta", delta, base) == content
    sorted_delta = deltas.write_delta(blocks(lines_of(20_000, 2, 40)), blocks(base), tmp_path / "sorted")
    assert delta.delta_bytes > sorted_delta.delta_bytes


def test_a_delta_against_another_base_is_refused(tmp_path, small_chunks):
    base = lines_of(5_000, seed=4)
    delta = deltas.write_delta(blocks(lines_of(5_000, 4, 10)), blocks(base), tmp_path / "delta")
    other_base = lines_of(5_000, seed=5)
    with pytest.raises(deltas.DeltaError):
        _ = reconstructed(tmp_path / "delta", delta, other_base[: len(other_base) // 2])


def test_plan_keeps_the_newest_days_and_one_keyframe_per_block():
    plans = plan_days([dt.date.fromisoformat(day) for day in DAYS], POLICY)
    roles = {plan.day.isoformat(): plan.role for plan in plans}
    assert [day for day, role in roles.items() if role is Role.KEYFRAME] == KEYFRAMES
    assert [day for day, role in roles.items() if role is Role.COMPACTED] == COMPACTED
    assert [day for day, role in roles.items() if role is Role.RECENT] == RECENT
    assert {plan.day.isoformat(): plan.keyframe.isoformat() for plan in plans if plan.role is Role.COMPACTED} == {
        "2026-11-22": "2026-11-21",
        "2026-11-23": "2026-11-21",
    }
    with pytest.raises(ValueError, match="keep_days=1"):
        RetentionPolicy(keep_days=1)


def test_the_newest_published_days_tables_are_never_planned_for_removal():
    """The warehouse's views read the newest published day's files (media_assets/publish/warehouse.py): whatever
    days are published (gaps included) and whatever policy, the newest day, and the one before it that a rerun
    reads, keep their tables."""
    shuffled = random.Random(17)
    for _ in range(300):
        policy = RetentionPolicy(keep_days=shuffled.randint(2, 9), keyframe_days=shuffled.randint(1, 40))
        first = dt.date(2026, 1, 1) + dt.timedelta(days=shuffled.randint(0, 400))
        published = sorted(
            first + dt.timedelta(days=offset) for offset in shuffled.sample(range(120), shuffled.randint(1, 60))
        )
        plans = {plan.day: plan.role for plan in plan_days(published, policy)}
        kept_whole = published[-policy.keep_days :]
        assert all(plans[day] is not Role.COMPACTED for day in kept_whole), (policy, published)


def test_the_retention_command_refuses_a_policy_that_keeps_too_little(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        admin_main(["--data-dir", str(tmp_path), "retention", "--keep-days", "1"])
    assert stopped.value.code == 2
    assert "keep_days=1: at least 2" in capsys.readouterr().err
    assert not (tmp_path / RETENTION_DIR).exists()


def archive_two_days(tmp_path: Path, scale: float = 0.0005) -> tuple[Path, Path]:
    """The sample's principals of two consecutive days, archived (sidecars and all) under tmp_path/raw."""
    paths = []
    for day in (dt.date(2026, 11, 21), dt.date(2026, 11, 22)):
        source_dir = tmp_path / "source" / day.isoformat()
        write_sample_snapshot(source_dir, day, scale, 42)
        request = ArchiveRequest(TITLE_PRINCIPALS, day, tmp_path / "raw", "sample", live=False, published=True)
        source = source_dir / TITLE_PRINCIPALS.file_name
        archive_file(request, lambda source=source: SourceFile(source, str(source), ours=False))
        paths.append(request.dest)
    return paths[0], paths[1]


def test_a_killed_compaction_leaves_the_whole_file_readable_and_the_next_one_finishes(tmp_path):
    base, day = archive_two_days(tmp_path, scale=0.005)
    original = day.read_bytes()
    script = (
        "import sys; from pathlib import Path; from media_assets.sources.archive import compact_file; "
        "compact_file(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(day), str(base)])
    deadline = time.monotonic() + 60
    while not any(day.parent.glob(f".{delta_path(day).name}.*.tmp")):
        assert process.poll() is None and time.monotonic() < deadline, "the compaction ended before it was killed"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert day.read_bytes() == original
    assert read_archived(day).stored is None
    assert b"".join(content_of(read_archived(day))) == gzip.decompress(original)
    [orphan] = remove_orphaned_temporaries(day.parent)
    assert orphan.name.startswith(f".{delta_path(day).name}.")

    compaction = compact_file(day, base)
    assert not day.exists() and delta_path(day).exists()
    assert compaction.content_sha256 == inflated_sha256(original)
    assert b"".join(content_of(read_archived(day))) == gzip.decompress(original)
    with readable_copy(day) as copy:
        assert gzip.decompress(copy.read_bytes()) == gzip.decompress(original)
    assert not copy.exists()


def test_a_whole_file_left_beside_its_recorded_delta_is_removed_and_a_changed_delta_is_reported(tmp_path):
    base, day = archive_two_days(tmp_path)
    original = day.read_bytes()
    compact_file(day, base)
    day.write_bytes(original)  # as if the process died between the sidecar and the removal
    assert b"".join(content_of(read_archived(day))) == gzip.decompress(original)
    assert compact_file(day, base) is None and not day.exists()

    stored = stored_sha256s(read_archived(day))
    assert all(recorded == found for recorded, found in stored.values())
    with delta_path(day).open("r+b") as delta:
        delta.seek(100)
        byte = delta.read(1)
        delta.seek(100)
        delta.write(bytes([byte[0] ^ 0xFF]))
    recorded, found = stored_sha256s(read_archived(day))[delta_path(day)]
    assert recorded != found == hashlib.sha256(delta_path(day).read_bytes()).hexdigest()
    with pytest.raises(deltas.DeltaError):
        b"".join(content_of(read_archived(day)))


def test_a_compacted_day_is_archive_used_and_its_base_is_never_replaced(tmp_path):
    base, day = archive_two_days(tmp_path)
    compact_file(day, base)
    os.chmod(delta_path(day), 0o600)  # a new ctime: the identity changes, the content does not
    source = tmp_path / "source" / "2026-11-22" / TITLE_PRINCIPALS.file_name
    request = ArchiveRequest(
        TITLE_PRINCIPALS, dt.date(2026, 11, 22), tmp_path / "raw", "sample", live=False, published=True
    )
    result = archive_file(request, lambda: SourceFile(source, str(source), ours=False))
    assert result.outcome is Outcome.UNCHANGED and result.archived.intact and result.archived.stored

    other_day = tmp_path / "source" / "2026-11-22" / TITLE_PRINCIPALS.file_name
    base_request = ArchiveRequest(
        TITLE_PRINCIPALS,
        dt.date(2026, 11, 21),
        tmp_path / "raw",
        "sample",
        live=False,
        published=True,
        refetch_published=True,
    )
    before = base.read_bytes()
    with pytest.raises(BaseInUseError, match="2026-11-22"):
        archive_file(base_request, lambda: SourceFile(other_day, str(other_day), ours=False))
    assert base.read_bytes() == before


def staged_and_published(lake: DataLake, day: str) -> dict[str, bytes]:
    files = {
        f"published/{table}": path.read_bytes()
        for table, path in lake.published.get(dt.date.fromisoformat(day)).tables.items()
    }
    for imdb_file in IMDB_FILES:
        asset = clean_asset_key(imdb_file).to_user_string()
        files[f"staged/{asset}"] = lake.table_path(asset, day).read_bytes()
    return files


def run_retention(instance: dg.DagsterInstance, lake: DataLake) -> dg.ExecuteInProcessResult:
    return imdb_retention.execute_in_process(
        instance=instance,
        resources={"data_lake": lake},
        run_config={"ops": {"history_retention": {"config": {"keep_days": 2, "keyframe_days": 3}}}},
    )


@pytest.mark.slow
def test_retention_over_several_days_keeps_every_day_rebuildable_byte_for_byte(tmp_path):
    lake = DataLake(root=str(tmp_path / "data"))
    with dg.instance_for_test() as instance:
        for day in DAYS:
            assert run_day(instance, lake, day).success, day
        raw_before = {
            day: {f.file_name: (lake.raw_dir(day) / f.file_name).read_bytes() for f in IMDB_FILES} for day in DAYS
        }
        tables_before = {day: staged_and_published(lake, day) for day in DAYS}

        assert run_retention(instance, lake).success
        [record_path] = (lake.root_path / RETENTION_DIR).glob("*.json")
        record = json.loads(record_path.read_text())
        assert {day: entry["role"] for day, entry in record["days"].items()} == {
            **dict.fromkeys(KEYFRAMES, "keyframe"),
            **dict.fromkeys(COMPACTED, "compacted"),
            **dict.fromkeys(RECENT, "recent"),
        }
        assert record["bytes_after"] < record["bytes_before"]

        # Raw: compacted days give back exactly the content of the files they had; the others are untouched.
        for day in DAYS:
            for imdb_file in IMDB_FILES:
                path = lake.raw_dir(day) / imdb_file.file_name
                original = raw_before[day][imdb_file.file_name]
                if day in COMPACTED:
                    assert not path.exists()
                    archived = read_archived(path)
                    assert archived.stored["base_day"] == "2026-11-21"
                    assert archived.sha256 == hashlib.sha256(original).hexdigest()
                    assert b"".join(content_of(archived)) == gzip.decompress(original)
                    entry = record["days"][day]["raw_compacted"][imdb_file.file_name]
                    assert entry["bytes_removed"] == len(original)
                    assert entry["bytes_added"] == delta_path(path).stat().st_size
                else:
                    assert path.read_bytes() == original

        # Tables: compacted days' published and staged tables are gone, the manifest says which with their sha256;
        # keyframes keep their published tables; the newest days keep everything.
        for day in COMPACTED:
            publication = lake.published.get(dt.date.fromisoformat(day))
            assert {table: entry["sha256"] for table, entry in publication.pruned["tables"].items()} == {
                name.removeprefix("published/"): hashlib.sha256(content).hexdigest()
                for name, content in tables_before[day].items()
                if name.startswith("published/")
            }
            assert not any(path.exists() for path in publication.tables.values())
            assert not any(lake.table_path(table, day).exists() for table in MODEL_TABLES)
        for day in KEYFRAMES + RECENT:
            assert all(path.exists() for path in lake.published.get(dt.date.fromisoformat(day)).tables.values())
        assert lake.table_path("clean_title_basics", "2026-11-21").exists() is False
        assert staged_and_published(lake, "2026-11-25") == tables_before["2026-11-25"]

        # The instance: every pruned partition's newest event says it was pruned, and how to restore it (keyframes
        # lose only their clean tables).
        for asset, pruned in (
            ("clean_title_principals", sorted(COMPACTED + KEYFRAMES)),
            ("dim_title", COMPACTED),
            (PUBLISHED_ASSET, COMPACTED),
        ):
            observations = instance.fetch_observations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=DAYS), limit=20
            ).records
            assert sorted(obs.partition_key for obs in observations) == pruned, asset
            assert all(obs.asset_observation.metadata["pruned"].value for obs in observations)
            assert "admin restore 2026-11-2" in observations[0].asset_observation.description

        # The warehouse the last run wrote reads the newest day's files, which are whole; updating it after the
        # retention keeps the ratings of every day, the pruned days' included.
        newest = lake.published.get(dt.date.fromisoformat(DAYS[-1]))
        sync_warehouse(lake.warehouse_path, lake.published)
        with duckdb.connect(str(lake.warehouse_path), read_only=True) as warehouse:
            assert_views_read_the_files_of(warehouse, newest)
            assert warehouse.execute("SELECT count(DISTINCT snapshot_date) FROM fact_ratings").fetchone()[0] == len(
                DAYS
            )

        # Running retention again changes nothing.
        assert run_retention(instance, lake).success
        second = max((lake.root_path / RETENTION_DIR).glob("*.json"), key=lambda path: path.stat().st_mtime_ns)
        assert all(
            "raw_compacted" not in entry or not entry["raw_compacted"]
            for entry in json.loads(second.read_text())["days"].values()
        )

        # A keyframe's rebuild reads the pruned day before it: refused with what to run, then restored and rebuilt.
        failed = run_day(instance, lake, "2026-11-24")
        assert not failed.success
        assert "admin restore 2026-11-23" in str(failed.get_step_failure_events()[0].event_specific_data.error)
        assert lake.published.pruned_predecessors(dt.date(2026, 11, 24)) == [
            dt.date(2026, 11, 22),
            dt.date(2026, 11, 23),
        ]
        for day in ("2026-11-22", "2026-11-23", "2026-11-24"):
            assert run_day(instance, lake, day).success, day
        for day in ("2026-11-22", "2026-11-23", "2026-11-24"):
            assert staged_and_published(lake, day) == tables_before[day], day
        assert lake.published.out_of_date() == []

        # The rebuild sensor, after a withdrawal puts a day out of date whose predecessor is pruned, first rebuilds
        # the pruned chain before it (then the day, on later ticks).
        assert run_retention(instance, lake).success
        lake.published.unpublish(dt.date(2026, 11, 23), "test")
        request = history_rebuild_sensor(dg.build_sensor_context(instance=instance, resources={"data_lake": lake}))
        assert (request.partition_key, request.run_key) == ("2026-11-22", "restore-2026-11-22-for-2026-11-24")
    shutil.rmtree(tmp_path / "data")
