"""The four IMDb bulk files this project reads: names and exact headers.

IMDb's format (https://developer.imdb.com/non-commercial-datasets/): gzipped, tab-separated, UTF-8, first
line a header, `\\N` for a missing value, and no quoting at all (titles contain bare `"`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImdbFile:
    """One IMDb bulk file, e.g. `title.basics.tsv.gz`."""

    dataset: str
    """IMDb's dataset name, e.g. `title.basics`."""
    columns: tuple[str, ...]
    """The exact header, in order."""

    @property
    def file_name(self) -> str:
        return f"{self.dataset}.tsv.gz"

    @property
    def asset_suffix(self) -> str:
        """`title.basics` -> `title_basics`, used in asset names (`raw_title_basics`, `clean_title_basics`)."""
        return self.dataset.replace(".", "_")

    @property
    def header_line(self) -> str:
        return "\t".join(self.columns)


TITLE_BASICS = ImdbFile(
    "title.basics",
    (
        "tconst",
        "titleType",
        "primaryTitle",
        "originalTitle",
        "isAdult",
        "startYear",
        "endYear",
        "runtimeMinutes",
        "genres",
    ),
)
TITLE_RATINGS = ImdbFile("title.ratings", ("tconst", "averageRating", "numVotes"))
NAME_BASICS = ImdbFile(
    "name.basics",
    ("nconst", "primaryName", "birthYear", "deathYear", "primaryProfession", "knownForTitles"),
)
TITLE_PRINCIPALS = ImdbFile("title.principals", ("tconst", "ordering", "nconst", "category", "job", "characters"))

IMDB_FILES: tuple[ImdbFile, ...] = (TITLE_BASICS, TITLE_RATINGS, NAME_BASICS, TITLE_PRINCIPALS)
IMDB_NULL = "\\N"

IMDB_GENRES: tuple[str, ...] = (
    "Action",
    "Adult",
    "Adventure",
    "Animation",
    "Biography",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "Film-Noir",
    "Game-Show",
    "History",
    "Horror",
    "Music",
    "Musical",
    "Mystery",
    "News",
    "Reality-TV",
    "Romance",
    "Sci-Fi",
    "Short",
    "Sport",
    "Talk-Show",
    "Thriller",
    "War",
    "Western",
)
"""IMDb's genre vocabulary (the 28 values `genres` holds in title.basics), alphabetical. A token outside it (a
case or whitespace variant, a blank) is a defect of the file."""
