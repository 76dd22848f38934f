"""District energy totals of a rooftop PV result (energy only: CO2 is :mod:`numazu_geo.co2`'s job)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df))
    return np.nan_to_num(pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float), nan=0.0)


def energy_totals(result_or_buildings) -> dict:
    """Energy totals of a :class:`~numazu_geo.solar.SolarResult` (or its ``.buildings`` table).

    Returns ``n_buildings``, ``n_viable`` (buildings with PV capacity > 0), ``share_roofs_viable``,
    ``roof_area_m2`` (all roof faces), ``usable_area_m2`` (faces passing the area/tilt rules),
    ``viable_area_m2`` (faces also passing the irradiation threshold; tables without it: the usable
    area), ``n_buildings_with_viable_face``, ``total_kw``, ``total_kwh_year``, ``total_mwh_year`` and
    ``specific_yield_kwh_kwp``. NaN never enters the totals.
    """
    df = getattr(result_or_buildings, "buildings", result_or_buildings)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a SolarResult or DataFrame, got {type(df).__name__}")
    kw = _column(df, "kw")
    kwh = _column(df, "kwh_year")
    n = int(len(df))
    viable = int((kw > 0).sum())
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
    }
