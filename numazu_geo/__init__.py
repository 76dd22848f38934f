"""numazu-geo: 3D environmental analytics for PLATEAU cities.

The public API is small and imported lazily, so ``import numazu_geo`` stays fast and a user who
only reads CityGML never loads PyTorch:

>>> import numazu_geo as ng
>>> buildings = ng.read_buildings("udx/bldg/")          # doctest: +SKIP
>>> result = ng.solar_potential(buildings)               # doctest: +SKIP
>>> ng.green_view_index("street.jpg").gvi                # doctest: +SKIP
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "read_buildings": "numazu_geo.citygml",
    "read_roof_surfaces": "numazu_geo.citygml",
    "read_solids": "numazu_geo.citygml",
    "read_features": "numazu_geo.citygml",
    "to_parquet": "numazu_geo.io",
    "read_parquet": "numazu_geo.io",
    "solar_potential": "numazu_geo.solar",
    "green_view_index": "numazu_geo.greenview",
    "green_view_survey": "numazu_geo.greenview",
    "make_district": "numazu_geo.sample",
    "run_city": "numazu_geo.pipeline",
    "read_tracks": "numazu_geo.mobility",
    "detect_trips": "numazu_geo.mobility",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'numazu_geo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
