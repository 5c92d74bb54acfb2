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
        "characters": pl.List(pl.String),
    }
)
