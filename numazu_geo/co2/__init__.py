"""CO2: grid emission factors by utility and fiscal year, kWh -> kg-CO2, district summaries.

Solar produces energy; this package converts it: ``add_avoided_co2(result)`` adds
``co2_avoided_kg_year`` to a SolarResult's tables, ``summarise_district(result)`` the totals.

>>> from numazu_geo.co2 import kwh_to_co2_kg, emission_factor
>>> round(kwh_to_co2_kg(1000.0), 1)   # TEPCO Energy Partner FY2024, adjusted  # doctest: +SKIP
421.0
"""

from numazu_geo.co2.buildings import add_avoided_co2, grid_factor, household_co2, summarise_district
from numazu_geo.co2.factors import (
    DEFAULT_UTILITY,
    emission_factor,
    emission_factors,
    factor_kg_per_kwh,
    kwh_to_co2_kg,
    load_table,
    transport_factor,
    transport_factors,
    transport_g_per_pkm,
)

__all__ = [
    "DEFAULT_UTILITY",
    "add_avoided_co2",
    "grid_factor",
    "emission_factor",
    "emission_factors",
    "factor_kg_per_kwh",
    "household_co2",
    "kwh_to_co2_kg",
    "load_table",
    "summarise_district",
    "transport_factor",
    "transport_factors",
    "transport_g_per_pkm",
]
