"""District summaries of rooftop PV potential and the CO2 it avoids."""

from __future__ import annotations

import csv
import functools

import numpy as np
import pandas as pd

from numazu_geo.paths import data_path


@functools.lru_cache(maxsize=1)
def household_co2() -> dict[str, float]:
    """National household CO2 figures (t/household/yr) from ``data/household_co2.csv``
    (MoE 家庭部門のCO2排出実態統計調査, FY2022): ``household_co2_total`` (2.59: electricity, gas,
    kerosene) and ``household_co2_electricity`` (1.74)."""
    with open(data_path("household_co2.csv"), encoding="utf-8") as fh:
        return {row["item"]: float(row["value"]) for row in csv.DictReader(fh)}


def _column(df, name):
    if name not in df.columns:
        return np.zeros(len(df))
    return np.nan_to_num(pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float), nan=0.0)


def summarise_district(result_or_buildings) -> dict:
    """Totals of a :class:`~numazu_geo.solar.SolarResult` (or its ``.buildings`` table).

    Returns a dict: ``n_buildings``, ``n_viable`` (buildings with PV capacity > 0),
    ``share_roofs_viable``, ``roof_area_m2`` (all roof faces), ``usable_area_m2`` (faces passing the
    area/tilt rules), ``viable_area_m2`` (faces also passing the irradiation threshold),
    ``n_buildings_with_viable_face``, ``total_kw``,
    ``total_kwh_year``, ``total_mwh_year``, ``specific_yield_kwh_kwp``, ``co2_avoided_t_year``,
    ``households_co2_equivalent`` (CO2 avoided / 2.59 t, the FY2022 national average CO2 of a
    household from electricity, gas and kerosene) and ``households_electricity_co2_equivalent``
    (/ 1.74 t, electricity only). NaN never enters the totals.
    """
    df = getattr(result_or_buildings, "buildings", result_or_buildings)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"summarise_district expects a SolarResult or DataFrame, got {type(df).__name__}")
    kw = _column(df, "kw")
    kwh = _column(df, "kwh_year")
    co2 = _column(df, "co2_avoided_kg_year")
    n = int(len(df))
    viable = int((kw > 0).sum())
    hh = household_co2()
    co2_t = float(co2.sum() / 1000.0)
    total_kw = float(kw.sum())
    return {
        "n_buildings": n,
        "n_viable": viable,
        "share_roofs_viable": viable / n if n else 0.0,
        "roof_area_m2": float(_column(df, "roof_area_m2").sum()),
        "usable_area_m2": float(_column(df, "usable_area_m2").sum()),
        "viable_area_m2": float(_column(df, "viable_area_m2" if "viable_area_m2" in df else "usable_area_m2").sum()),
        "n_buildings_with_viable_face": int((_column(df, "n_viable_faces") > 0).sum()) if "n_viable_faces" in df else viable,
        "total_kw": total_kw,
        "total_kwh_year": float(kwh.sum()),
        "total_mwh_year": float(kwh.sum() / 1000.0),
        "specific_yield_kwh_kwp": float(kwh.sum() / total_kw) if total_kw > 0 else 0.0,
        "co2_avoided_t_year": co2_t,
        "households_co2_equivalent": co2_t / hh["household_co2_total"],
        "households_electricity_co2_equivalent": co2_t / hh["household_co2_electricity"],
    }
