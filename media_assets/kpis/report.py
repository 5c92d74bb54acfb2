"""The structure of `kpis.json` (its JSON schema: `KpiReport.model_json_schema()`):

    {
      "snapshot_date": "2026-01-05",
      "parameters": {"m": 12.0, "C": 6.9},          # vote threshold and global mean rating (null: no ratings)
      "kpis": {
        "<name>": {
          "id": 1,                                   # 1..16, the order of `media_assets.kpis.registry.KPI_SPECS`
          "name": "<name>",
          "description": "<one line>",
          "values": {"<name>": number | string | null, ...},      # headline figures (may be empty)
          "tables": {"<name>": [{"<column>": value, ...}, ...]},  # ranked or grouped rows (may be empty)
          "skipped": false,
          "note": null | "<why skipped, or a caveat>"
        }, ...
      }
    }

The file is a function of the day's published star schema, the previous published day's fact_ratings and the
day's TMDb enrichment only: no timestamps or run ids, so two runs over the same inputs write the same bytes.
Sums are exact (integers), means are exact integer sums divided once, shares are integer counts divided once, and
every ranking ends on a key (a title_id, person_id or name), so float noise never decides an order.
"""

import datetime as dt

from pydantic import BaseModel, ConfigDict

Scalar = str | int | float | bool | None


class Kpi(BaseModel):
    """One KPI of `kpis.json`: headline values and/or tables of rows."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    description: str
    values: dict[str, Scalar]
    tables: dict[str, list[dict[str, Scalar]]]
    skipped: bool = False
    note: str | None = None


class RatingParameters(BaseModel):
    """The parameters of the Bayesian weighted rating, computed from the day's fact_ratings."""

    model_config = ConfigDict(extra="forbid")

    m: float | None
    """Vote threshold: the 25th percentile of num_votes, linear interpolation (null without ratings)."""
    C: float | None
    """Global mean rating, from the exact sum of the ratings in tenths (null without ratings)."""


class KpiReport(BaseModel):
    """The content of `kpis.json` for one snapshot day."""

    model_config = ConfigDict(extra="forbid")

    snapshot_date: dt.date
    parameters: RatingParameters
    kpis: dict[str, Kpi]
