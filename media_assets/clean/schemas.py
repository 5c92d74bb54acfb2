"""Schemas of the cleaned tables: the contract between the clean layer and the star-schema model.

Ids are the integers of IMDb's `tconst`/`nconst` (`tt0111161` -> 111161); the text ids are kept on the two
entity tables so the model can show them without re-deriving the zero padding.
"""

from __future__ import annotations

import polars as pl

CLEAN_TITLE_BASICS_SCHEMA = pl.Schema(
    {
        "title_id": pl.Int64,
        "tconst": pl.String,
        "title_type": pl.String,
        "primary_title": pl.String,
        "original_title": pl.String,
        "is_adult": pl.Boolean,
        "start_year": pl.Int32,
        "end_year": pl.Int32,
        "runtime_minutes": pl.Int32,
        "genres": pl.List(pl.String),
    }
)

CLEAN_TITLE_RATINGS_SCHEMA = pl.Schema(
    {
        "title_id": pl.Int64,
        "tconst": pl.String,
        "average_rating": pl.Float64,
        "num_votes": pl.Int64,
    }
)

CLEAN_NAME_BASICS_SCHEMA = pl.Schema(
    {
        "person_id": pl.Int64,
        "nconst": pl.String,
        "primary_name": pl.String,
        "birth_year": pl.Int32,
        "death_year": pl.Int32,
        "primary_profession": pl.List(pl.String),
        "known_for_titles": pl.List(pl.Int64),
    }
)

CLEAN_TITLE_PRINCIPALS_SCHEMA = pl.Schema(
    {
        "title_id": pl.Int64,
        "ordering": pl.Int32,
        "person_id": pl.Int64,
        "category": pl.String,
        "job": pl.String,
        "characters": pl.String,
    }
)
"""`characters` is IMDb's JSON array of the names played, as written and checked to be one (nulled otherwise): the
model decodes it (`decoded_characters`) for the credits it keeps, about a tenth of them. A list column here cost
more twice over: decoding every line in the clean step, and, being nested, it kept polars from decoding the other
columns of only the kept rows (measured at full scale: fact_cast_crew 14.2 -> 10.7 CPU-s as text)."""

CREDIT_KEY_TITLE_FACTOR = 10_000
"""A credit's key, IMDb's (title, ordering), as one integer: `title_id * CREDIT_KEY_TITLE_FACTOR + ordering` (see
`credit_key`). The one encoding of the project: the model's `credit_id` is the same number."""
MAX_ORDERING = CREDIT_KEY_TITLE_FACTOR - 1
"""The largest `ordering` the credit key can hold: a line with a larger one is quarantined (`bad_ordering`) by the
clean step, so every credit of `clean_title_principals` has a key."""


def decoded_characters(characters: pl.Expr) -> pl.Expr:
    """The names of a `characters` text, as a list."""
    return characters.str.json_decode(pl.List(pl.String))


def credit_key(title_id: pl.Expr, ordering: pl.Expr) -> pl.Expr:
    """The integer key of a credit (title ids have at most 9 digits, so it stays below 10^13)."""
    return title_id * CREDIT_KEY_TITLE_FACTOR + ordering
