"""The deterministic sample IMDb generator: exact file format, realistic content, day-to-day changes."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

import media_assets.sample.generator as generator
from media_assets.sample import generate_sample_snapshot, write_sample_snapshot

DAY = dt.date(2026, 11, 24)
NEXT_DAY = DAY + dt.timedelta(days=1)
TINY_SCALE = 0.00003  # a few hundred titles
DEMO_SCALE = 0.0005  # ~6,000 titles: the offline demo's default
CHANGES_SCALE = 0.002  # ~25,000 titles: enough for a few births, removals and renames per day

# Written out by hand from IMDb's documentation, independently of media_assets.sources.imdb_files.
HEADERS = {
    "title.basics.tsv.gz": "tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\tendYear\t"
    "runtimeMinutes\tgenres",
    "title.ratings.tsv.gz": "tconst\taverageRating\tnumVotes",
    "name.basics.tsv.gz": "nconst\tprimaryName\tbirthYear\tdeathYear\tprimaryProfession\tknownForTitles",
    "title.principals.tsv.gz": "tconst\tordering\tnconst\tcategory\tjob\tcharacters",
}
IMDB_GENRES = {
    "Action", "Adult", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama", "Family",
    "Fantasy", "Film-Noir", "Game-Show", "History", "Horror", "Music", "Musical", "Mystery", "News", "Reality-TV",
    "Romance", "Sci-Fi", "Short", "Sport", "Talk-Show", "Thriller", "War", "Western",
}  # fmt: skip


def read_imdb(path: Path) -> pl.DataFrame:
    """Every field as text, `\\N` as null, empty fields kept as "" (name.basics' empty primaryProfession)."""
    return pl.read_csv(
        path, separator="\t", quote_char=None, null_values="\\N", infer_schema=False, empty_string_is_null=False
    )


def lines_of(path: Path) -> list[str]:
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert text.endswith("\n"), f"{path.name} must end with a newline"
    return text[:-1].split("\n")


def duckdb_table(path: Path) -> str:
    """A DuckDB read of an IMDb file with no quoting at all: an independent second reader."""
    return f"read_csv('{path}', delim='\t', header=true, quote='', escape='', nullstr='\\N', all_varchar=true)"


def tconst_number(column: str = "tconst") -> pl.Expr:
    return pl.col(column).str.slice(2).cast(pl.Int64)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> generator.SampleSnapshot:
    return generate_sample_snapshot(tmp_path_factory.mktemp("tiny"), DAY, TINY_SCALE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    paths = write_sample_snapshot(tmp_path_factory.mktemp("demo"), DAY, DEMO_SCALE)
    return {name.removesuffix(".tsv.gz"): read_imdb(path) for name, path in paths.items()}


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    frames = []
    for day in (DAY, NEXT_DAY):
        paths = write_sample_snapshot(tmp_path_factory.mktemp(f"changes-{day}"), day, CHANGES_SCALE)
        frames.append({name.removesuffix(".tsv.gz"): read_imdb(path) for name, path in paths.items()})
    return frames[0], frames[1]


def test_same_date_scale_and_seed_give_byte_identical_files(tiny: generator.SampleSnapshot, tmp_path: Path) -> None:
    again = write_sample_snapshot(tmp_path / "again", DAY, TINY_SCALE, seed=42)
    other_seed = write_sample_snapshot(tmp_path / "other-seed", DAY, TINY_SCALE, seed=43)
    assert set(again) == set(HEADERS)
    for name, path in tiny.paths.items():
        content = path.read_bytes()
        assert content == again[name].read_bytes(), name
        assert content[4:8] == b"\0\0\0\0", f"{name}: gzip mtime must be 0"
        assert content != other_seed[name].read_bytes(), f"{name}: the seed must matter"


def test_files_are_written_with_exact_headers_and_field_counts(tiny: generator.SampleSnapshot) -> None:
    assert sorted(p.name for p in tiny.paths["title.basics.tsv.gz"].parent.iterdir()) == sorted(HEADERS)
    for name, header in HEADERS.items():
        lines = lines_of(tiny.paths[name])
        assert lines[0] == header
        assert tiny.rows[name] == len(lines) - 1 > 0
        field_count = header.count("\t") + 1
        wrong = [n for n, line in enumerate(lines, start=1) if line.count("\t") != field_count - 1 or "\r" in line]
        assert wrong == [], f"{name}: lines with a wrong field count: {wrong[:5]}"


def test_tiny_scale_gives_a_few_hundred_titles(tiny: generator.SampleSnapshot) -> None:
    assert 300 <= tiny.rows["title.basics.tsv.gz"] <= 500
    assert 360 <= tiny.rows["name.basics.tsv.gz"] <= 600


def test_nulls_are_backslash_n_and_only_professions_may_be_empty(demo: dict[str, pl.DataFrame]) -> None:
    for name, frame in demo.items():
        for column in frame.columns:
            empty = frame.filter(pl.col(column) == "").height
            if (name, column) == ("name.basics", "primaryProfession"):
                # The real quirk: no profession is an empty field, not \N.
                assert 0.03 < empty / frame.height < 0.12
                assert frame[column].null_count() == 0
            else:
                assert empty == 0, f"{name}.{column} has empty fields"
    basics = demo["title.basics"]
    assert basics["endYear"].null_count() / basics.height > 0.9
    assert 0.03 < basics["genres"].null_count() / basics.height < 0.12
    assert demo["title.principals"]["job"].null_count() / demo["title.principals"].height > 0.6
    assert demo["name.basics"]["birthYear"].null_count() / demo["name.basics"].height > 0.8
    assert demo["title.basics"]["tconst"].null_count() == demo["title.principals"]["nconst"].null_count() == 0


def test_text_has_bare_quotes_non_ascii_and_json_characters(demo: dict[str, pl.DataFrame]) -> None:
    titles = demo["title.basics"]["primaryTitle"]
    assert titles.str.starts_with('"').sum() > 0, "some titles start with a bare quote"
    assert titles.str.contains(r'^[^"]+"[^"]+"').sum() > 0, 'quotes inside titles, like The "Best" Show'
    assert titles.str.contains(r"[^\x00-\x7F]").sum() > 0
    assert demo["name.basics"]["primaryName"].str.contains(r"[^\x00-\x7F]").sum() > 0
    assert demo["name.basics"]["primaryName"].str.contains('"').sum() > 0
    basics = demo["title.basics"]
    same_title = (basics["primaryTitle"] == basics["originalTitle"]).mean()
    assert 0.8 < same_title < 0.97

    principals = demo["title.principals"]
    assert principals["job"].str.contains('"').sum() > 0
    characters = principals["characters"].drop_nulls().to_list()
    assert any('\\"' in text for text in characters), 'escaped quotes like ["Jimmy \\"The Kid\\" Doyle"]'
    assert any(json.loads(text) == ["Self"] for text in characters)
    assert any(len(json.loads(text)) > 1 for text in characters)
    for text in characters:
        parsed = json.loads(text)
        assert isinstance(parsed, list) and parsed and all(isinstance(name, str) for name in parsed), text
    crew = principals.filter(~pl.col("category").is_in(["actor", "actress", "self", "archive_footage"]))
    assert crew["characters"].null_count() == crew.height


def test_ids_are_imdb_shaped_sorted_and_include_eight_digit_ones(tiny: generator.SampleSnapshot) -> None:
    basics = read_imdb(tiny.paths["title.basics.tsv.gz"])
    names = read_imdb(tiny.paths["name.basics.tsv.gz"])
    for frame, column, prefix in ((basics, "tconst", "tt"), (names, "nconst", "nm")):
        ids = frame[column]
        assert ids.str.contains(rf"^{prefix}\d{{7,8}}$").all()
        assert not ids.str.contains(rf"^{prefix}0\d{{7}}$").any(), "8 digits only once past 9,999,999"
        assert ids.str.len_chars().eq(10).sum() > 0 and ids.str.len_chars().eq(9).sum() > 0
        numbers = frame.select(tconst_number(column)).to_series()
        assert numbers.is_sorted() and numbers.n_unique() == frame.height
    principals = read_imdb(tiny.paths["title.principals.tsv.gz"])
    keys = principals.select(tconst_number(), pl.col("ordering").cast(pl.Int64))
    assert keys.equals(keys.sort("tconst", "ordering")), "principals sorted by tconst then ordering"


def test_title_distributions_look_like_imdb(demo: dict[str, pl.DataFrame]) -> None:
    basics = demo["title.basics"]
    types = basics["titleType"].value_counts(normalize=True).sort("proportion", descending=True)
    assert types["titleType"][0] == "tvEpisode" and 0.62 < types["proportion"][0] < 0.72
    share = dict(types.iter_rows())
    assert 0.06 < share["short"] < 0.11 and 0.04 < share["movie"] < 0.09
    assert {"video", "tvSeries", "tvMovie", "tvMiniSeries", "tvSpecial", "videoGame", "tvShort"} <= set(share)
    assert set(basics["isAdult"].unique()) == {"0", "1"}
    assert 0.01 < (basics["isAdult"] == "1").mean() < 0.03

    years = basics.select(pl.col("startYear", "endYear").cast(pl.Int32))
    # Titles are announced under their coming year (ANNOUNCED_DAYS_AHEAD), as on IMDb.
    assert years["startYear"].min() >= 1890 and years["startYear"].max() <= DAY.year + 1
    assert years["startYear"].median() >= 2005, "skewed to recent years"
    with_end = basics.filter(pl.col("endYear").is_not_null())
    assert set(with_end["titleType"]) <= {"tvSeries", "tvMiniSeries"} and with_end.height > 0
    assert (with_end["endYear"].cast(pl.Int32) >= with_end["startYear"].cast(pl.Int32)).all()

    runtimes = basics.select("titleType", pl.col("runtimeMinutes").cast(pl.Int32, strict=False))
    episodes = runtimes.filter(pl.col("titleType") == "tvEpisode")["runtimeMinutes"]
    movies = runtimes.filter(pl.col("titleType") == "movie")["runtimeMinutes"]
    assert episodes.null_count() / len(episodes) > 0.5
    assert movies.null_count() / len(movies) < 0.4 and 75 < movies.median() < 115

    genres = basics["genres"].drop_nulls().str.split(",")
    assert genres.list.len().max() == 3 and genres.list.len().min() == 1
    assert set(genres.explode().unique()) <= IMDB_GENRES
    assert (genres == genres.list.sort()).all(), "IMDb lists genres alphabetically"
    assert (genres.list.n_unique() == genres.list.len()).all()
    adult = basics.filter(pl.col("isAdult") == "1")["genres"]
    assert adult.str.contains("Adult").all()


def test_years_runtimes_and_careers_have_imdbs_shape(
    two_days: tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]],
) -> None:
    """The shapes named in the generator's docstring, measured on the files with DuckDB."""
    today, _ = two_days
    connection = duckdb.connect()
    for table, name in (("basics", "title.basics"), ("principals", "title.principals"), ("names", "name.basics")):
        connection.register(table, today[name])

    def rows(sql: str) -> list[tuple]:
        return connection.sql(sql).fetchall()

    titles = "(select tconst, titleType, try_cast(startYear as int) y, try_cast(runtimeMinutes as int) rt from basics)"
    # Television starts in 1946, home video and games in 1975; production grows decade by decade.
    first_years = dict(rows(f"select titleType, min(y) from {titles} group by 1"))
    assert min(first_years[t] for t in ("tvEpisode", "tvSeries", "tvMovie", "tvMiniSeries")) >= 1946
    assert min(first_years["video"], first_years["videoGame"]) >= 1975
    per_decade = dict(rows(f"select y // 10 * 10, count(*) from {titles} where y < 2020 group by 1"))
    assert [per_decade[d] for d in (1930, 1960, 1990, 2010)] == sorted(per_decade[d] for d in (1930, 1960, 1990, 2010))
    assert per_decade[2010] > 10 * per_decade[1960]

    # Early films ran minutes, features reached about 90 minutes later on.
    early, modern = rows(
        f"""select median(rt) filter (where y < 1910), median(rt) filter (where y >= 1960)
            from {titles} where titleType = 'movie'"""
    )[0]
    assert early < 20 and 80 <= modern <= 110

    # Careers: people with at least 5 credits worked for years, not for a century.
    spans = rows(
        """select median(span), max(span), count(*) from (
               select p.nconst, max(try_cast(b.startYear as int)) - min(try_cast(b.startYear as int)) span
               from principals p join basics b using (tconst) group by 1 having count(*) >= 5)"""
    )[0]
    assert 8 <= spans[0] <= 25 and spans[1] <= generator.CAREER_YEARS_MAX + 2 and spans[2] > 100
    # Those with a birth year had their first credit as adults.
    first_credit_age = rows(
        """select median(first_year - try_cast(n.birthYear as int)) from (
               select p.nconst, min(try_cast(b.startYear as int)) first_year
               from principals p join basics b using (tconst) group by 1) c
           join names n using (nconst) where try_cast(n.birthYear as int) >= 1850"""
    )[0][0]
    assert 18 <= first_credit_age <= 45


def test_runtime_quirks_appear(two_days: tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]) -> None:
    runtimes = two_days[0]["title.basics"]["runtimeMinutes"].drop_nulls()
    junk = runtimes.filter(~runtimes.str.contains(r"^\d+$"))
    assert len(junk) > 0 and set(junk) <= IMDB_GENRES, "a genre in runtimeMinutes, as in the real files"
    assert len(junk) / len(runtimes) < 0.005
    numeric = runtimes.cast(pl.Int32, strict=False).drop_nulls()
    assert ((numeric == 0) | (numeric > 1000)).sum() > 0


def test_ratings_look_like_imdb(demo: dict[str, pl.DataFrame]) -> None:
    basics, ratings = demo["title.basics"], demo["title.ratings"]
    assert 0.10 < ratings.height / basics.height < 0.17
    assert ratings["averageRating"].str.contains(r"^(10|[1-9])\.\d$").all()
    average = ratings["averageRating"].cast(pl.Float64)
    assert average.min() >= 1.0 and average.max() <= 10.0 and 6.6 < average.mean() < 7.2
    votes = ratings["numVotes"].cast(pl.Int64)
    assert votes.min() >= 5 and 20 <= votes.median() <= 120 and votes.max() > 50 * votes.median()
    by_type = ratings.join(basics, on="tconst").group_by("titleType").len()
    rated_share = by_type.join(basics.group_by("titleType").len(), on="titleType").select(
        "titleType", (pl.col("len") / pl.col("len_right")).alias("share")
    )
    shares = dict(rated_share.iter_rows())
    assert shares["movie"] > 3 * shares["tvEpisode"] > 0, "mostly movies and series are rated; some episodes too"


def test_people_look_like_imdb(demo: dict[str, pl.DataFrame]) -> None:
    names = demo["name.basics"]
    birth = names["birthYear"].drop_nulls().cast(pl.Int32)
    assert birth.min() < 1900, "some birth years in the 1500s-1800s"
    assert birth.min() >= 1500 and birth.max() <= DAY.year
    death = names.filter(pl.col("deathYear").is_not_null())
    assert 0 < death.height / names.height < 0.15
    both = death.filter(pl.col("birthYear").is_not_null()).select(pl.col("birthYear", "deathYear").cast(pl.Int32))
    assert (both["deathYear"] > both["birthYear"]).all() and (both["deathYear"] <= DAY.year).all()
    professions = names.filter(pl.col("primaryProfession") != "")["primaryProfession"].str.split(",")
    assert professions.list.len().max() == 3
    assert {"actor", "actress", "director", "writer", "producer", "composer"} <= set(professions.explode())
    known_for = names["knownForTitles"].drop_nulls().str.split(",")
    assert known_for.list.len().max() == 4 and (known_for.list.n_unique() == known_for.list.len()).all()


def test_principals_look_like_imdb(demo: dict[str, pl.DataFrame]) -> None:
    basics, principals = demo["title.basics"], demo["title.principals"]
    assert 7.0 < principals.height / basics.height < 9.0
    per_title = principals.group_by("tconst").agg(
        count=pl.len(),
        ordering_min=pl.col("ordering").cast(pl.Int32).min(),
        ordering_max=pl.col("ordering").cast(pl.Int32).max(),
        ordering_distinct=pl.col("ordering").n_unique(),
    )
    assert (per_title["ordering_min"] == 1).all()
    assert (per_title["ordering_max"] == per_title["count"]).all()
    assert (per_title["ordering_distinct"] == per_title["count"]).all()
    typed = per_title.join(basics, on="tconst")
    episodes = typed.filter(pl.col("titleType") == "tvEpisode")["count"]
    movies = typed.filter(pl.col("titleType") == "movie")["count"]
    assert (episodes <= 3).mean() > 0.25, "many episodes have few principals"
    assert movies.mean() > 10 and movies.median() > episodes.median()

    categories = set(principals["category"])
    assert {"actor", "actress", "self", "director", "writer", "producer", "composer", "cinematographer"} <= categories
    assert categories <= set(generator.PRINCIPAL_CATEGORIES)
    cast = principals.filter(pl.col("category").is_in(["actor", "actress"]))
    assert cast["characters"].null_count() < 0.5 * cast.height and cast["job"].null_count() == cast.height

    credits = principals["nconst"].value_counts()["count"]
    assert credits.max() > 20 * credits.median(), "a few prolific people (Zipf-like)"


def test_cross_file_references_resolve(demo: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    paths = write_sample_snapshot(tmp_path, DAY, DEMO_SCALE)
    basics, names = duckdb_table(paths["title.basics.tsv.gz"]), duckdb_table(paths["name.basics.tsv.gz"])
    ratings, principals = duckdb_table(paths["title.ratings.tsv.gz"]), duckdb_table(paths["title.principals.tsv.gz"])
    con = duckdb.connect()

    def one_row(sql: str) -> tuple:
        return con.sql(sql).fetchall()[0]

    assert one_row(f"SELECT count(*) FROM {basics}")[0] == demo["title.basics"].height
    assert one_row(f"SELECT count(*) FROM {principals} WHERE tconst NOT IN (SELECT tconst FROM {basics})")[0] == 0
    assert one_row(f"SELECT count(*) FROM {ratings} WHERE tconst NOT IN (SELECT tconst FROM {basics})")[0] == 0
    known_for_missing = one_row(
        f"""SELECT count(*) FROM (SELECT unnest(string_split(knownForTitles, ',')) AS tconst FROM {names}
            WHERE knownForTitles IS NOT NULL) WHERE tconst NOT IN (SELECT tconst FROM {basics})"""
    )[0]
    assert known_for_missing == 0
    orphans, total = one_row(
        f"SELECT count(*) FILTER (WHERE nconst NOT IN (SELECT nconst FROM {names})), count(*) FROM {principals}"
    )
    assert 0 < orphans / total < 0.002, "real files have ~0.05% principals naming people missing from name.basics"
    assert one_row(f"SELECT count(*) - count(DISTINCT nconst) FROM {names}")[0] == 0


def test_consecutive_days_differ_like_imdb(
    two_days: tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]],
) -> None:
    today, tomorrow = two_days
    before, after = today["title.basics"], tomorrow["title.basics"]
    born = after.join(before, on="tconst", how="anti")
    removed = before.join(after, on="tconst", how="anti")
    assert 0 < born.height < 0.002 * before.height
    assert 0 < removed.height < 0.001 * before.height
    newest_before = before.select(tconst_number().max()).item()
    assert born.select(tconst_number().min()).item() > newest_before, "new titles get the highest ids"

    common = before.join(after, on="tconst", suffix="_after")
    renamed = common.filter(
        (pl.col("primaryTitle") != pl.col("primaryTitle_after")) | (pl.col("titleType") != pl.col("titleType_after"))
    )
    assert 0 < renamed.height < 0.002 * common.height
    identical = before.join(after, on=before.columns, how="semi", nulls_equal=True).height
    assert identical > 0.995 * before.height

    votes = (
        today["title.ratings"]
        .join(tomorrow["title.ratings"], on="tconst", suffix="_after")
        .select(
            pl.col("numVotes", "numVotes_after").cast(pl.Int64),
            pl.col("averageRating", "averageRating_after").cast(pl.Float64),
        )
    )
    assert (votes["numVotes_after"] >= votes["numVotes"]).all()
    assert (votes["numVotes_after"] > votes["numVotes"]).sum() > 0
    assert (votes["numVotes_after"] == votes["numVotes"]).mean() > 0.5
    assert ((votes["averageRating_after"] - votes["averageRating"]).abs() <= 0.11).all()

    # A surviving title keeps its credits; new people appear in name.basics.
    kept = common["tconst"]
    credits_before = today["title.principals"].filter(pl.col("tconst").is_in(kept.implode()))
    credits_after = tomorrow["title.principals"].filter(pl.col("tconst").is_in(kept.implode()))
    assert credits_before.equals(credits_after)
    assert tomorrow["name.basics"].join(today["name.basics"], on="nconst", how="anti").height > 0


def test_a_failed_run_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(generator, "_name_rows", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        write_sample_snapshot(tmp_path, DAY, TINY_SCALE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf"), 1e-9])
def test_rejects_scales_that_give_no_sample(scale: float, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        write_sample_snapshot(tmp_path, DAY, scale)
    assert list(tmp_path.iterdir()) == []


def test_rejects_dates_before_the_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2019-05-01"):
        write_sample_snapshot(tmp_path, dt.date(2019, 5, 1), TINY_SCALE)


def test_demo_scale_is_quick(tmp_path: Path) -> None:
    # CPU time of the whole process (all threads): robust to other work on the machine, unlike wall time.
    started = time.process_time()
    snapshot = generate_sample_snapshot(tmp_path, DAY, DEMO_SCALE)
    assert time.process_time() - started < 2.0
    assert 5_000 < snapshot.rows["title.basics.tsv.gz"] < 8_000


def test_cli_writes_files_and_reports_rows(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "media_assets.sample", "--scale", str(TINY_SCALE), "--date", DAY.isoformat(),
         "--out", str(tmp_path), "--seed", "7"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    for name in HEADERS:
        data_lines = len(lines_of(tmp_path / name)) - 1
        assert re.search(rf"{re.escape(name)}\s+{data_lines:,} rows", result.stdout), result.stdout
    assert re.search(r"in \d+\.\d+ s", result.stdout)
    assert (tmp_path / "title.basics.tsv.gz").read_bytes() == write_sample_snapshot(
        tmp_path / "api", DAY, TINY_SCALE, seed=7
    )["title.basics.tsv.gz"].read_bytes()


RUN_SCALE = 0.001  # ~12,000 titles, ~15,000 people: a fraction of a second a day
RUNS_OF_DAYS = (
    (dt.date(2025, 12, 30), 4),  # the model's reference date, 2026-01-01
    (dt.date(2026, 11, 22), 5),  # where cached days of an older generator once made a chain jump
    (dt.date(2026, 12, 30), 4),  # a new year: announced titles, series ending and deaths show their year
)
DAILY_CHANGE_BOUND = 5 * generator.RENAMES_PER_DAY
"""A rename changes RENAMES_PER_DAY of titles (and people) a day; a year shown from a member's own day of the year
(startYear announced, endYear, deathYear) changes a few hundredths of that. Five times the rename rate leaves room
for chance at this scale and catches any step that moves a share of the whole population at once."""
KNOWN_FOR_CHANGE_BOUND = 4 * (generator.TITLE_REMOVALS_PER_DAY + generator.BIRTHS_PER_DAY)
"""knownForTitles lists up to four titles and lists only those that exist: a slot changes when its title is removed
or born."""
KEYS = {"title.basics": ["tconst"], "name.basics": ["nconst"], "title.principals": ["tconst", "ordering"]}


@pytest.fixture(scope="module")
def runs_of_days(tmp_path_factory: pytest.TempPathFactory) -> list[list[tuple[dt.date, dict[str, pl.DataFrame]]]]:
    runs = []
    for first, count in RUNS_OF_DAYS:
        run = []
        for day in (first + dt.timedelta(days=k) for k in range(count)):
            paths = write_sample_snapshot(tmp_path_factory.mktemp(f"run-{day}"), day, RUN_SCALE)
            run.append((day, {name: read_imdb(paths[f"{name}.tsv.gz"]) for name in KEYS}))
        runs.append(run)
    return runs


def test_consecutive_days_change_only_at_the_daily_rates(
    runs_of_days: list[list[tuple[dt.date, dict[str, pl.DataFrame]]]],
) -> None:
    too_many = []
    for run in runs_of_days:
        for (day, before), (next_day, after) in zip(run, run[1:], strict=False):
            for name, key in KEYS.items():
                common = before[name].join(after[name], on=key, suffix="_next")
                for column in (c for c in before[name].columns if c not in key):
                    changed = common.filter(pl.col(column).ne_missing(pl.col(f"{column}_next"))).height
                    bound = KNOWN_FOR_CHANGE_BOUND if column == "knownForTitles" else DAILY_CHANGE_BOUND
                    if changed > bound * common.height:
                        too_many.append(f"{day} -> {next_day} {name}.{column}: {changed} of {common.height}")
    assert not too_many, "\n".join(too_many)
