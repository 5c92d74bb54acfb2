"""The registry of the media KPIs: every `KpiSpec`, in `kpis.json` order, and the function computing them all.

A KPI is added by writing its function in the module of its theme and listing its spec in that module's `KPIS`.
"""

from media_assets.kpis import genres, people, production, ratings, revenue, trending
from media_assets.kpis.context import KpiContext, KpiSpec
from media_assets.kpis.report import Kpi, KpiReport

KPI_SPECS: tuple[KpiSpec, ...] = tuple(
    sorted(
        (*ratings.KPIS, *genres.KPIS, *people.KPIS, *production.KPIS, *trending.KPIS, *revenue.KPIS),
        key=lambda spec: spec.id,
    )
)
if [spec.id for spec in KPI_SPECS] != list(range(1, len(KPI_SPECS) + 1)) or len(
    {spec.name for spec in KPI_SPECS}
) != len(KPI_SPECS):
    raise ValueError(f"KPI ids must be 1..n and names unique: {[(spec.id, spec.name) for spec in KPI_SPECS]}")


def compute_kpi(spec: KpiSpec, context: KpiContext) -> Kpi:
    figures = spec.compute(context)
    return Kpi(
        id=spec.id,
        name=spec.name,
        description=spec.describe(context.limits),
        values=figures.values,
        tables=figures.tables,
        skipped=figures.skipped,
        note=figures.note,
    )


def compute_kpis(context: KpiContext) -> KpiReport:
    """Every registered KPI of the day: the content of `kpis.json`."""
    return KpiReport(
        snapshot_date=context.snapshot_date,
        parameters=context.parameters,
        kpis={spec.name: compute_kpi(spec, context) for spec in KPI_SPECS},
    )
