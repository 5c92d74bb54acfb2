"""KPI 16: revenue and ROI of the titles the TMDb enrichment found (`media_assets.enrich`)."""

import polars as pl

from media_assets.kpis.context import KpiContext, KpiFigures, KpiSpec


def revenue_roi_figures(details: pl.DataFrame | None) -> KpiFigures:
    """One row per title with both a budget and a revenue on TMDb, by revenue (descending, ties by tconst), plus
    totals, overall ROI (total revenue / total budget) and the median ROI. Skipped without TMDb details
    (`media_assets.enrich.tmdb.TMDB_DETAILS_SCHEMA`)."""
    if details is None or details.is_empty():
        return KpiFigures.skip("no TMDb details: set TMDB_API_KEY to enable the TMDb enrichment")
    found = details.filter(pl.col("status") == "found")
    with_money = (
        found.filter((pl.col("budget") > 0) & (pl.col("revenue") > 0))
        .select("tconst", "budget", "revenue", roi=pl.col("revenue") / pl.col("budget"))
        .sort(["revenue", "tconst"], descending=[True, False])
    )
    total_budget, total_revenue = int(with_money["budget"].sum()), int(with_money["revenue"].sum())
    return KpiFigures(
        values={
            "titles_found": found.height,
            "titles_with_budget_and_revenue": with_money.height,
            "total_budget": total_budget,
            "total_revenue": total_revenue,
            "overall_roi": total_revenue / total_budget if total_budget else None,
            "median_roi": with_money["roi"].median(),
        },
        tables={"rows": with_money.to_dicts()},
        note=None
        if with_money.height
        else f"none of the {found.height} titles found on TMDb has both a budget and a revenue",
    )


def revenue_roi(context: KpiContext) -> KpiFigures:
    return revenue_roi_figures(context.tmdb_details)


KPIS = (
    KpiSpec(
        16,
        "revenue_roi",
        "Revenue and ROI (revenue / budget) of the titles enriched from TMDb that have both figures.",
        revenue_roi,
    ),
)
