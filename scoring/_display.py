"""A chart's tables as plain data, for drawing (the patient view shades its score bands)."""

from __future__ import annotations

from typing import Any

from scoring._charts import Chart
from scoring._items import BandsItem, CategoryItem


def chart_display(chart: Chart) -> dict[str, Any]:
    """The chart's numeric bands (as printed) and categorical points, JSON-able.

    Every band keeps its printed bounds and whether each is inclusive, so a drawing can shade
    exactly what the chart scores; items with variants (NEWS2 SpO2 scales, air or oxygen) list
    each with its conditions (None: any).
    """
    numeric: list[dict[str, Any]] = []
    categories: list[dict[str, Any]] = []
    for item in chart.items:
        if isinstance(item, BandsItem):
            numeric.append(
                {
                    "key": item.key,
                    "input": item.input,
                    "variants": [
                        {
                            "spo2_scale": variant.spo2_scale,
                            "on_oxygen": variant.on_oxygen,
                            "bands": [
                                {
                                    "low": band.low,
                                    "low_inclusive": band.low_inclusive,
                                    "high": band.high,
                                    "high_inclusive": band.high_inclusive,
                                    "points": band.value,
                                }
                                for band in variant.lookup.table.bands
                            ],
                        }
                        for variant in item.variants
                    ],
                }
            )
        elif isinstance(item, CategoryItem):
            categories.append({"key": item.key, "input": item.input, "points": dict(item.points)})
    return {
        "id": chart.id,
        "system": chart.system,
        "title": chart.title,
        "status": chart.status,
        "items": numeric,
        "categories": categories,
        "levels": [
            {"id": level.id, "risk": level.risk, "monitoring": level.monitoring}
            for level in chart.escalation.levels
        ],
    }
