"""CO2: grid emission factors by utility and fiscal year, kWh -> kg-CO2, district summaries.

>>> from numazu_geo.co2 import kwh_to_co2_kg, emission_factor
>>> round(kwh_to_co2_kg(1000.0), 1)   # TEPCO Energy Partner FY2024, adjusted  # doctest: +SKIP
421.0
"""

from numazu_geo.co2.buildings import household_co2, summarise_district
from numazu_geo.co2.factors import (
    DEFAULT_UTILITY,
    emission_factor,
    emission_factors,
    factor_kg_per_kwh,
    kwh_to_co2_kg,
    transport_factor,
    transport_factors,
    transport_g_per_pkm,
)

__all__ = [
    "DEFAULT_UTILITY",
    "emission_factor",
    "emission_factors",
    "factor_kg_per_kwh",
    "household_co2",
    "kwh_to_co2_kg",
    "summarise_district",
    "transport_factor",
    "transport_factors",
    "transport_g_per_pkm",
]
