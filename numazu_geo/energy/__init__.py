"""Building energy and emissions, hourly balance with batteries, and shelter blackout resilience.

>>> from numazu_geo import energy
>>> ledger = energy.building_energy(buildings, solar=result)        # doctest: +SKIP
>>> energy.ledger_summary(ledger, by="usage")                      # doctest: +SKIP
>>> bal = energy.hourly_balance(pv_kwh, load_kwh, energy.Battery(13.5, 5.0, 0.9))   # doctest: +SKIP
>>> hours = energy.outage_hours(pv_kwh, 1.5, battery=energy.Battery.default())      # doctest: +SKIP
>>> energy.autonomy_report(hours)                                  # doctest: +SKIP

Modules: ``ledger`` (use and CO2 per building from cited intensities), ``balance`` (hour-by-hour
PV, load, battery, grid), ``storage`` (Battery, EV from data sheets), ``resilience`` (outages
starting at every hour, shelters), ``series`` (input checks).
"""

from __future__ import annotations

import importlib

_API = {
    "building_energy": "numazu_geo.energy.ledger",
    "ledger_summary": "numazu_geo.energy.ledger",
    "intensity_table": "numazu_geo.energy.ledger",
    "floor_area_m2": "numazu_geo.energy.ledger",
    "LEDGER_COLUMNS": "numazu_geo.energy.ledger",
    "hourly_balance": "numazu_geo.energy.balance",
    "balance_summary": "numazu_geo.energy.balance",
    "BALANCE_COLUMNS": "numazu_geo.energy.balance",
    "Battery": "numazu_geo.energy.storage",
    "EV": "numazu_geo.energy.storage",
    "storage_specs": "numazu_geo.energy.storage",
    "outage_hours": "numazu_geo.energy.resilience",
    "autonomy_report": "numazu_geo.energy.resilience",
    "battery_size_needed": "numazu_geo.energy.resilience",
    "select_shelters": "numazu_geo.energy.resilience",
    "shelter_table": "numazu_geo.energy.resilience",
    "energy_default": "numazu_geo.energy.resilience",
    "SHELTER_USAGE_CODES": "numazu_geo.energy.resilience",
    "EnergyInputError": "numazu_geo.errors",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'numazu_geo.energy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
