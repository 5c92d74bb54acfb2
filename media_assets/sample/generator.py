"""Deterministic generator of IMDb-exact bulk files (title.basics, title.ratings, name.basics, title.principals).

The sample is a model of IMDb, not a copy: every attribute of title number `i` (or person number `j`) is a pure
function of `(seed, i)` computed with a counter-based hash, and everything that changes over time is a pure
function of `(seed, i, day)`. So any snapshot day is computed directly (no need to generate day D-1 first), any
chunk of titles is computed independently of the others, and the same `(date, scale, seed)` always yields the
same bytes.

How the model changes from one day to the next (days are counted from `REFERENCE_DATE`):
- members (titles, people) are numbered in the order they were born; a few are born every day
  (`BIRTHS_PER_DAY` of the base count) and their ids keep growing, like IMDb's;
- titles are removed at a constant hazard (`TITLE_REMOVALS_PER_DAY`);
- titles and people get a new "version" on a per-member period (`RENAMES_PER_DAY` of them a day): a new
  version means a new primaryTitle / primaryName, and sometimes a new titleType;
- ratings start some weeks after a title is born; votes grow linearly with time and the average drifts;
- a year shows from a day of each member's own: a title's startYear up to ANNOUNCED_DAYS_AHEAD before its year
  starts, a series' endYear and a death (deathYear) from a drawn day of that year. Nothing depends on the snapshot's
  calendar year as such, so New Year's Day (REFERENCE_DATE's included) changes no more rows than any other day.

The figures are synthetic, but their shapes are aimed at real IMDb's:
- production volume: start years thin out going back (TITLE_AGE_MEANS), so titles per decade grow steadily and
  steeply after 2000, as on IMDb; no television before 1946, no home video or video games before 1975;
- movie runtimes by decade (FEATURE_RUNTIME_BY_YEAR): the medians of the real April 2025 title.basics rows in
  /work/shared/imdb-real-samples/katzi23-2025 (movies of the 1910s 50, 1920s 63, 1930s 74 minutes), early films
  of a few minutes before (the 1890s-1900s rows there are mostly shorts of 1-9 minutes), feature length of 80-95
  minutes from the 1940s on (the 2022 rows of ocheretko-2022: 1950s 88, 1960s 91, 2010s 89, 2020s 93);
- careers (`_Careers`): people are credited within a working life of 4-60 years (mean 18) placed by production
  volume, so the median span between the first and last credit of people with >= 5 credits is 10-20 years, not
  the whole history of film; birth years fall 18-40 years before the working life starts;
- votes: IMDb lists only titles with at least 5 votes, so every rating starts at 5 votes and more; the median of
  the real katzi23-2025 title.ratings rows is 93 votes (a quarter below 28), that of the sample's rated movies and
  series is of the same order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import math
import os
import queue
import re
import tempfile
import threading
import zlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl
from isal import igzip

import media_assets.sources.imdb_files as imdb_files_module
from media_assets.sources.imdb_files import (
    IMDB_FILES,
    IMDB_GENRES,
    IMDB_NULL,
    NAME_BASICS,
    TITLE_BASICS,
    TITLE_PRINCIPALS,
    TITLE_RATINGS,
    ImdbFile,
)

# ---------------------------------------------------------------------------------------------------------------
# What scale 1.0 means: IMDb's full size on REFERENCE_DATE (figures of early 2026).
SCALE_FULL_TITLES = 12_000_000
SCALE_FULL_PEOPLE = 15_000_000
SCALE_FULL_PRINCIPALS = 95_000_000
"""Not a parameter: the expected outcome of ~8 principals per title on average."""
SCALE_FULL_RATINGS = 1_600_000
"""Not a parameter: the expected outcome of ~13% of titles being rated."""

REFERENCE_DATE = dt.date(2026, 1, 1)
"""Day 0 of the model: the base counts above exist on the eve of this day."""
EARLIEST_SNAPSHOT_DATE = dt.date(2024, 1, 1)
"""Snapshots before this day are refused: the population would shrink towards nothing going back in time."""

BIRTHS_PER_DAY = 0.0005
"""New titles (and new people) per day, as a share of the base count."""
TITLE_REMOVALS_PER_DAY = 0.0001
"""Daily hazard of a title being removed."""
RENAMES_PER_DAY = 0.0002
"""Share of titles (and people) getting a new version each day."""
ANNOUNCED_DAYS_AHEAD = 365
"""A title's startYear shows its year from a day drawn up to this many days before the year (IMDb lists announced
titles under their coming year); before, the year of that day."""
MERGED_PEOPLE_SHARE = 0.0004
"""People merged away upstream: absent from name.basics but still credited in title.principals (real orphans)."""
ORPHAN_REDIRECT_SHARE = 0.0001
"""Principals rows pointed at a merged person on purpose, so that even tiny samples have orphans. With the credits
merged people get by chance, about 0.05% of principals rows are orphans, as in the real files."""

TITLE_ID_TOP = 35_000_000
"""Highest tconst number among the base titles (IMDb reached ~tt35M in 2025)."""
PERSON_ID_TOP = 17_500_000
"""Highest nconst number among the base people."""

GENERATOR_FINGERPRINT = hashlib.sha256(
    Path(__file__).read_bytes() + Path(imdb_files_module.__file__).read_bytes()
).hexdigest()[:12]
"""Changes with the generator's code and the IMDb vocabulary it draws from. Caches of generated days key on it: a
day generated by an older generator, mixed into a chain of newer days, is a jump of thousands of changed rows."""

TITLE_CHUNK = 200_000
"""Titles generated per chunk: bounds memory (about 1.6M principals rows per chunk)."""
PEOPLE_CHUNK = 400_000
GENERATION_THREADS = 2
GZIP_LEVEL = 1
"""isal level 1: files about 20% larger than gzip -6 would make, written several times faster."""

_REFERENCE_YEAR = REFERENCE_DATE.year
_MAX_ORDERING = 100
"""Cap on principals per title; row hash keys are `title_index * 128 + ordering`."""

# ---------------------------------------------------------------------------------------------------------------
# Vocabularies. Only tabs and newlines are forbidden (the files have no quoting); bare `"` and non-ASCII are wanted.

_GENRE_WEIGHTS = {
    "Action": 3.5, "Adult": 0.0, "Adventure": 3.0, "Animation": 3.5, "Biography": 1.2, "Comedy": 17.0,
    "Crime": 3.5, "Documentary": 9.0, "Drama": 20.0, "Family": 4.0, "Fantasy": 1.5, "Film-Noir": 0.1,
    "Game-Show": 2.0, "History": 1.2, "Horror": 2.0, "Music": 3.0, "Musical": 0.5, "Mystery": 2.0, "News": 4.0,
    "Reality-TV": 5.0, "Romance": 4.0, "Sci-Fi": 1.2, "Short": 0.5, "Sport": 1.5, "Talk-Show": 5.0,
    "Thriller": 2.5, "War": 0.5, "Western": 0.4,
}  # fmt: skip
"""By genre of IMDb's vocabulary (`IMDB_GENRES`, alphabetical, the order IMDb lists a title's genres in). Adult is
never drawn at random: it comes with isAdult=1."""
_GENRE_INDEX = {name: k for k, name in enumerate(IMDB_GENRES)}
_NONFICTION_GENRES = ("Documentary", "Game-Show", "News", "Reality-TV", "Talk-Show")
"""Titles with one of these genres credit their cast as `self`."""


@dataclass(frozen=True)
class _TitleType:
    name: str
    share: float
    retype_to: str
    """The type a re-typed title shows (IMDb corrections go e.g. movie <-> tvMovie)."""
    rated_share: float
    first_votes_median: float
    votes_sigma: float
    principals_mean: float
    principals_skewed: bool
    """Geometric count (most have few, some have many) rather than a bell around the mean."""
    runtime_null_share: float
    runtime_mean: float
    runtime_sd: float
    earliest_year: int
    """No title of the type starts before: film from 1890, television from 1946, home video and games from 1975."""


TITLE_TYPES = (
    _TitleType("tvEpisode", 0.670, "tvEpisode", 0.06, 8, 1.6, 7, True, 0.70, 35, 15, 1946),
    _TitleType("short", 0.085, "tvShort", 0.12, 10, 1.6, 6, True, 0.25, 12, 8, 1890),
    _TitleType("movie", 0.063, "tvMovie", 0.45, 60, 2.3, 14, False, 0.25, 95, 22, 1890),
    _TitleType("video", 0.050, "movie", 0.20, 15, 1.8, 8, True, 0.40, 75, 30, 1975),
    _TitleType("tvSeries", 0.050, "tvMiniSeries", 0.35, 40, 2.3, 12, False, 0.50, 40, 15, 1946),
    _TitleType("tvMovie", 0.030, "movie", 0.40, 25, 1.8, 12, False, 0.30, 85, 15, 1946),
    _TitleType("tvMiniSeries", 0.020, "tvSeries", 0.33, 30, 2.0, 12, False, 0.50, 50, 20, 1946),
    _TitleType("tvSpecial", 0.015, "tvMovie", 0.30, 12, 1.8, 10, False, 0.40, 60, 25, 1946),
    _TitleType("videoGame", 0.010, "video", 0.37, 25, 2.0, 9, False, 0.95, 30, 10, 1975),
    _TitleType("tvShort", 0.0068, "short", 0.30, 10, 1.6, 6, True, 0.40, 8, 5, 1946),
    _TitleType("tvPilot", 0.0002, "tvMovie", 0.30, 12, 1.6, 9, False, 0.40, 45, 15, 1946),
)
_TYPE_INDEX = {t.name: k for k, t in enumerate(TITLE_TYPES)}
_TITLE_EARLIEST_YEARS = np.array([t.earliest_year for t in TITLE_TYPES])
_FEATURE_TYPES = (_TYPE_INDEX["movie"], _TYPE_INDEX["tvMovie"])
FIRST_YEAR = 1890
TITLE_AGE_MEANS = ((0.75, 10.0), (0.25, 25.0))
"""startYear = REFERENCE_DATE's year - age, age a mixture of exponentials (share, mean years): three titles in four
from the last decades, and the rest thins out going back, so production grows steadily and steeply after 2000."""
FEATURE_RUNTIME_BY_YEAR = (
    (1890, 8.0), (1905, 15.0), (1915, 50.0), (1925, 63.0), (1935, 74.0), (1945, 82.0), (1955, 88.0), (1965, 92.0),
    (1990, 95.0),
)  # fmt: skip
"""Mean runtime (minutes) of a movie by start year, interpolated; the type's mean (95) from 1990 on. 1910s-1930s:
the medians of the real April 2025 movies (50, 63, 74 minutes); before: early films ran minutes; from the 1940s:
feature length, about 90."""
_SERIES_TYPES = (_TYPE_INDEX["tvSeries"], _TYPE_INDEX["tvMiniSeries"])
_SHORT_TYPES = (_TYPE_INDEX["short"], _TYPE_INDEX["tvShort"])
ADULT_SHARE = 0.02
RUNTIME_JUNK_SHARE = 0.0005
"""A real quirk: a few rows have a genre in runtimeMinutes (a shifted field upstream)."""
RUNTIME_ZERO_SHARE = 0.0001
RUNTIME_HUGE_SHARE = 0.00005
_HUGE_RUNTIMES = ("1080", "1440", "2880", "5220", "14400", "51420")
_RUNTIME_JUNK = ("Reality-TV", "Documentary", "Talk-Show", "Game-Show", "Comedy", "Drama")

_ADJECTIVES = (
    "Last", "Dark", "Silent", "Broken", "Golden", "Hidden", "Lost", "Final", "Secret", "Wild", "Little", "Red",
    "Blue", "Eternal", "Crimson", "Midnight", "Frozen", "Savage", "Quiet", "Electric", "Hollow", "Burning",
    "Velvet", "Iron", "Paper", "Northern", "Lonely", "Sweet", "Perfect", "Strange", "Happy", "Deadly", "Endless",
    "Forgotten", "Bright", "Bitter", "Young", "Ancient", "Dangerous", "Beautiful",
)  # fmt: skip
_NOUNS = (
    "Road", "River", "House", "Night", "Summer", "Dream", "City", "Heart", "Shadow", "Garden", "Kingdom", "Island",
    "Empire", "Letter", "Mirror", "Storm", "Station", "Promise", "Game", "Voyage", "Machine", "Winter", "Horizon",
    "Hotel", "Border", "Witness", "Harbor", "Family", "Song", "Love", "War", "Story", "Man", "Woman", "Girl", "Boy",
    "Sky", "Fire", "Water", "Moon", "Star", "Truth", "Life", "World", "Time", "Blood", "Money", "Friends",
    "Secrets", "Ghost", "Show", "Yankovic Live",
)  # fmt: skip
_FOREIGN_WORDS = (
    "Café", "Mañana", "Über Alles", "Niño", "Amélie", "Straße", "Crème Brûlée", "Señorita", "Fête", "São Paulo",
    "Ærø", "Łódź", "東京物語", "千と千尋", "사랑", "Москва", "Ελλάδα", "İstanbul", "Smörgåsbord", "Göteborg", "Noël",
    "Déjà Vu", "Piñata", "Mädchen", "Garçon", "Città", "Corazón", "Ça Va", "家族", "未来", "夏", "Ночь", "Жизнь",
    "Amanhã", "Ilha", "Façade", "Tränen", "Cœur",
)  # fmt: skip
_FOREIGN_ARTICLES = ("La", "El", "Le", "Les", "Der", "Die", "Das", "Il", "Lo", "Os", "Den", "Het", "Une", "Un")
_QUOTED_WORDS = ("Weird Al", "Best", "Big", "Real", "Lucky", "Perfect", "Little", "Good", "Funny", "King", "Honest")
_SEQUELS = ("2", "3", "4", "II", "III", "Part 2", "Returns", "Reloaded", "Forever")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip

_TITLE_TEMPLATES = (
    ("{adj} {noun}", 30.0),
    ("The {noun}", 20.0),
    ("The {adj} {noun}", 10.0),
    ("{noun} of the {noun2}", 10.0),
    ("{noun}", 8.0),
    ("{adj} {noun} {sequel}", 6.0),
    ("{foreign} {noun}", 6.0),
    ("{foreign}", 5.0),
    ("{noun}: {adj} {noun2}", 2.0),
    ('"{quoted}" {noun}', 1.5),  # e.g. `"Weird Al" Yankovic Live`: a title starting with a bare quote
    ('The "{quoted}" {noun}', 1.5),  # e.g. `The "Best" Show`
)
_EPISODE_TEMPLATES = (
    ("Episode #{season}.{episode}", 45.0),
    ("Episode dated {day} {month} {year}", 10.0),
    *((text, weight * 0.45) for text, weight in _TITLE_TEMPLATES),
)
_TITLE_WORDS = {
    "adj": _ADJECTIVES,
    "noun": _NOUNS,
    "noun2": _NOUNS,
    "sequel": _SEQUELS,
    "foreign": _FOREIGN_WORDS,
    "quoted": _QUOTED_WORDS,
    "month": _MONTHS,
}
"""The word slots of the title templates and their vocabularies (the other slots are numbers)."""
_ORIGINAL_TITLE_TEMPLATES = (("{article} {foreign}", 1.0), ("{foreign} {foreign2}", 1.0))
_ORIGINAL_TITLE_WORDS = {"article": _FOREIGN_ARTICLES, "foreign": _FOREIGN_WORDS, "foreign2": _FOREIGN_WORDS}
ORIGINAL_TITLE_DIFFERS_SHARE = 0.10

_MALE_FIRST = (
    "John", "James", "Michael", "David", "Robert", "Carlos", "José", "Luis", "Jürgen", "François", "Björn", "Søren",
    "Łukasz", "Hiroshi", "Kenji", "Ahmed", "Omar", "Raj", "Ivan", "Pierre", "Giovanni", "Marco", "Andrés", "Mateo",
    "Lars", "Sven", "Ömer", "Jean-Luc", "Thomas", "William", "Daniel", "Paul", "Peter", "George", "Frank", "Tom",
    "Chris", "Mark", "Steven", "Jimmy",
)  # fmt: skip
_FEMALE_FIRST = (
    "Mary", "Anna", "Maria", "María", "Sarah", "Emma", "Zoë", "Renée", "Chloé", "Inés", "Małgorzata", "Agnieszka",
    "Ingrid", "Sofía", "Yuki", "Mei", "Priya", "Fatima", "Olga", "Elena", "Laura", "Julia", "Linda", "Susan",
    "Karen", "Emily", "Hannah", "Léa", "Ana", "Lucía", "Björk", "Agnès", "Françoise", "Marta", "Nina", "Kate",
    "Jessica", "Rachel", "Helen", "Grace",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Martínez", "Rodríguez", "Müller", "Schmidt",
    "Schröder", "O'Brien", "O'Connor", "Nguyen", "Kim", "Lee", "Park", "Tanaka", "Suzuki", "Kowalski", "Nowak",
    "Wiśniewski", "Østergaard", "Jørgensen", "Svensson", "Rossi", "Bianchi", "Dubois", "Lefèvre", "Moreau",
    "Ivanov", "Petrov", "Singh", "Patel", "Khan", "Yılmaz", "Öztürk", "Silva", "Santos", "Pereira", "Cohen", "Levi",
    "Murphy", "Kelly", "Walsh", "Taylor", "Anderson", "Jackson", "White", "Harris", "Martin", "Thompson", "Moore",
    "Young", "Allen", "King", "Wright", "Scott", "Hill", "Doyle",
)  # fmt: skip
_CJK_NAMES = ("山田太郎", "佐藤花子", "鈴木一郎", "김민준", "이서연", "王伟", "李娜", "张敏", "黒澤明", "宮崎駿")
_NICKNAMES = ("The Kid", "Big Tony", "Red", "Doc", "Lucky", "Slim", "Mad Dog", "Ace", "Babe", "Bud")
_INITIALS = tuple("ABCDEFGHIJKLMNOPRSTW")
_NAME_TEMPLATES = (
    ("{first} {last}", 84.0),
    ("{first} {initial}. {last}", 8.0),
    ("{first} {last}-{last2}", 3.5),
    ("{cjk}", 2.0),
    ("{first}", 1.0),
    ('{first} "{nick}" {last}', 1.5),  # bare quotes in names, as in the real name.basics
)
_NAME_WORDS = {"last": _LAST_NAMES, "last2": _LAST_NAMES, "initial": _INITIALS, "cjk": _CJK_NAMES, "nick": _NICKNAMES}
"""The word slots of the name templates but `first`, and their vocabularies."""
MALE_SHARE = 0.55

PROFESSIONS = (
    "actor", "actress", "producer", "writer", "director", "miscellaneous", "composer", "cinematographer", "editor",
    "self", "camera_department", "sound_department", "art_department", "music_department", "soundtrack", "stunts",
    "make_up_department", "visual_effects", "animation_department", "editorial_department", "assistant_director",
    "casting_director", "production_designer", "costume_designer", "executive", "script_department",
    "special_effects", "costume_department", "talent_agent", "location_management", "transportation_department",
    "casting_department", "manager", "legal", "publicist", "archive_footage",
)  # fmt: skip
_PROFESSION_WEIGHTS = (
    40.0, 0.0, 10.0, 8.0, 7.0, 5.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5,
    0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.2, 0.1, 0.1, 0.5,
)  # fmt: skip
"""`actor` stands for "performer" and becomes `actress` for women, so `actress` itself is never drawn."""
_PROFESSION_COUNT_WEIGHTS = (7.0, 45.0, 25.0, 23.0)
"""0 professions => the empty string (not `\\N`), a real quirk of name.basics."""
_KNOWN_FOR_COUNT_WEIGHTS = (20.0, 25.0, 15.0, 15.0, 25.0)
BIRTH_YEAR_SHARE = 0.12
EARLY_BIRTH_SHARE = 0.03
"""Among known birth years, those in 1500-1899."""

_CAST_CATEGORIES = ("actor", "actress", "self", "archive_footage", "archive_sound")
_CREW_CATEGORIES = (
    "director", "writer", "producer", "composer", "cinematographer", "editor", "casting_director",
    "production_designer",
)  # fmt: skip
"""In the order IMDb lists crew after the cast."""
_CREW_WEIGHTS = (0.25, 0.22, 0.25, 0.10, 0.08, 0.06, 0.02, 0.02)
PRINCIPAL_CATEGORIES = _CAST_CATEGORIES + _CREW_CATEGORIES
_CATEGORY_INDEX = {name: k for k, name in enumerate(PRINCIPAL_CATEGORIES)}
ARCHIVE_FOOTAGE_SHARE = 0.015
ARCHIVE_SOUND_SHARE = 0.002

_DATE_ORIGIN = np.datetime64(REFERENCE_DATE.isoformat(), "D")


# ---------------------------------------------------------------------------------------------------------------
# Counter-based randomness: uniform(stream, index) is a pure function, so chunks and days are independent.

_U64 = np.uint64


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place: a bijective avalanche of 64-bit integers (wrapping arithmetic)."""
    shifted = x >> _U64(30)
    x ^= shifted
    x *= _U64(0xBF58476D1CE4E5B9)
    np.right_shift(x, _U64(27), out=shifted)
    x ^= shifted
    x *= _U64(0x94D049BB133111EB)
    np.right_shift(x, _U64(31), out=shifted)
    x ^= shifted
    return x


class _Random:
    """Independent uniform streams keyed by a name, each a pure function of (seed, stream, index[, salt])."""

    _GOLDEN = _U64(0x9E3779B97F4A7C15)
    _SALT = _U64(0xD1B54A32D192ED03)

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._keys: dict[str, np.uint64] = {}

    def _key(self, stream: str) -> np.uint64:
        if stream not in self._keys:
            raw = np.array([(self._seed * 0x100000001B3 ^ zlib.crc32(stream.encode())) & (2**64 - 1)], dtype=_U64)
            self._keys[stream] = _mix64(_mix64(raw))[0]
        return self._keys[stream]

    def uniform(self, stream: str, index: np.ndarray, salt: np.ndarray | None = None) -> np.ndarray:
        """Floats in [0, 1), one per index."""
        x = index.astype(_U64)
        x *= self._GOLDEN
        x += self._key(stream)
        _mix64(x)
        if salt is not None:
            salted = salt.astype(_U64)
            salted *= self._SALT
            x += salted
            _mix64(x)
        x >>= _U64(11)
        uniform = x.astype(np.float64)
        uniform *= 1.0 / (1 << 53)
        return uniform

    def normal(self, stream: str, index: np.ndarray, salt: np.ndarray | None = None) -> np.ndarray:
        """Standard normal variates (Box-Muller)."""
        radius = np.sqrt(-2.0 * np.log1p(-self.uniform(stream + ":r", index, salt)))
        return radius * np.cos(2.0 * np.pi * self.uniform(stream + ":a", index, salt))

    def exponential(self, stream: str, index: np.ndarray, mean: float | np.ndarray) -> np.ndarray:
        return -np.log1p(-self.uniform(stream, index)) * mean

    def choice(
        self, stream: str, index: np.ndarray, weights: Sequence[float], salt: np.ndarray | None = None
    ) -> np.ndarray:
        """Index into `weights`, drawn proportionally to them."""
        return _weighted_index(weights, self.uniform(stream, index, salt))


def _weighted_index(weights: Sequence[float], u: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    cdf /= cdf[-1]
    cdf[-1] = 1.0  # u < 1 always lands inside
    return np.searchsorted(cdf, u, side="right").astype(np.int64)


def _pick(vocabulary: Sequence[str], u: np.ndarray) -> pl.Series:
    """One word of `vocabulary` per uniform draw."""
    return pl.Series(vocabulary, dtype=pl.String).gather((u * len(vocabulary)).astype(np.int64))


# ---------------------------------------------------------------------------------------------------------------
# Populations: who exists on which day, under which id and version.


@dataclass(frozen=True)
class _Population:
    """Titles or people, numbered 0, 1, 2, ... in order of birth.

    `base_count` members exist on the eve of REFERENCE_DATE (day 0); `births_per_day` (BIRTHS_PER_DAY of them) more
    are born each day, also before day 0 (so earlier snapshots are smaller). Ids grow with the member number, sparse
    like IMDb's: the first `low_id_share` of the base members have 7-digit ids, the rest spread up to `id_top`, later
    members continue.
    """

    name: str
    id_prefix: str
    base_count: int
    removals_per_day: float
    renames_per_day: float
    low_id_share: float
    id_top: int

    @property
    def births_per_day(self) -> float:
        return BIRTHS_PER_DAY * self.base_count

    def universe_size(self, day: np.ndarray | int) -> np.ndarray | int:
        """Members born on or before `day` are exactly those numbered below this."""
        return self.base_count + np.floor(self.births_per_day * (np.asarray(day) + 1)).astype(np.int64)

    def born_day(self, index: np.ndarray) -> np.ndarray:
        """Inverse of `universe_size`: the first day whose universe includes the member."""
        estimate = np.ceil((index - self.base_count + 1) / self.births_per_day).astype(np.int64) - 1
        estimate = np.where(self.universe_size(estimate) > index, estimate, estimate + 1)
        return np.where(self.universe_size(estimate - 1) > index, estimate - 1, estimate)

    def removal_day(self, rng: _Random, index: np.ndarray, born: np.ndarray) -> np.ndarray:
        """The first day a member is gone (lifetimes counted from the earliest supported day)."""
        if self.removals_per_day == 0:
            return np.full(index.shape, np.iinfo(np.int64).max)
        lifetime = rng.exponential(f"{self.name}.lifetime", index, 1.0 / self.removals_per_day)
        return np.maximum(born, _EARLIEST_DAY) + 1 + np.floor(lifetime).astype(np.int64)

    def present(self, rng: _Random, index: np.ndarray, day: int) -> np.ndarray:
        born = self.born_day(index)
        return (born <= day) & (self.removal_day(rng, index, born) > day)

    def version(self, rng: _Random, index: np.ndarray, born: np.ndarray, day: int) -> np.ndarray:
        """0 at birth, +1 every `period` days from a random phase; periods vary per member around
        1/renames_per_day (the factor makes the mean of 1/period equal to renames_per_day)."""
        period = np.exp(rng.uniform(f"{self.name}.rename_period", index) - 0.5) * (1.0422 / self.renames_per_day)
        phase = rng.uniform(f"{self.name}.rename_phase", index)
        return np.floor(np.maximum(day - born, 0) / period + phase).astype(np.int64)

    @cached_property
    def _id_slopes(self) -> tuple[int, float, float]:
        low_members = max(1, round(self.low_id_share * self.base_count))
        low_slope = max(1.0, 9_999_999 / low_members)
        high_slope = max(1.0, (self.id_top - 9_999_999) / max(1, self.base_count - low_members))
        return low_members, low_slope, high_slope

    def _id_position(self, index: np.ndarray) -> np.ndarray:
        low_members, low_slope, high_slope = self._id_slopes
        low_part = np.minimum(index, low_members) * low_slope
        return np.floor(low_part + np.maximum(index - low_members, 0) * high_slope).astype(np.int64)

    def ids(self, rng: _Random, index: np.ndarray) -> np.ndarray:
        """Strictly increasing id numbers: member i gets one of the integers in (pos(i), pos(i+1)]."""
        start = self._id_position(index)
        room = self._id_position(index + 1) - start
        return start + 1 + np.floor(rng.uniform(f"{self.name}.id", index) * room).astype(np.int64)


_EARLIEST_DAY = (EARLIEST_SNAPSHOT_DATE - REFERENCE_DATE).days


def _id_text(prefix: str, column: str) -> pl.Expr:
    """`tt` + number zero-padded to 7 digits (8 digits once past 9,999,999)."""
    return pl.concat_str([pl.lit(prefix), pl.col(column).cast(pl.String).str.zfill(7)])


@dataclass(frozen=True)
class _MergedPeople:
    """People merged away upstream: absent from name.basics, still named by a few principals rows (orphans).

    Spread evenly over the base people so that even tiny samples have at least one."""

    base_people: int

    @cached_property
    def count(self) -> int:
        return max(1, round(self.base_people * MERGED_PEOPLE_SHARE))

    def member(self, k: np.ndarray) -> np.ndarray:
        return ((2 * k + 1) * self.base_people) // (2 * self.count)

    def contains(self, index: np.ndarray) -> np.ndarray:
        k = np.minimum(index * self.count // self.base_people, self.count - 1)
        return (index < self.base_people) & (self.member(k) == index)


# ---------------------------------------------------------------------------------------------------------------
# Text rendering: templates like "The {adj} {noun}" over columns of drawn words, vectorised in polars.

_SLOT = re.compile(r"\{(\w+)\}")


def _template_expr(template: str) -> pl.Expr:
    parts: list[pl.Expr] = []
    position = 0
    for slot in _SLOT.finditer(template):
        if slot.start() > position:
            parts.append(pl.lit(template[position : slot.start()]))
        parts.append(pl.col(slot.group(1)).cast(pl.String))
        position = slot.end()
    if position < len(template):
        parts.append(pl.lit(template[position:]))
    return pl.concat_str(parts)


def _render(slots: pl.DataFrame, templates: Sequence[tuple[str, float]], choice: np.ndarray) -> pl.Series:
    """Row r gets template `choice[r]` filled from the slot columns of row r."""
    frame = slots.with_columns(pl.Series("_template", choice))
    expr = pl.when(pl.col("_template") == 0).then(_template_expr(templates[0][0]))
    for k, (template, _) in enumerate(templates[1:], start=1):
        expr = expr.when(pl.col("_template") == k).then(_template_expr(template))
    return frame.select(expr.alias("text")).to_series()


def _template_weights(templates: Sequence[tuple[str, float]]) -> list[float]:
    return [weight for _, weight in templates]


@dataclass(frozen=True)
class _TextDraws:
    """The uniform draws of one kind of text (streams `<stream_prefix>.<name>`) for members at their version: a new
    version (a rename) draws new words and a new template."""

    rng: _Random
    stream_prefix: str
    index: np.ndarray
    version: np.ndarray

    def __call__(self, name: str) -> np.ndarray:
        return self.rng.uniform(f"{self.stream_prefix}.{name}", self.index, self.version)

    def words(self, vocabularies: dict[str, Sequence[str]]) -> dict[str, pl.Series]:
        """One word per member for each slot, from the slot's vocabulary, drawn from the stream named by the slot."""
        return {slot: _pick(vocabulary, self(slot)) for slot, vocabulary in vocabularies.items()}

    def template(self, templates: Sequence[tuple[str, float]]) -> np.ndarray:
        """The index of each member's template, drawn by weight."""
        return _weighted_index(_template_weights(templates), self("template"))


def _drop_repeats(picks: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Keep the first `count[r]` picks of row r, each value once; dropped slots become -1."""
    kept = np.where(np.arange(picks.shape[1])[None, :] < count[:, None], picks, -1)
    for later in range(1, kept.shape[1]):
        for earlier in range(later):
            repeat = (kept[:, later] >= 0) & (kept[:, later] == kept[:, earlier])
            kept[:, later] = np.where(repeat, -1, kept[:, later])
    return kept


def _join_vocabulary(vocabulary: Sequence[str], picks: np.ndarray) -> pl.Series:
    """Comma-joined words of each row's picks (-1 = none); "" when a row has none."""
    nullable = pl.Series([None, *vocabulary], dtype=pl.String)
    columns = [nullable.gather(picks[:, k] + 1) for k in range(picks.shape[1])]
    return pl.select(pl.concat_str(columns, separator=",", ignore_nulls=True).fill_null("")).to_series()


def _null_if_empty(text: pl.Series) -> pl.Series:
    return pl.select(pl.when(text != "").then(text)).to_series()


class _StringTable:
    """Weighted choices among strings (None = `\\N`), all in one table, so that a whole column, each row with its
    own set of choices, is resolved by one search and one gather."""

    def __init__(self) -> None:
        self.strings: list[str | None] = [None]
        self._set_count = 0
        self._group_keys: list[float] = []
        self._group_starts: list[int] = []
        self._group_sizes: list[int] = []

    def choices(self, weighted: Sequence[tuple[str | Sequence[str] | None, float]]) -> int:
        """Register a set of choices and return its id. Each entry is a group (one string, None, or several equally
        likely strings) with its weight."""
        set_id = self._set_count
        self._set_count += 1
        cdf = np.cumsum([weight for _, weight in weighted]) / sum(weight for _, weight in weighted)
        cdf[-1] = 1.0
        # Set k's groups end at keys k + cdf, so that k + u (u in [0, 1)) falls into set k's groups.
        self._group_keys.extend(set_id + cdf)
        for group, _ in weighted:
            members = [None] if group is None else [group] if isinstance(group, str) else list(group)
            self._group_starts.append(0 if group is None else len(self.strings))
            self._group_sizes.append(len(members))
            if group is not None:
                self.strings.extend(members)
        return set_id

    def pick(self, set_id: np.ndarray, group_u: np.ndarray, member_u: np.ndarray) -> np.ndarray:
        """Row r picks from set `set_id[r]`: positions in `series`."""
        keys = set_id + np.minimum(group_u, 0.999_999)  # k + u must stay below k + 1 in floating point
        group = np.searchsorted(np.array(self._group_keys), keys, side="right")
        sizes = np.array(self._group_sizes)[group]
        return np.array(self._group_starts)[group] + np.floor(member_u * sizes).astype(np.int64)

    @cached_property
    def series(self) -> pl.Series:
        return pl.Series(self.strings, dtype=pl.String)


def _character_names(first_names: Sequence[str]) -> list[str]:
    """JSON arrays as IMDb writes them: raw UTF-8, only `"` escaped."""
    full_names = [f"{first} {last}" for first in first_names[:20] for last in _LAST_NAMES[:25]]
    return [f'["{name}"]' for name in (*first_names, *full_names)]


_ROLES = (
    "Narrator", "Doctor", "Nurse", "Police Officer", "Reporter", "Waiter", "Waitress", "Bartender", "Detective",
    "Teacher", "Soldier", "Guard", "Driver", "Voice", "Various", "Himself", "Herself", "Party Guest", "Dancer",
    "Customer", "Bit Part", "Extra",
)  # fmt: skip
_MULTI_ROLES = (
    '["Narrator","Various"]', '["Doctor","Voice"]', '["Various Characters"]', '["Host","Narrator"]',
    '["Guard","Soldier","Voice"]', '["Dancer","Party Guest"]',
)  # fmt: skip
_ESCAPED_CHARACTERS = (
    '["Jimmy \\"The Kid\\" Doyle"]', '["Woman - (segment \\"Fire\\")"]', '["\\"Big\\" Tony Rossi"]',
    '["Himself - (segment: \\"The Interview\\")"]', '["Rosa \\"La Niña\\" García"]',
)  # fmt: skip

_TABLE = _StringTable()


def _acting_characters(first_names: Sequence[str]) -> list[tuple[str | Sequence[str] | None, float]]:
    """The weighted `characters` values of an actor or actress whose characters bear `first_names`."""
    return [
        (None, 15.0),
        (_character_names(first_names), 60.0),
        ([f'["{r}"]' for r in _ROLES], 15.0),
        (_MULTI_ROLES, 8.0),
        (_ESCAPED_CHARACTERS, 2.0),
    ]


_CHARACTERS_BY_CATEGORY: dict[str, int] = {
    "actor": _TABLE.choices(_acting_characters(_MALE_FIRST)),
    "actress": _TABLE.choices(_acting_characters(_FEMALE_FIRST)),
    "self": _TABLE.choices(
        [
            ('["Self"]', 55.0),
            ('["Self - Host"]', 15.0),
            ('["Self - Guest"]', 10.0),
            ('["Self - Contestant"]', 5.0),
            ('["Self - Narrator"]', 3.0),
            ('["Self","Narrator"]', 2.0),
            (None, 10.0),
        ]
    ),
    "archive_footage": _TABLE.choices([('["Self"]', 60.0), (None, 40.0)]),
}
_JOBS_BY_CATEGORY: dict[str, int] = {
    "director": _TABLE.choices([(None, 94.0), ("co-director", 5.0), ("segment director", 1.0)]),
    "writer": _TABLE.choices(
        [
            (None, 40.0),
            ("screenplay", 15.0),
            ("written by", 12.0),
            ("story", 8.0),
            ("screenplay by", 6.0),
            ("novel", 5.0),
            ("dialogue", 3.0),
            ("co-writer", 3.0),
            ("teleplay", 3.0),
            (['based on the novel "The Long Road"', 'based on the play "Summer Garden"', 'story "Night Train"'], 5.0),
        ]
    ),
    "producer": _TABLE.choices(
        [
            ("producer", 65.0),
            ("executive producer", 20.0),
            ("co-producer", 6.0),
            ("line producer", 4.0),
            ("associate producer", 3.0),
            (None, 2.0),
        ]
    ),
    "composer": _TABLE.choices([(None, 90.0), ("original music", 7.0), ("music", 3.0)]),
    "cinematographer": _TABLE.choices([(None, 55.0), ("director of photography", 45.0)]),
    "editor": _TABLE.choices([(None, 85.0), ("film editor", 15.0)]),
    "casting_director": _TABLE.choices([(None, 80.0), ("casting", 20.0)]),
    "production_designer": _TABLE.choices([(None, 95.0), ("production design", 5.0)]),
}
_NULL_CHOICE = _TABLE.choices([(None, 1.0)])
_JOB_SET = np.array([_JOBS_BY_CATEGORY.get(name, _NULL_CHOICE) for name in PRINCIPAL_CATEGORIES])
_CHARACTER_SET = np.array([_CHARACTERS_BY_CATEGORY.get(name, _NULL_CHOICE) for name in PRINCIPAL_CATEGORIES])


# ---------------------------------------------------------------------------------------------------------------
# Careers: who can be credited in which year.

PEOPLE_PER_COHORT = 40
MAX_COHORTS = 4000
CAREER_YEARS_MIN = 4
CAREER_YEARS_MEAN = 18.0
CAREER_YEARS_MAX = 60
UNIFORM_COHORT_SHARE = 0.15
"""Share of cohorts spread evenly over the years rather than by production volume, so early years have cohorts
of their own instead of borrowing people from decades later."""


def _title_year_density(years: np.ndarray) -> np.ndarray:
    """Share of titles per start year implied by TITLE_AGE_MEANS (before the wrap round, which is tiny)."""
    age = _REFERENCE_YEAR - years
    return sum(share * (np.exp(-age / mean) - np.exp(-(age + 1) / mean)) for share, mean in TITLE_AGE_MEANS)


@dataclass(frozen=True)
class _Careers:
    """People in career cohorts: person p is in cohort cohort_count - 1 - p % cohort_count (the lowest numbers lead
    the latest, busiest cohorts, as IMDb's lowest ids are prolific people), and a cohort works in the years
    [first_year, last_year] (a working life of CAREER_YEARS_MIN-MAX years). Cohorts are placed by production volume,
    so each gets a similar share of credits. `year_cohorts[year_starts[y]:][:year_counts[y]]` are the cohorts
    working in year FIRST_YEAR + y (the nearest one where none does)."""

    cohort_count: int
    first_year: np.ndarray
    last_year: np.ndarray
    year_starts: np.ndarray
    year_counts: np.ndarray
    year_cohorts: np.ndarray

    @classmethod
    def build(cls, rng: _Random, base_people: int) -> _Careers:
        count = int(np.clip(base_people // PEOPLE_PER_COHORT, 1, MAX_COHORTS))
        years = np.arange(FIRST_YEAR, _REFERENCE_YEAR + 2)
        density = _title_year_density(years)
        density = (1 - UNIFORM_COHORT_SHARE) * density / density.sum() + UNIFORM_COHORT_SHARE / len(years)
        cohorts = np.arange(count)
        middle = years[np.minimum(np.searchsorted(np.cumsum(density), (cohorts + 0.5) / count), len(years) - 1)]
        length = np.minimum(
            CAREER_YEARS_MIN + np.floor(rng.exponential("career.length", cohorts, CAREER_YEARS_MEAN - 4)),
            CAREER_YEARS_MAX,
        ).astype(np.int64)
        first_year = middle - length // 2
        last_year = first_year + length
        members: list[np.ndarray] = []
        for year in years:
            working = np.flatnonzero((first_year <= year) & (year <= last_year))
            if len(working) == 0:
                working = np.array([np.argmin(np.maximum(first_year - year, year - last_year))])
            members.append(working)
        counts = np.array([len(m) for m in members])
        return cls(count, first_year, last_year, np.cumsum(counts) - counts, counts, np.concatenate(members))

    def cohort_working_in(self, year: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One cohort working in each `year`, chosen by `u` (uniform draws)."""
        row = np.clip(year - FIRST_YEAR, 0, len(self.year_counts) - 1)
        return self.year_cohorts[self.year_starts[row] + np.floor(u * self.year_counts[row]).astype(np.int64)]

    def cohort_of(self, person: np.ndarray) -> np.ndarray:
        """The cohort of `person`; also, given a cohort, the residue of its members (the mapping is an involution)."""
        return self.cohort_count - 1 - person % self.cohort_count

    def members_below(self, cohort: np.ndarray, universe: np.ndarray) -> np.ndarray:
        """How many people numbered below `universe` are in `cohort` (at least 1: universe >= cohort_count)."""
        return (universe - 1 - self.cohort_of(cohort)) // self.cohort_count + 1

    def person(self, cohort: np.ndarray, rank: np.ndarray) -> np.ndarray:
        """The `rank`-th person (0 = the lowest number) of `cohort`."""
        return self.cohort_of(cohort) + rank * self.cohort_count


# ---------------------------------------------------------------------------------------------------------------
# The model of one (scale, seed) and the rows it yields for one day.


@dataclass(frozen=True)
class _Model:
    """The synthetic IMDb of one (scale, seed): its random streams, its titles and people, their careers."""

    rng: _Random
    titles: _Population
    people: _Population
    careers: _Careers
    merged_people: _MergedPeople

    @classmethod
    def build(cls, scale: float, seed: int) -> _Model:
        rng = _Random(seed)
        base_titles, base_people = round(SCALE_FULL_TITLES * scale), round(SCALE_FULL_PEOPLE * scale)
        titles = _Population("title", "tt", base_titles, TITLE_REMOVALS_PER_DAY, RENAMES_PER_DAY, 0.5, TITLE_ID_TOP)
        people = _Population("person", "nm", base_people, 0.0, RENAMES_PER_DAY, 0.62, PERSON_ID_TOP)
        return cls(rng, titles, people, _Careers.build(rng, base_people), _MergedPeople(base_people))

    def is_male(self, person: np.ndarray) -> np.ndarray:
        return self.rng.uniform("person.gender", person) < MALE_SHARE


@dataclass
class _TitleRows:
    basics: pl.DataFrame
    ratings: pl.DataFrame
    principals: pl.DataFrame


def _year_of(day: np.ndarray) -> np.ndarray:
    return (_DATE_ORIGIN + day.astype("timedelta64[D]")).astype("datetime64[Y]").astype(np.int64) + 1970


def _day_in_year(year: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The model's day number of a day of `year` drawn by `u` (uniform draws): when a yearly event (a series
    ending, a death) shows, spread over the year, so that a new year is not a jump of a year's events at once."""
    january_first = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    days_in_year = (january_first.astype("datetime64[Y]") + 1).astype("datetime64[D]") - january_first
    return (january_first - _DATE_ORIGIN).astype(np.int64) + np.floor(u * days_in_year.astype(np.int64)).astype(
        np.int64
    )


def _title_rows(model: _Model, first: int, stop: int, day: int) -> _TitleRows:
    """All rows of titles numbered [first, stop) that exist on `day`."""
    rng, titles = model.rng, model.titles
    index = np.arange(first, stop, dtype=np.int64)
    born = titles.born_day(index)
    alive = (born <= day) & (titles.removal_day(rng, index, born) > day)
    index, born = index[alive], born[alive]

    base_type = rng.choice("title.type", index, [t.share for t in TITLE_TYPES])
    version = titles.version(rng, index, born, day)
    is_adult = rng.uniform("title.adult", index) < ADULT_SHARE
    is_episode = base_type == _TYPE_INDEX["tvEpisode"]
    year = _title_year(rng, index, born, base_type)
    # A title's year shows from a day up to ANNOUNCED_DAYS_AHEAD before it starts (the title's own day, not the
    # new year for all at once); until then startYear shows the year of that day.
    announced_day = day + np.floor(rng.uniform("title.announced", index) * ANNOUNCED_DAYS_AHEAD).astype(np.int64)
    start_year = np.minimum(year, _year_of(announced_day))
    # Established films and series almost always have a year (the real April 2025 rows: all of them); a missing
    # year is mostly an episode or an announced title.
    start_year_null = rng.uniform("title.year_null", index) < np.where(is_episode, 0.06, 0.005)
    ended = np.isin(base_type, _SERIES_TYPES) & (rng.uniform("title.ended", index) < 0.5)
    end_year = year + np.floor(rng.exponential("title.run_years", index, 3.0)).astype(np.int64)
    end_day = _day_in_year(end_year, rng.uniform("title.end_day", index))
    end_year_null = ~ended | start_year_null | (end_day > day)
    shown_type = _shown_type(rng, index, version, base_type, year)
    genres = _title_genres(rng, index, base_type, is_adult)

    tconst = pl.DataFrame({"id": titles.ids(rng, index)}).select(_id_text(titles.id_prefix, "id")).to_series()
    basics = pl.DataFrame(
        {
            "tconst": tconst,
            "titleType": pl.Series([t.name for t in TITLE_TYPES]).gather(shown_type),
            "primaryTitle": _title_text(rng, index, version, is_episode, year),
            "originalTitle": _original_title_text(rng, index, version),
            "original_differs": rng.uniform("title.original_differs", index) < ORIGINAL_TITLE_DIFFERS_SHARE,
            "isAdult": is_adult.astype(np.int8),
            "startYear": pl.Series(start_year).set(pl.Series(start_year_null), None),
            "endYear": pl.Series(end_year).set(pl.Series(end_year_null), None),
            "runtimeMinutes": _runtime_text(rng, index, base_type, start_year),
            "genres": _null_if_empty(_join_vocabulary(IMDB_GENRES, genres)),
        }
    ).select(
        "tconst",
        "titleType",
        "primaryTitle",
        pl.when("original_differs").then("originalTitle").otherwise("primaryTitle").alias("originalTitle"),
        "isAdult",
        "startYear",
        "endYear",
        "runtimeMinutes",
        "genres",
    )
    ratings = _ratings(rng, index, born, base_type, day, tconst)
    nonfiction = np.isin(genres, [_GENRE_INDEX[g] for g in _NONFICTION_GENRES]).any(axis=1)
    principals = _principals(model, index, born, base_type, nonfiction, year, tconst)
    return _TitleRows(basics, ratings, principals)


def _title_year(rng: _Random, index: np.ndarray, born: np.ndarray, base_type: np.ndarray) -> np.ndarray:
    """The year a title starts, also when startYear does not show it: skewed to recent years; titles born during the
    model's time are mostly of their birth year. Ages beyond the type's earliest year wrap round to recent years (a
    tiny share, and no pile-up at the start)."""
    (recent_share, recent_mean), (_, older_mean) = TITLE_AGE_MEANS
    age = np.where(
        rng.uniform("title.age_kind", index) < recent_share,
        rng.exponential("title.age_recent", index, recent_mean),
        rng.exponential("title.age_older", index, older_mean),
    )
    earliest_year = _TITLE_EARLIEST_YEARS[base_type]
    year = _REFERENCE_YEAR - np.fmod(np.floor(age).astype(np.int64), _REFERENCE_YEAR - earliest_year + 1)
    recent = (born >= 0) & (rng.uniform("title.recent", index) < 0.7)
    return np.where(recent, _year_of(born) + (rng.uniform("title.next_year", index) < 0.2), year)


def _shown_type(
    rng: _Random, index: np.ndarray, version: np.ndarray, base_type: np.ndarray, year: np.ndarray
) -> np.ndarray:
    """The type a title shows at its version: a new version sometimes corrects it (`_TitleType.retype_to`). A
    correction never makes an anachronism (a 1920s movie stays a movie, not a tvMovie)."""
    retype_to = np.array([_TYPE_INDEX[t.retype_to] for t in TITLE_TYPES])
    retyped = (
        (version > 0)
        & (rng.uniform("title.retype", index, version) < 0.2)
        & (_TITLE_EARLIEST_YEARS[retype_to[base_type]] <= year)
    )
    return np.where(retyped, retype_to[base_type], base_type)


def _runtime_text(rng: _Random, index: np.ndarray, base_type: np.ndarray, start_year: np.ndarray) -> pl.Series:
    """runtimeMinutes as IMDb writes it: minutes around the type's mean, null for some, and the real quirks (a genre,
    a 0, a runtime of days) for a few."""
    # Features ran minutes in early cinema and reached today's length by the 1960s; other types keep their length.
    feature_years, feature_minutes = zip(*FEATURE_RUNTIME_BY_YEAR, strict=True)
    era = np.where(
        np.isin(base_type, _FEATURE_TYPES),
        np.interp(start_year, feature_years, feature_minutes) / feature_minutes[-1],
        1.0,
    )
    runtime_mean = np.array([t.runtime_mean for t in TITLE_TYPES])[base_type] * era
    runtime_sd = np.array([t.runtime_sd for t in TITLE_TYPES])[base_type] * era
    runtime = np.maximum(1, np.round(runtime_mean + runtime_sd * rng.normal("title.runtime", index))).astype(np.int64)
    runtime_null_share = np.array([t.runtime_null_share for t in TITLE_TYPES])[base_type]
    runtime_null = rng.uniform("title.runtime_null", index) < runtime_null_share
    quirk = pl.col("quirk")
    return (
        pl.DataFrame(
            {
                "minutes": pl.Series(runtime).cast(pl.String).set(pl.Series(runtime_null), None),
                "junk": _pick(_RUNTIME_JUNK, rng.uniform("title.runtime_junk", index)),
                "huge": _pick(_HUGE_RUNTIMES, rng.uniform("title.runtime_huge", index)),
                "quirk": rng.uniform("title.runtime_quirk", index),
            }
        )
        .select(
            pl.when(quirk < RUNTIME_JUNK_SHARE)
            .then("junk")
            .when(quirk < RUNTIME_JUNK_SHARE + RUNTIME_ZERO_SHARE)
            .then(pl.lit("0"))
            .when(quirk < RUNTIME_JUNK_SHARE + RUNTIME_ZERO_SHARE + RUNTIME_HUGE_SHARE)
            .then("huge")
            .otherwise("minutes")
        )
        .to_series()
    )


def _title_genres(rng: _Random, index: np.ndarray, base_type: np.ndarray, is_adult: np.ndarray) -> np.ndarray:
    """Up to three genre indexes per title, alphabetical, -1 for none: Adult with isAdult, Short for short types."""
    genre_count = rng.choice("title.genre_count", index, (7.0, 45.0, 25.0, 23.0))
    genre_weights = [_GENRE_WEIGHTS[g] for g in IMDB_GENRES]
    genre_picks = np.stack([rng.choice(f"title.genre{k}", index, genre_weights) for k in range(3)], axis=1)
    forced = np.where(
        is_adult, _GENRE_INDEX["Adult"], np.where(np.isin(base_type, _SHORT_TYPES), _GENRE_INDEX["Short"], -1)
    )
    genre_picks[:, 0] = np.where(forced >= 0, forced, genre_picks[:, 0])
    genre_count = np.where(forced >= 0, np.maximum(genre_count, 1), genre_count)
    genres = _drop_repeats(genre_picks, genre_count)
    genres = np.sort(np.where(genres < 0, len(IMDB_GENRES), genres), axis=1)  # alphabetical; dropped slots last
    return np.where(genres == len(IMDB_GENRES), -1, genres)


def _title_text(
    rng: _Random, index: np.ndarray, version: np.ndarray, is_episode: np.ndarray, year: np.ndarray
) -> pl.Series:
    """primaryTitle of each title at its current version (a new version is a rename); `year`: the title's start
    year, also before startYear shows it, so that the text changes only with the version."""
    draw = _TextDraws(rng, "title.text", index, version)
    slots = pl.DataFrame(
        {
            **draw.words(_TITLE_WORDS),
            "season": 1 + np.floor(-np.log1p(-draw("season")) * 2.0).astype(np.int64),
            "episode": 1 + np.floor(draw("episode") * 24).astype(np.int64),
            "day": 1 + np.floor(draw("day") * 28).astype(np.int64),
            "year": np.minimum(year, _REFERENCE_YEAR) - np.floor(draw("year_back") * 3).astype(np.int64),
        }
    )
    # Episodes draw from the episode templates; their first two are episode-only, the rest shared with titles.
    choice = np.where(is_episode, draw.template(_EPISODE_TEMPLATES), draw.template(_TITLE_TEMPLATES) + 2)
    return _render(slots, _EPISODE_TEMPLATES, choice)


def _original_title_text(rng: _Random, index: np.ndarray, version: np.ndarray) -> pl.Series:
    """originalTitle where it differs from primaryTitle: a foreign-language title."""
    draw = _TextDraws(rng, "title.original", index, version)
    slots = pl.DataFrame(draw.words(_ORIGINAL_TITLE_WORDS))
    return _render(slots, _ORIGINAL_TITLE_TEMPLATES, draw.template(_ORIGINAL_TITLE_TEMPLATES))


def _ratings(
    rng: _Random, index: np.ndarray, born: np.ndarray, base_type: np.ndarray, day: int, tconst: pl.Series
) -> pl.DataFrame:
    """Rows of title.ratings: titles rated from some weeks after birth, votes growing, average drifting."""
    rated_share = np.array([t.rated_share for t in TITLE_TYPES])[base_type]
    rating_start = born + 1 + np.floor(rng.exponential("rating.delay", index, 60.0)).astype(np.int64)
    rated = (rng.uniform("rating.rated", index) < rated_share) & (rating_start <= day)
    index, base_type, rating_start = index[rated], base_type[rated], rating_start[rated]
    median = np.array([t.first_votes_median for t in TITLE_TYPES])[base_type]
    sigma = np.array([t.votes_sigma for t in TITLE_TYPES])[base_type]
    first_votes = 5 + np.floor(np.minimum(median * np.exp(sigma * rng.normal("rating.votes", index)), 2e6))
    growth_per_day = 0.0001 + 0.0011 * rng.uniform("rating.growth", index)
    age = day - rating_start
    votes = (first_votes + np.floor(first_votes * growth_per_day * age)).astype(np.int64)
    first_average = np.clip(6.9 + 1.3 * rng.normal("rating.average", index), 1.0, 10.0)
    drift = 0.4 * rng.normal("rating.drift", index)
    average = np.clip(first_average + drift * np.tanh(age / 365.0), 1.0, 10.0)
    tenths = np.round(average * 10).astype(np.int64)
    return pl.DataFrame({"tconst": tconst.filter(pl.Series(rated)), "tenths": tenths, "numVotes": votes}).select(
        "tconst",
        pl.concat_str(
            [(pl.col("tenths") // 10).cast(pl.String), pl.lit("."), (pl.col("tenths") % 10).cast(pl.String)]
        ).alias("averageRating"),
        "numVotes",
    )


def _principals(
    model: _Model,
    index: np.ndarray,
    born: np.ndarray,
    base_type: np.ndarray,
    nonfiction: np.ndarray,
    year: np.ndarray,
    tconst: pl.Series,
) -> pl.DataFrame:
    """Rows of title.principals: cast first, then crew in IMDb's order, people drawn Zipf-like among those whose
    career spans the title's year (`year`: its start year, also when startYear is not shown)."""
    rng, people = model.rng, model.people
    count, cast_count = _principal_counts(rng, index, base_type)
    title_row = np.repeat(np.arange(len(index)), count)
    row_start = np.repeat(np.cumsum(count) - count, count)
    ordering = np.arange(len(title_row), dtype=np.int64) - row_start + 1
    key = index[title_row] * 128 + ordering
    person = _credited_people(model, key, born[title_row], year[title_row])
    category = _principal_categories(
        rng, key, ordering, count[title_row], cast_count[title_row], nonfiction[title_row], model.is_male(person)
    )
    job = _TABLE.pick(_JOB_SET[category], rng.uniform("principals.job", key), rng.uniform("principals.job_member", key))
    characters = _TABLE.pick(
        _CHARACTER_SET[category],
        rng.uniform("principals.character", key),
        rng.uniform("principals.character_member", key),
    )
    return pl.DataFrame(
        {
            "tconst": tconst.gather(title_row),
            "ordering": ordering,
            "person_id": people.ids(rng, person),
            "category": pl.Series(PRINCIPAL_CATEGORIES).gather(category),
            "job": _TABLE.series.gather(job),
            "characters": _TABLE.series.gather(characters),
        }
    ).select(
        "tconst", "ordering", _id_text(people.id_prefix, "person_id").alias("nconst"), "category", "job", "characters"
    )


def _principal_counts(rng: _Random, index: np.ndarray, base_type: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many principals each title has (at most _MAX_ORDERING), and how many of them are its cast."""
    mean = np.array([t.principals_mean for t in TITLE_TYPES])[base_type]
    skewed = np.array([t.principals_skewed for t in TITLE_TYPES])[base_type]
    geometric = 1 + np.floor(np.log1p(-rng.uniform("principals.count", index)) / np.log1p(-1.0 / mean))
    bell = np.round(mean + 0.4 * mean * rng.normal("principals.count_bell", index))
    count = np.clip(np.where(skewed, geometric, bell), 1, _MAX_ORDERING).astype(np.int64)
    cast_share = 0.35 + 0.5 * rng.uniform("principals.cast_share", index)
    cast_count = np.floor(count * cast_share + rng.uniform("principals.cast_round", index)).astype(np.int64)
    return count, cast_count


def _credited_people(model: _Model, key: np.ndarray, title_born: np.ndarray, title_year: np.ndarray) -> np.ndarray:
    """The person of each principals row (`key`), for a title born on `title_born` starting in `title_year`.

    A title draws from those born by its own birth (so they exist whenever it does) in a career cohort working in
    the title's year, Zipf-like by number within the cohort (low numbers are its prolific veterans); some rows pick
    someone born in the year before, and a few a merged person (an orphan)."""
    rng, people, careers = model.rng, model.people, model.careers
    universe = people.universe_size(np.maximum(title_born, _EARLIEST_DAY))
    cohort = careers.cohort_working_in(title_year, rng.uniform("principals.cohort", key))
    members = careers.members_below(cohort, universe)
    rank = np.floor(members * rng.uniform("principals.person", key) ** 2).astype(np.int64)
    recent_window = -(-np.minimum(universe, max(1, round(people.births_per_day * 365))) // careers.cohort_count)
    recent_rank = members - 1 - np.floor(rng.uniform("principals.recent_person", key) * recent_window).astype(np.int64)
    rank = np.where(rng.uniform("principals.recent", key) < 0.15, np.maximum(recent_rank, 0), rank)
    person = careers.person(cohort, rank)
    merged = model.merged_people
    orphan = merged.member(np.floor(rng.uniform("principals.orphan_person", key) * merged.count).astype(np.int64))
    return np.where(rng.uniform("principals.orphan", key) < ORPHAN_REDIRECT_SHARE, orphan, person)


def _principal_categories(
    rng: _Random,
    key: np.ndarray,
    ordering: np.ndarray,
    title_count: np.ndarray,
    title_cast_count: np.ndarray,
    nonfiction: np.ndarray,
    male: np.ndarray,
) -> np.ndarray:
    """The category index of each principals row: the first `title_cast_count` of a title are its cast (actor,
    actress, self in non-fiction, a few archive rows), the rest its crew in IMDb's order."""
    archive = rng.uniform("principals.archive", key)
    cast_category = np.where(
        archive < ARCHIVE_FOOTAGE_SHARE,
        _CATEGORY_INDEX["archive_footage"],
        np.where(
            archive < ARCHIVE_FOOTAGE_SHARE + ARCHIVE_SOUND_SHARE,
            _CATEGORY_INDEX["archive_sound"],
            np.where(
                nonfiction,
                _CATEGORY_INDEX["self"],
                np.where(male, _CATEGORY_INDEX["actor"], _CATEGORY_INDEX["actress"]),
            ),
        ),
    )
    # Crew slot k of m takes the category at quantile (k + u) / m: a stratified draw, hence in canonical order.
    crew_quantile = (ordering - title_cast_count - 1 + rng.uniform("principals.crew", key)) / np.maximum(
        title_count - title_cast_count, 1
    )
    crew_category = len(_CAST_CATEGORIES) + _weighted_index(_CREW_WEIGHTS, np.clip(crew_quantile, 0.0, 0.999999))
    return np.where(ordering <= title_cast_count, cast_category, crew_category)


def _person_name_text(rng: _Random, index: np.ndarray, version: np.ndarray, male: np.ndarray) -> pl.Series:
    """primaryName of each person at the current version (a new version is a rename)."""
    draw = _TextDraws(rng, "person.name", index, version)
    # One draw of the first name, read in the men's or the women's list.
    slots = pl.DataFrame(
        {
            "male_first": _pick(_MALE_FIRST, draw("first")),
            "female_first": _pick(_FEMALE_FIRST, draw("first")),
            "male": male,
            **draw.words(_NAME_WORDS),
        }
    ).with_columns(first=pl.when("male").then("male_first").otherwise("female_first"))
    return _render(slots, _NAME_TEMPLATES, draw.template(_NAME_TEMPLATES))


def _name_rows(model: _Model, first: int, stop: int, day: int) -> pl.DataFrame:
    """Rows of name.basics for people numbered [first, stop) who exist on `day` (merged people never do)."""
    rng, people = model.rng, model.people
    index = np.arange(first, stop, dtype=np.int64)
    born = people.born_day(index)
    alive = (born <= day) & ~model.merged_people.contains(index)
    index, born = index[alive], born[alive]
    male = model.is_male(index)
    birth_year, death_year = _birth_and_death_years(model, index, day)

    profession_count = rng.choice("person.profession_count", index, _PROFESSION_COUNT_WEIGHTS)
    professions = np.stack([rng.choice(f"person.profession{k}", index, _PROFESSION_WEIGHTS) for k in range(3)], axis=1)
    professions = np.where((professions == 0) & ~male[:, None], 1, professions)  # actor -> actress for women
    professions = _drop_repeats(professions, profession_count)

    return pl.DataFrame(
        {
            "person_id": people.ids(rng, index),
            "primaryName": _person_name_text(rng, index, people.version(rng, index, born, day), male),
            "birthYear": birth_year,
            "deathYear": death_year,
            "primaryProfession": _join_vocabulary(PROFESSIONS, professions),
            "knownForTitles": _known_for_titles_text(model, index, born, day),
        }
    ).select(
        _id_text(people.id_prefix, "person_id").alias("nconst"),
        "primaryName",
        "birthYear",
        "deathYear",
        "primaryProfession",
        "knownForTitles",
    )


def _birth_and_death_years(model: _Model, index: np.ndarray, day: int) -> tuple[pl.Series, pl.Series]:
    """birthYear and deathYear of each person, null where not known (most people) or not dead on `day` (a death
    shows from its own day of the year)."""
    rng = model.rng
    has_birth = rng.uniform("person.has_birth", index) < BIRTH_YEAR_SHARE
    early = rng.uniform("person.early_birth", index) < EARLY_BIRTH_SHARE
    # Born some 18-40 years before the career starts; the early births are authors of adapted works.
    career_start = model.careers.first_year[model.careers.cohort_of(index)]
    birth_age = 18 + np.floor(22 * rng.uniform("person.birth_age", index) ** 2)
    birth_year = np.where(
        early,
        1500 + np.floor(rng.uniform("person.early_year", index) * 400),
        np.clip(career_start - birth_age, 1850, _REFERENCE_YEAR - 10),
    ).astype(np.int64)
    lifespan = 40 + np.floor(rng.uniform("person.lifespan", index) * 55).astype(np.int64)
    death_day = _day_in_year(birth_year + lifespan, rng.uniform("person.death_day", index))
    dead = np.where(has_birth, death_day <= day, rng.uniform("person.dead", index) < 0.01)
    death_year = np.where(
        has_birth, birth_year + lifespan, 1900 + np.floor(rng.uniform("person.death_year", index) * 125)
    ).astype(np.int64)
    return pl.Series(birth_year).set(pl.Series(~has_birth), None), pl.Series(death_year).set(pl.Series(~dead), None)


def _known_for_titles_text(model: _Model, index: np.ndarray, born: np.ndarray, day: int) -> pl.Series:
    """knownForTitles: titles from up to a year after the person's birth, kept only if they exist on `day`; null
    when none is."""
    rng, titles = model.rng, model.titles
    known_for_count = rng.choice("person.known_for_count", index, _KNOWN_FOR_COUNT_WEIGHTS)
    title_universe = titles.universe_size(np.maximum(born, _EARLIEST_DAY) + 365)
    known_for = np.stack(
        [np.floor(rng.uniform(f"person.known_for{k}", index) * title_universe).astype(np.int64) for k in range(4)],
        axis=1,
    )
    exists = titles.present(rng, known_for.ravel(), day).reshape(known_for.shape)
    known_for = _drop_repeats(np.where(exists, known_for, -1), known_for_count)
    known_for_ids = titles.ids(rng, np.maximum(known_for, 0).ravel()).reshape(known_for.shape)
    return (
        pl.DataFrame(
            {
                **{f"known{k}": known_for_ids[:, k] for k in range(4)},
                **{f"kept{k}": known_for[:, k] >= 0 for k in range(4)},
            }
        )
        .select(
            pl.concat_str(
                [pl.when(f"kept{k}").then(_id_text(titles.id_prefix, f"known{k}")) for k in range(4)],
                separator=",",
                ignore_nulls=True,
            ).replace("", None)
        )
        .to_series()
    )


# ---------------------------------------------------------------------------------------------------------------
# Writing.


class _GzipTsvWriter:
    """Streams TSV chunks into `final_path` through a temporary file in the same directory.

    Compression runs in the writer's own thread (isal releases the GIL), fed through a short queue, so it overlaps
    with generation. The gzip header has mtime 0 and no file name, so the bytes depend only on the content.
    """

    def __init__(self, final_path: Path, imdb_file: ImdbFile) -> None:
        self.final_path = final_path
        self.imdb_file = imdb_file
        self.rows = 0
        handle, temp_name = tempfile.mkstemp(dir=final_path.parent, prefix=f".{final_path.name}.", suffix=".tmp")
        os.close(handle)
        self.temp_path = Path(temp_name)
        self._queue: queue.Queue[bytes | memoryview | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._compress, name=f"gzip {final_path.name}", daemon=True)
        self._thread.start()
        self._queue.put((imdb_file.header_line + "\n").encode())

    def _compress(self) -> None:
        try:
            with (
                open(self.temp_path, "wb") as raw,
                igzip.IGzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=raw, mtime=0) as gz,
            ):
                while (data := self._queue.get()) is not None:
                    gz.write(data)
        except BaseException as error:  # handed to the producing thread by close()
            self._error = error
            while self._queue.get() is not None:  # keep draining so the producer never blocks
                pass

    def write(self, serialized: _SerializedRows) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(serialized.data)
        self.rows += serialized.rows

    def close(self) -> None:
        """Finish the temporary file; raises what went wrong while compressing."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def commit(self) -> Path:
        os.chmod(self.temp_path, 0o644)  # mkstemp creates 0600; these are ordinary data files
        os.replace(self.temp_path, self.final_path)
        return self.final_path

    def discard(self) -> None:
        with contextlib.suppress(Exception):  # the error being handled already is the one that matters
            self.close()
        self.temp_path.unlink(missing_ok=True)


@dataclass(frozen=True)
class _SerializedRows:
    data: memoryview
    rows: int


def _serialize(rows: pl.DataFrame, imdb_file: ImdbFile) -> _SerializedRows:
    """IMDb's TSV: tab-separated, `\\N` for null, no quoting at all, `\\n` line ends, no header."""
    if rows.columns != list(imdb_file.columns):
        raise ValueError(f"{imdb_file.file_name}: generated columns {rows.columns} differ from IMDb's header")
    buffer = io.BytesIO()
    rows.write_csv(
        buffer, include_header=False, separator="\t", line_terminator="\n", quote_style="never", null_value=IMDB_NULL
    )
    return _SerializedRows(buffer.getbuffer(), rows.height)


def _title_chunk(model: _Model, first: int, stop: int, day: int) -> dict[str, _SerializedRows]:
    rows = _title_rows(model, first, stop, day)
    return {
        TITLE_BASICS.file_name: _serialize(rows.basics, TITLE_BASICS),
        TITLE_RATINGS.file_name: _serialize(rows.ratings, TITLE_RATINGS),
        TITLE_PRINCIPALS.file_name: _serialize(rows.principals, TITLE_PRINCIPALS),
    }


def _people_chunk(model: _Model, first: int, stop: int, day: int) -> dict[str, _SerializedRows]:
    return {NAME_BASICS.file_name: _serialize(_name_rows(model, first, stop, day), NAME_BASICS)}


@dataclass(frozen=True)
class SampleSnapshot:
    """What `generate_sample_snapshot` wrote: file name -> path, and file name -> data rows (header excluded)."""

    paths: dict[str, Path]
    rows: dict[str, int]


def snapshot_day(snapshot_date: dt.date) -> int:
    """The model's day number of a snapshot date (0 = REFERENCE_DATE)."""
    if snapshot_date < EARLIEST_SNAPSHOT_DATE:
        raise ValueError(
            f"sample snapshot date {snapshot_date} is before {EARLIEST_SNAPSHOT_DATE}, the earliest the sample "
            "generator models"
        )
    return (snapshot_date - REFERENCE_DATE).days


def generate_sample_snapshot(
    out_dir: str | Path, snapshot_date: dt.date, scale: float, seed: int = 42
) -> SampleSnapshot:
    """Write the four IMDb files of `snapshot_date` into `out_dir` and count their rows.

    Chunks are generated by GENERATION_THREADS threads (numpy and polars release the GIL) and written in order,
    so the bytes do not depend on thread timing. Each file appears under its final name only once complete.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"sample scale must be a positive number, got {scale!r}")
    model = _Model.build(scale, seed)
    if model.titles.base_count < 1 or model.people.base_count < 1:
        raise ValueError(f"sample scale {scale} is too small: it gives no titles (1.0 = {SCALE_FULL_TITLES:,})")
    day = snapshot_day(snapshot_date)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    title_count, people_count = int(model.titles.universe_size(day)), int(model.people.universe_size(day))
    chunks = [
        functools.partial(_title_chunk, model, first, min(first + TITLE_CHUNK, title_count), day)
        for first in range(0, title_count, TITLE_CHUNK)
    ] + [
        functools.partial(_people_chunk, model, first, min(first + PEOPLE_CHUNK, people_count), day)
        for first in range(0, people_count, PEOPLE_CHUNK)
    ]
    writers: dict[str, _GzipTsvWriter] = {}
    try:
        for imdb_file in IMDB_FILES:
            writers[imdb_file.file_name] = _GzipTsvWriter(out / imdb_file.file_name, imdb_file)
        with ThreadPoolExecutor(GENERATION_THREADS, thread_name_prefix="sample") as pool:
            in_flight: deque[Future[dict[str, _SerializedRows]]] = deque()
            try:
                for chunk in chunks:
                    in_flight.append(pool.submit(chunk))
                    if len(in_flight) >= GENERATION_THREADS:  # bounds memory: a chunk per thread at most
                        for name, serialized in in_flight.popleft().result().items():
                            writers[name].write(serialized)
                while in_flight:
                    for name, serialized in in_flight.popleft().result().items():
                        writers[name].write(serialized)
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        for writer in writers.values():
            writer.close()
    except BaseException:
        for writer in writers.values():
            writer.discard()
        raise
    paths = {name: writer.commit() for name, writer in writers.items()}
    return SampleSnapshot(paths, {name: writer.rows for name, writer in writers.items()})


def write_sample_snapshot(out_dir: str | Path, snapshot_date: dt.date, scale: float, seed: int = 42) -> dict[str, Path]:
    """Write IMDb-exact `title.basics`, `title.ratings`, `name.basics` and `title.principals` (.tsv.gz) of a
    synthetic IMDb on `snapshot_date` into `out_dir`; return {file name: path}.

    `scale` 1.0 is IMDb's full size (~12M titles, ~15M people, ~95M principals, ~1.6M ratings); 0.0005 gives
    ~6,000 titles. Consecutive days differ like IMDb's: new, removed, renamed and re-typed titles, drifting votes.
    Deterministic: the same (date, scale, seed) gives byte-identical files. Files are written atomically.
    """
    return generate_sample_snapshot(out_dir, snapshot_date, scale, seed).paths
