"""CO2 credits for walking and cycling, by the SPOBY rule or your own, per leg, person, day and week.

The SPOBY pilot (Numazu) credits a walking or cycling trip of **750 m or more** with the CO2 the
same distance would cost by car (or public transport); **1 g CO2 = 1 point** (SPOBY's public
description; see ``../shared/reference/co2_and_climate.md``). By default here: walk and bicycle
legs of at least :data:`SPOBY_MIN_DISTANCE_M` earn ``distance_km x`` the private-car factor of
``data/transport_emission_factors.csv`` (latest fiscal year; a third-party transcription of
MLIT's chart, status S, stated in ``attrs["credit_rule"]``). Everything is configurable:
threshold, credited modes, baseline mode, fiscal year, or your own factor table.
"""

from __future__ import annotations

from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from numazu_geo.co2.factors import transport_factor

#: SPOBY: walking or cycling trips of 750 m or more earn credits (SPOBY's public description, P).
SPOBY_MIN_DISTANCE_M = 750.0
#: Modes that earn credits under the SPOBY rule.
SPOBY_CREDITED_MODES = ("walk", "bicycle")
#: SPOBY credits the CO2 a car would have emitted over the same distance.
SPOBY_BASELINE_MODE = "car"
#: SPOBY: 1 g CO2 = 1 point.
SPOBY_POINTS_PER_G = 1.0


def credit_rule(*, min_distance_m: float = SPOBY_MIN_DISTANCE_M, credited_modes=SPOBY_CREDITED_MODES,
                baseline: str = SPOBY_BASELINE_MODE, fiscal_year: int | None = None,
                factors: Mapping[str, float] | None = None) -> dict:
    """The rule as a dict (baseline factor looked up once; recorded in ``attrs["credit_rule"]``)."""
    if factors is not None:
        if baseline not in factors:
            raise KeyError(f"factors has no baseline mode {baseline!r} (modes: {sorted(factors)})")
        g_per_km = float(factors[baseline])
        source, status, year = "user factor table", "user", fiscal_year
    else:
        row = transport_factor(baseline, fiscal_year)
        g_per_km = float(row["g_co2_per_passenger_km"])
        source, status = str(row["source"]), str(row["status"])
        year = None if pd.isna(row["fiscal_year"]) else int(row["fiscal_year"])
    if not np.isfinite(g_per_km) or g_per_km < 0:
        raise ValueError(f"baseline factor for {baseline!r} must be a finite non-negative number, got {g_per_km!r}")
    return {
        "min_distance_m": float(min_distance_m),
        "credited_modes": list(credited_modes),
        "baseline": baseline,
        "baseline_g_co2_per_km": g_per_km,
        "fiscal_year": year,
        "factor_source": source,
        "factor_status": status,
        "points_per_g": SPOBY_POINTS_PER_G,
    }


def add_credits(legs: pd.DataFrame, rule: dict | None = None, **rule_kwargs) -> pd.DataFrame:
    """``legs`` with ``co2_credit_g`` (and ``points``): credited legs earn distance x baseline factor.

    ``rule`` from :func:`credit_rule`, or its keyword arguments here (``min_distance_m``,
    ``credited_modes``, ``baseline``, ``fiscal_year``, ``factors``).
    """
    rule = rule or credit_rule(**rule_kwargs)
    out = legs.copy()
    dist = pd.to_numeric(out["distance_m"], errors="coerce").fillna(0.0).to_numpy(float)
    earns = out["mode"].isin(rule["credited_modes"]).to_numpy() & (dist >= rule["min_distance_m"])
    out["co2_credit_g"] = np.where(earns, dist / 1000.0 * rule["baseline_g_co2_per_km"], 0.0)
    out["points"] = np.floor(out["co2_credit_g"] * rule["points_per_g"]).astype(int)
    out.attrs = {**legs.attrs, "credit_rule": rule}
    return out


def credits_by(legs: pd.DataFrame, by="track") -> pd.DataFrame:
    """Credits summed by ``by``: ``"track"`` (person), ``"day"``, ``"week"``, or a list such as ``["track", "day"]``.

    Columns: ``trips``, ``legs``, ``credited_legs``, ``walk_km``, ``bicycle_km``, ``car_km``,
    ``co2_credit_g``, ``points``. Days and weeks are local (the times' zone, JST by default);
    a week is labelled by its Monday.
    """
    keys = [by] if isinstance(by, str) else list(by)
    df = pd.DataFrame(legs.drop(columns=legs.geometry.name) if isinstance(legs, gpd.GeoDataFrame) else legs).copy()
    start = pd.to_datetime(df["start"])
    if "day" in keys:
        df["day"] = start.dt.date
    if "week" in keys:
        df["week"] = (start.dt.tz_localize(None).dt.normalize()
                      - pd.to_timedelta(start.dt.day_of_week, unit="D")).dt.date
    for mode in ("walk", "bicycle", "car", "bus", "train"):
        df[f"{mode}_km"] = np.where(df["mode"] == mode, df["distance_m"] / 1000.0, 0.0)
    df["credited"] = df["co2_credit_g"] > 0
    grouped = df.groupby(keys, sort=True)
    out = grouped.agg(trips=("trip", "nunique"), legs=("mode", "size"), credited_legs=("credited", "sum"),
                      walk_km=("walk_km", "sum"), bicycle_km=("bicycle_km", "sum"), car_km=("car_km", "sum"),
                      bus_km=("bus_km", "sum"), train_km=("train_km", "sum"),
                      co2_credit_g=("co2_credit_g", "sum"), points=("points", "sum"))
    out.attrs = {k: v for k, v in legs.attrs.items() if k == "credit_rule"}
    return out.reset_index()


def summary_table(legs: pd.DataFrame, by="track") -> pd.DataFrame:
    """:func:`credits_by` plus a ``total`` row: the table for a class or a week."""
    table = credits_by(legs, by)
    keys = [by] if isinstance(by, str) else list(by)
    total = table.drop(columns=keys).sum(numeric_only=True).to_frame().T
    total["trips"] = legs["trip"].nunique() if len(legs) else 0
    for k in keys:
        total[k] = "total"
    out = pd.concat([table.astype({k: object for k in keys}), total[table.columns]], ignore_index=True)
    counts = ["trips", "legs", "credited_legs", "points"]
    out[counts] = out[counts].astype("int64")
    out.attrs = table.attrs
    return out
