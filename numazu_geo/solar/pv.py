"""PV capacity and annual yield from roof area and plane-of-array irradiation.

The yield follows the JIS C 8907 form used by MLIT's PLATEAU SolarPotential and the Ministry of the
Environment's REPOS: ``E = P * H * K`` with ``P`` the array capacity (kW), ``H`` the annual
plane-of-array irradiation in kWh/m2 (numerically the peak-sun hours, i.e. kWh/kWp at 1 kW/m2)
and ``K`` the performance ratio. All defaults are listed with sources in ``data/solar_defaults.csv``.
"""

from __future__ import annotations

import numpy as np

#: Panel capacity per m2 of panel area: 0.167 kW/m2 (MLIT PLATEAU SolarPotential UC22-013, 2022;
#: MoE REPOS national study 0.166-0.167 kW/m2).
PV_DENSITY_KW_M2 = 0.167

#: Share of the usable roof area covered by panels: 80 % (MLIT PLATEAU SolarPotential, 2022).
COVERAGE_RATIO = 0.80

#: Performance ratio K of JIS C 8907: 0.88 (as MoE REPOS and PLATEAU SolarPotential use, 2022).
PERFORMANCE_RATIO = 0.88

#: Irradiance at standard test conditions (IEC 61215), kW/m2: converts kWh/m2 into kWh/kWp.
STC_IRRADIANCE_KW_M2 = 1.0


def pv_capacity_kw(usable_area_m2, *, density_kw_m2: float = PV_DENSITY_KW_M2, coverage: float = COVERAGE_RATIO):
    """PV capacity (kW) on ``usable_area_m2``: ``area * coverage * density``. NaN area -> 0."""
    area = np.nan_to_num(np.asarray(usable_area_m2, dtype=float), nan=0.0)
    return np.maximum(area, 0.0) * float(coverage) * float(density_kw_m2)


def specific_yield_kwh_kwp(poa_kwh_m2_year, *, performance_ratio: float = PERFORMANCE_RATIO):
    """Annual energy per kW of capacity (kWh/kWp): ``H / 1 kW/m2 * K``. NaN -> 0."""
    h = np.nan_to_num(np.asarray(poa_kwh_m2_year, dtype=float), nan=0.0)
    return h / STC_IRRADIANCE_KW_M2 * float(performance_ratio)


def pv_yield_kwh(kw, poa_kwh_m2_year, *, performance_ratio: float = PERFORMANCE_RATIO):
    """Annual PV energy (kWh) of ``kw`` capacity under ``poa_kwh_m2_year`` (JIS C 8907 form)."""
    kw = np.nan_to_num(np.asarray(kw, dtype=float), nan=0.0)
    return kw * specific_yield_kwh_kwp(poa_kwh_m2_year, performance_ratio=performance_ratio)
