"""The published state on its own: atomic publications, the chain's out-of-date days, withdrawal and pruning."""

import datetime as dt
import hashlib
import json
import multiprocessing
import threading
from pathlib import Path

import polars as pl
import pytest

from media_assets.publish.state import ChainLink, PublishedState


def file_sha256(path) -> str:
    """sha256 of a file, by the standard library (the expectation the code's own digest is checked against)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


D1, D2, D3 = dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)


def stage(tmp_path, day: dt.date, content: int) -> dict:
    folder = tmp_path / "tables" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table in ("dim_title", "fact_ratings"):
        paths[table] = folder / f"{table}.{content}.parquet"
        pl.DataFrame({"value": [content]}).write_parquet(paths[table])
    return paths


def publish(state: PublishedState, tmp_path, day: dt.date, content: int, predecessor: dt.date | None, gen: str):
    link = ChainLink(predecessor, state.get(predecessor).dim_title_sha256) if predecessor else None
    return state.publish(day, gen, stage(tmp_path, day, content), predecessor=link, quality_report=None)


def test_publishing_links_the_staged_files_and_records_the_chain(tmp_path):
    state = PublishedState(tmp_path)
    staged = stage(tmp_path, D1, 1)
    day = state.publish(D1, "run-a", staged, predecessor=None, quality_report=None)
    assert day.tables["dim_title"].read_bytes() == staged["dim_title"].read_bytes()
    assert day.tables["dim_title"].stat().st_ino == staged["dim_title"].stat().st_ino  # hard link, no copy
    manifest = json.loads(state.manifest_path(D1).read_text())
    assert manifest["tables"]["dim_title"] == f"published/{D1}/run-a/dim_title.parquet"  # relative: movable
    assert manifest["dim_title_sha256"] == file_sha256(staged["dim_title"])
    # a later write to the staging path (a rename, as the IO manager does) leaves the published bytes alone
    replacement = tmp_path / "replacement.parquet"
    pl.DataFrame({"value": [99]}).write_parquet(replacement)
    replacement.replace(staged["dim_title"])
    assert pl.read_parquet(day.tables["dim_title"])["value"].to_list() == [1]


def test_out_of_date_days_follow_backfills_republications_and_withdrawals(tmp_path):
    state = PublishedState(tmp_path)
    publish(state, tmp_path, D1, 1, None, "a")
    publish(state, tmp_path, D3, 3, D1, "b")
    assert state.out_of_date() == []
    assert state.latest_before(D3).snapshot_date == D1

    publish(state, tmp_path, D2, 2, D1, "c")  # backfill
    [day] = state.out_of_date()
    assert (day.snapshot_date, day.rebuild_from) == (D3, D2)

    publish(state, tmp_path, D3, 3, D2, "d")  # the rebuild
    assert state.out_of_date() == []

    publish(state, tmp_path, D2, 2, D1, "e")  # published again with the same content: nothing to redo
    assert state.out_of_date() == []
    publish(state, tmp_path, D2, 22, D1, "f")  # with other content: the 22nd must follow
    assert [d.snapshot_date for d in state.out_of_date()] == [D3]

    state.unpublish(D1, reason="bad source")
    assert [(d.snapshot_date, d.rebuild_from) for d in state.out_of_date()] == [(D2, None), (D3, D2)]
    assert not state.is_published(D1)
    [withdrawn] = (state.root / D1.isoformat()).glob("withdrawn-*.json")
    assert json.loads(withdrawn.read_text())["unpublished"]["reason"] == "bad source"


def test_prune_removes_only_superseded_generations(tmp_path):
    state = PublishedState(tmp_path)
    publish(state, tmp_path, D1, 1, None, "a")
    publish(state, tmp_path, D1, 2, None, "b")
    removed = state.prune()
    assert [path.name for path in removed] == ["a"]
    assert pl.read_parquet(state.get(D1).tables["dim_title"])["value"].to_list() == [2]


def _publish_in_process(root: str, generation: str) -> None:
    state = PublishedState(Path(root))
    staged = stage(Path(root) / generation, D1, int(generation))
    state.publish(D1, generation, staged, predecessor=None, quality_report=None)


def test_publications_from_several_processes_never_mix(tmp_path):
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_publish_in_process, args=(str(tmp_path), str(n))) for n in range(1, 5)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    day = PublishedState(tmp_path).get(D1)
    # whichever publication won, its manifest and its files agree
    value = int(day.generation)
    assert pl.read_parquet(day.tables["dim_title"])["value"].to_list() == [value]
    assert pl.read_parquet(day.tables["fact_ratings"])["value"].to_list() == [value]
    assert day.dim_title_sha256 == file_sha256(day.tables["dim_title"])


def test_a_day_without_manifest_is_not_published_and_an_unknown_format_is_refused(tmp_path):
    state = PublishedState(tmp_path)
    assert state.get(D1) is None and state.days() == []
    publish(state, tmp_path, D1, 1, None, "a")
    manifest = json.loads(state.manifest_path(D1).read_text()) | {"format": 99}
    state.manifest_path(D1).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="unknown manifest format 99"):
        state.get(D1)


def test_the_chain_lease_makes_a_second_run_wait_until_the_first_publishes_or_finishes(tmp_path):
    state = PublishedState(tmp_path)
    finished: set[str] = set()
    state.acquire_chain("run-a", run_finished=finished.__contains__)
    state.acquire_chain("run-a", run_finished=finished.__contains__)  # re-entrant for the holder (a retried step)

    waited_for = []
    second = threading.Thread(
        target=state.acquire_chain, args=("run-b", finished.__contains__, waited_for.append), daemon=True
    )
    second.start()
    second.join(2.5)
    assert second.is_alive() and waited_for == ["run-a"]  # run-a has neither published nor finished
    state.release_chain("run-a")
    second.join(5)
    assert not second.is_alive()

    # a holder that finished without publishing (failed gate, crash) does not block the next run
    third = threading.Thread(target=state.acquire_chain, args=("run-c", finished.__contains__), daemon=True)
    third.start()
    third.join(2.5)
    assert third.is_alive()
    finished.add("run-b")
    third.join(5)
    assert not third.is_alive()
    state.release_chain("run-b")  # not the holder any more: nothing happens
    assert json.loads((state.root / "chain.lease").read_text()) == {"run_id": "run-c"}
