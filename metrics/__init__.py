"""The metric registry: id -> names (zh-CN, en), unit, direction, METRICS.md section, compute.

Each metric is one function `compute(cur, *, project_key, **params) -> MetricResult`: pure over a DuckDB
cursor, SQL-first, no Streamlit. Pages, the CLI and the review refer to metrics only by registry id
(evidence.dev's named queries); built-ins register through the same decorator any later metric uses
(datasette's facets).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd


@dataclass
class MetricResult:
    """What every metric returns.

    value: the headline number (None when it cannot be computed; never a silent 0).
    series: the tidy DataFrame behind the chart (ASCII column names, stable across languages).
    warnings: structured data-quality notes, each {"code": ..., **params}; ui.i18n renders them.
    """
    value: float | None
    series: pd.DataFrame
    warnings: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    id: str
    name_en: str
    name_zh: str
    unit: str               # e.g. "points", "defects/KLOC", "%"
    direction: str          # higher_is_better | lower_is_better | none
    section: str            # METRICS.md section, e.g. "1.1"
    compute: Callable[..., MetricResult]
    params: tuple[str, ...] = ()   # optional keyword parameters the metric understands (sprint, month, ...)

    def name(self, lang: str) -> str:
        return self.name_zh if lang.startswith("zh") else self.name_en


REGISTRY: dict[str, Metric] = {}


def register(id: str, *, name_en: str, name_zh: str, unit: str, direction: str, section: str,
             params: tuple[str, ...] = ()):
    """Decorator: add a compute function to the registry under `id`."""
    def wrap(fn: Callable[..., MetricResult]) -> Callable[..., MetricResult]:
        if id in REGISTRY:
            raise ValueError(f"metric {id!r} registered twice")
        REGISTRY[id] = Metric(id, name_en, name_zh, unit, direction, section, fn, params)
        return fn
    return wrap


def compute(metric_id: str, cur, *, project_key: str, **params) -> MetricResult:
    """Run one registered metric, passing only the parameters it declares."""
    metric = REGISTRY[metric_id]
    wanted = {k: v for k, v in params.items() if k in metric.params and v is not None}
    return metric.compute(cur, project_key=project_key, **wanted)


# Built-in metric modules register themselves on import.
from metrics import (burndown, delivery, evm, flow, quality, quality_dre, quality_flow, rework,  # noqa: E402,F401
                     rework_effort, rework_requirements)
