"""dim_title as a slowly changing dimension (type 2), over three hand-written snapshot days.

Titles: 1 unchanged throughout; 2 renamed on day 2; 3 removed on day 2 and back (unchanged) on day 3; 4 a
tvSeries re-typed to tvEpisode (out of scope) on day 2; 5 new on day 2; 6 a tvEpisode, never in scope;
7 gains a genre on day 3; 8 a tvSeries whose end year is set on day 3.
"""

import datetime as dt

import polars as pl
import pytest

from media_assets.model.assets import title_dimensions
from media_assets.model.transforms import DIM_TITLE_SCHEMA, TRACKED_TITLE_ATTRIBUTES, build_dim_title, scope_titles
from media_assets.resources import ModelSettings
from media_assets_tests.model_support import DAY_1, DAY_2, DAY_3, clean_frame, materialize_model

D1, D2, D3 = (dt.date.fromisoformat(key) for key in (DAY_1, DAY_2, DAY_3))
TYPES = ModelSettings().title_types


def title(title_id: int, primary_title: str, title_type: str = "movie", genres=("Drama",), end_year=None) -> dict:
    return {
        "title_id": title_id,
        "tconst": f"tt{title_id:07d}",
        "title_type": title_type,
        "primary_title": primary_title,
        "original_title": primary_title,
        "is_adult": False,
        "start_year": 2000 + title_id,
        "end_year": end_year,
        "runtime_minutes": 90,
        "genres": list(genres) if genres is not None else None,
    }


A = title(1, "Always Here")
B_OLD, B_NEW = title(2, "Old Name"), title(2, "New Name")
C = title(3, "Comes Back")
D_SERIES, D_EPISODE = title(4, "Re-typed", "tvSeries"), title(4, "Re-typed", "tvEpisode")
E = title(5, "Newcomer")
F = title(6, "Just An Episode", "tvEpisode")
G_OLD, G_NEW = title(7, "More Genres"), title(7, "More Genres", genres=("Drama", "Comedy"))
H_OLD, H_NEW = title(8, "Ended", "tvSeries"), title(8, "Ended", "tvSeries", end_year=2026)

SNAPSHOTS = {
    DAY_1: [A, B_OLD, C, D_SERIES, F, G_OLD, H_OLD],
    DAY_2: [A, B_NEW, D_EPISODE, E, F, G_OLD, H_OLD],
    DAY_3: [A, B_NEW, C, D_EPISODE, E, F, G_NEW, H_NEW],
}


def sk(title_id: int, valid_from: dt.date) -> int:
    """title_sk as documented: title_id * 10^8 + valid_from as yyyymmdd."""
    return title_id * 100_000_000 + valid_from.year * 10_000 + valid_from.month * 100 + valid_from.day


def version(attributes: dict, valid_from: dt.date, valid_to: dt.date | None = None) -> dict:
    current = valid_to is None
    title_sk = sk(attributes["title_id"], valid_from)
    return {"title_sk": title_sk, **attributes, "valid_from": valid_from, "valid_to": valid_to, "is_current": current}


HISTORY = [  # every version the three days make: attributes, valid_from, valid_to (None: current on day 3)
    (A, D1, None),
    (B_OLD, D1, D2),  # day 2: B renamed, the old version closed and a new one from day 2
    (B_NEW, D2, None),
    (C, D1, D2),  # day 2: C removed, its version closed; day 3: back, with a new version
    (C, D3, None),
    (D_SERIES, D1, D2),  # day 2: re-typed to an episode, out of scope: closed, and stays closed
    (E, D2, None),  # day 2: new
    (G_OLD, D1, D3),  # day 3: G gains a genre
    (G_NEW, D3, None),
    (H_OLD, D1, D3),  # day 3: H gets its end year
    (H_NEW, D3, None),
]  # the episode F is never in scope


def expected_versions(day: dt.date) -> list[dict]:
    """dim_title after `day`: the versions begun by then, in title and valid_from order, those closed by then
    closed."""
    return [
        version(attributes, valid_from, valid_to if valid_to is not None and valid_to <= day else None)
        for attributes, valid_from, valid_to in HISTORY
        if valid_from <= day
    ]


EXPECTED_COUNTS = {  # inserted, reopened, changed, closed, unchanged
    DAY_1: (6, 0, 0, 0, 0),
    DAY_2: (1, 0, 1, 2, 3),
    DAY_3: (1, 1, 2, 0, 3),
}
COLUMNS_BUT_HASH = [name for name in DIM_TITLE_SCHEMA.names() if name != "row_hash"]


def expected_table(partition_key: str) -> pl.DataFrame:
    versions = expected_versions(dt.date.fromisoformat(partition_key))
    return pl.DataFrame(versions, schema={n: DIM_TITLE_SCHEMA[n] for n in COLUMNS_BUT_HASH})


def snapshot(partition_key: str) -> pl.LazyFrame:
    return scope_titles(clean_frame("clean_title_basics", SNAPSHOTS[partition_key]).lazy(), TYPES)


def clean_snapshots() -> dict[str, dict[str, pl.DataFrame]]:
    return {key: {"clean_title_basics": clean_frame("clean_title_basics", rows)} for key, rows in SNAPSHOTS.items()}


def build_days() -> dict[str, pl.DataFrame]:
    tables, previous = {}, None
    for key, day in zip((DAY_1, DAY_2, DAY_3), (D1, D2, D3), strict=True):
        build = build_dim_title(snapshot(key), previous, day)
        counts = (build.inserted, build.reopened, build.changed, build.closed, build.unchanged)
        assert counts == EXPECTED_COUNTS[key], key
        tables[key] = build.table
        previous = build.table.lazy()
    return tables


@pytest.mark.parametrize("partition_key", [DAY_1, DAY_2, DAY_3])
def test_dim_title_rows_after_each_day(partition_key):
    table = build_days()[partition_key]
    assert table.select(COLUMNS_BUT_HASH).equals(expected_table(partition_key))


def test_row_hash_follows_the_tracked_attributes():
    table = build_days()[DAY_3]
    hashes = {row["title_sk"]: row["row_hash"] for row in table.iter_rows(named=True)}
    assert hashes[sk(3, D1)] == hashes[sk(3, D3)]  # C closed then back unchanged
    assert hashes[sk(2, D1)] != hashes[sk(2, D2)]  # B renamed
    assert hashes[sk(7, D1)] != hashes[sk(7, D3)]  # G gained a genre
    assert hashes[sk(8, D1)] != hashes[sk(8, D3)]  # H ended
    assert len(set(hashes.values())) == len(hashes) - 1


def test_rebuilding_a_day_from_the_same_previous_day_is_identical():
    tables = build_days()
    again = build_dim_title(snapshot(DAY_2), tables[DAY_1].lazy(), D2)
    assert again.table.equals(tables[DAY_2])
    # and the rebuilt day leads to the same next day
    assert build_dim_title(snapshot(DAY_3), again.table.lazy(), D3).table.equals(tables[DAY_3])


def test_previous_table_from_a_later_day_is_refused():
    tables = build_days()
    with pytest.raises(ValueError, match="build the days in order"):
        build_dim_title(snapshot(DAY_2), tables[DAY_2].lazy(), D2)


def test_duplicate_title_ids_in_the_snapshot_fail_naming_them():
    duplicated = scope_titles(clean_frame("clean_title_basics", [A, A, B_OLD]).lazy(), TYPES)
    with pytest.raises(ValueError, match=r"1 title_id\(s\) appear more than once .* e\.g\. \[1\]"):
        build_dim_title(duplicated, None, D1)


def test_dagster_asset_chains_days_and_rematerializes_idempotently(tmp_path):
    snapshots = clean_snapshots()
    run = materialize_model(tmp_path, snapshots, [title_dimensions], [DAY_1, DAY_2, DAY_3])
    for key in (DAY_1, DAY_2, DAY_3):
        assert run.table("dim_title", key).select(COLUMNS_BUT_HASH).equals(expected_table(key)), key
        metadata = run.metadata["dim_title"][key]
        counts = tuple(metadata[f"scd2_{name}"] for name in ("inserted", "reopened", "changed", "closed", "unchanged"))
        assert counts == EXPECTED_COUNTS[key]
        assert metadata["predecessor_day"] == {DAY_1: "none (first day)", DAY_2: DAY_1, DAY_3: DAY_2}[key]
    assert run.metadata["dim_title"][DAY_2]["removed_title_types"] == {"tvEpisode": 2}

    day_2 = run.table("dim_title", DAY_2)
    again = materialize_model(tmp_path, snapshots, [title_dimensions], [DAY_2])
    assert run.table("dim_title", DAY_2).equals(day_2)
    assert again.metadata["dim_title"][DAY_2] | {"peak_rss_bytes": 0} == run.metadata["dim_title"][DAY_2] | {
        "peak_rss_bytes": 0
    }


def test_a_missed_day_carries_the_history_over_from_the_latest_published_day(tmp_path):
    snapshots = clean_snapshots()
    run = materialize_model(tmp_path, snapshots, [title_dimensions], [DAY_1, DAY_3])
    assert run.metadata["dim_title"][DAY_3]["predecessor_day"] == DAY_1
    day_1, day_3 = run.table("dim_title", DAY_1), run.table("dim_title", DAY_3)
    # every version of day 1 is still there under the same key, with the same attributes
    attributes = ["title_sk", "title_id", *TRACKED_TITLE_ATTRIBUTES, "valid_from"]
    assert (
        day_1.select(attributes).join(day_3.select(attributes), on=attributes, how="anti", nulls_equal=True).is_empty()
    )
    # what changed between day 1 and day 3 is dated day 3 (day 2 was never seen): B renamed, C unchanged,
    # D re-typed out of scope and closed, E new, G and H changed
    assert day_3.select(COLUMNS_BUT_HASH).equals(
        pl.DataFrame(
            [
                version(A, D1),
                version(B_OLD, D1, D3),
                version(B_NEW, D3),
                version(C, D1),
                version(D_SERIES, D1, D3),
                version(E, D3),
                version(G_OLD, D1, D3),
                version(G_NEW, D3),
                version(H_OLD, D1, D3),
                version(H_NEW, D3),
            ],
            schema={n: DIM_TITLE_SCHEMA[n] for n in COLUMNS_BUT_HASH},
        )
    )
