"""CO2 of rooftop PV results: the avoided-CO2 columns and district summaries.

Solar produces energy (``kwh_year``); this module converts it with the grid factor table
(:mod:`numazu_geo.co2.factors`). ``add_avoided_co2`` gives the ``co2_avoided_kg_year`` column on
a SolarResult's tables (or any table with ``kwh_year``); ``summarise_district`` adds the CO2 totals
to the solar energy totals.
"""

from __future__ import annotations

import csv
import dataclasses
import functools

import numpy as np
import pandas as pd

from numazu_geo.co2.factors import DEFAULT_UTILITY, emission_factor, kwh_to_co2_kg
from numazu_geo.paths import data_path

#: Column that :func:`add_avoided_co2` writes: kg-CO2 a year that the PV output avoids.
AVOIDED_COLUMN = "co2_avoided_kg_year"


@functools.lru_cache(maxsize=1)
def household_co2() -> dict[str, float]:
    """National household CO2 figures (t/household/yr) from ``data/household_co2.csv``
    (MoE 家庭部門のCO2排出実態統計調査, FY2022): ``household_co2_total`` (2.59: electricity, gas,
    kerosene) and ``household_co2_electricity`` (1.74)."""
    with open(data_path("household_co2.csv"), encoding="utf-8") as fh:
        return {row["item"]: float(row["value"]) for row in csv.DictReader(fh)}


def grid_factor(
    factor_kg_per_kwh: float | None = None,
    *,
    utility: str = DEFAULT_UTILITY,
    fiscal_year: int | None = None,
    kind: str = "adjusted",
) -> dict:
    """The grid factor to use and where it comes from: ``{"kg_per_kwh", "label"}``.

    ``factor_kg_per_kwh`` overrides the table (label "user-supplied"); otherwise the row of
    ``data/emission_factors.csv`` for ``utility``/``fiscal_year`` (default: the latest verified
    TEPCO Energy Partner factor), ``kind`` "adjusted" (default) or "basic".
    """
    if factor_kg_per_kwh is not None:
        f = float(factor_kg_per_kwh)
        if not np.isfinite(f) or f < 0:
            raise ValueError(f"emission factor must be a finite non-negative number, got {factor_kg_per_kwh!r}")
        return {"kg_per_kwh": f, "label": "user-supplied"}
    row = emission_factor(utility, fiscal_year)
    value = float(row[f"{kind}_kg_per_kwh"]) if kind in ("adjusted", "basic") else np.nan
    if not np.isfinite(value):
        raise ValueError(f"emission_factors.csv: {row['utility']} FY{row['fiscal_year']} has no {kind!r} factor")
    return {"kg_per_kwh": value, "label": f"{row['utility']} FY{row['fiscal_year']} {kind} ({row['source']})"}


def _with_column(df: pd.DataFrame, factor: dict) -> pd.DataFrame:
    if "kwh_year" not in df.columns:
        raise KeyError(f"add_avoided_co2: the table has no 'kwh_year' column (columns: {list(df.columns)[:12]} ...)")
    out = df.copy()
    out[AVOIDED_COLUMN] = kwh_to_co2_kg(pd.to_numeric(out["kwh_year"], errors="coerce"), factor["kg_per_kwh"])
    out.attrs = dict(df.attrs)
    out.attrs["co2_factor"] = dict(factor)
    return out


def add_avoided_co2(result_or_table, factor_kg_per_kwh: float | None = None, **factor_options):
    """The CO2 that PV output avoids: ``co2_avoided_kg_year = kwh_year * factor``.

    ``result_or_table``: a :class:`~numazu_geo.solar.SolarResult` (its ``buildings`` and ``faces``
    both get the column; a new result is returned, its ``parameters`` gain
    ``emission_factor_kg_per_kwh``) or a DataFrame with ``kwh_year`` (a copy is returned).
    The factor: see :func:`grid_factor` (default the latest verified TEPCO Energy Partner adjusted
    factor); it is recorded in ``attrs["co2_factor"]``. NaN kWh count as 0 kg.
    """
    factor = grid_factor(factor_kg_per_kwh, **factor_options)
    if isinstance(result_or_table, pd.DataFrame):
        return _with_column(result_or_table, factor)
    if dataclasses.is_dataclass(result_or_table) and hasattr(result_or_table, "buildings"):
        changes = {"buildings": _with_column(result_or_table.buildings, factor)}
        if getattr(result_or_table, "faces", None) is not None:
            changes["faces"] = _with_column(result_or_table.faces, factor)
        if isinstance(getattr(result_or_table, "parameters", None), dict):
            changes["parameters"] = {
                **result_or_table.parameters,
                "emission_factor_kg_per_kwh": factor["kg_per_kwh"],
                "emission_factor_label": factor["label"],
            }
        return dataclasses.replace(result_or_table, **changes)
    raise TypeError(f"add_avoided_co2 expects a SolarResult or DataFrame, got {type(result_or_table).__name__}")


def summarise_district(result_or_buildings, factor_kg_per_kwh: float | None = None, **factor_options) -> dict:
    """Totals of a :class:`~numazu_geo.solar.SolarResult` (or its ``.buildings`` table).

    Returns the solar energy totals (:func:`numazu_geo.solar.summary.energy_totals`: ``n_buildings``,
    ``n_viable``, ``share_roofs_viable``, ``roof_area_m2``, ``usable_area_m2``, ``total_kw``,
    ``total_kwh_year``, ``total_mwh_year``, ``specific_yield_kwh_kwp``) plus ``co2_avoided_t_year``,
    ``emission_factor_kg_per_kwh`` (the factor used; for a table carrying its own CO2 column without
    a recorded factor, the one it implies), ``households_co2_equivalent`` (CO2 avoided / 2.59 t, the FY2022
    national average CO2 of a household from electricity, gas and kerosene) and
    ``households_electricity_co2_equivalent`` (/ 1.74 t, electricity only). NaN never enters the
    totals. The CO2 is the table's ``co2_avoided_kg_year`` where it has one (computed by
    :func:`add_avoided_co2`, perhaps with another factor), else ``kwh_year`` x the grid factor.
    """
    from numazu_geo.solar.summary import energy_totals

    df = getattr(result_or_buildings, "buildings", result_or_buildings)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"summarise_district expects a SolarResult or DataFrame, got {type(df).__name__}")
    out = energy_totals(df)
    if AVOIDED_COLUMN in df.columns and factor_kg_per_kwh is None and not factor_options:
        co2_kg = float(np.nansum(pd.to_numeric(df[AVOIDED_COLUMN], errors="coerce").to_numpy(dtype=float)))
        kwh = out["total_kwh_year"]
        factor = df.attrs.get("co2_factor") or {"kg_per_kwh": co2_kg / kwh if kwh > 0 else 0.0}
    else:
        factor = grid_factor(factor_kg_per_kwh, **factor_options)
        co2_kg = out["total_kwh_year"] * factor["kg_per_kwh"]
    hh = household_co2()
    co2_t = co2_kg / 1000.0
    out.update(
        co2_avoided_t_year=co2_t,
        emission_factor_kg_per_kwh=float(factor["kg_per_kwh"]),
        households_co2_equivalent=co2_t / hh["household_co2_total"],
        households_electricity_co2_equivalent=co2_t / hh["household_co2_electricity"],
    )
    return out
