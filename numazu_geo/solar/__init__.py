"""Rooftop solar potential with 3D shading (pvlib sun and sky, Embree ray casting, PV yield).

>>> import numazu_geo as ng
>>> result = ng.solar_potential("udx/bldg/")        # doctest: +SKIP
>>> result.buildings[["building_key", "kwh_year", "shading_loss"]]   # doctest: +SKIP
>>> result.summary()                                 # doctest: +SKIP

Modules: ``sun`` (site, sun positions), ``climate`` (APPROXIMATE Numazu default, EPW/METPV
readers), ``irradiance`` (plane-of-array components), ``roofs`` (faces, sample points), ``sky``
(Tregenza patches), ``shading`` (Embree scene), ``pv`` (capacity, yield), ``potential``
(:func:`solar_potential`).
"""

from __future__ import annotations

import importlib

_API = {
    "solar_potential": "numazu_geo.solar.potential",
    "SolarResult": "numazu_geo.solar.potential",
    "roof_irradiance": "numazu_geo.solar.potential",
    "tile_irradiance": "numazu_geo.solar.potential",
    "hourly_pv": "numazu_geo.solar.hourly",
    "Climate": "numazu_geo.solar.climate",
    "default_climate": "numazu_geo.solar.climate",
    "read_epw": "numazu_geo.solar.climate",
    "read_metpv": "numazu_geo.solar.climate",
    "load_climate": "numazu_geo.solar.climate",
    "Site": "numazu_geo.solar.sun",
    "default_site": "numazu_geo.solar.sun",
    "poa_components": "numazu_geo.solar.irradiance",
    "pv_capacity_kw": "numazu_geo.solar.pv",
    "pv_yield_kwh": "numazu_geo.solar.pv",
    "roof_faces": "numazu_geo.solar.roofs",
    "sample_points": "numazu_geo.solar.roofs",
    "ShadingScene": "numazu_geo.solar.shading",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'numazu_geo.solar' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
