"""PLATEAU CityGML (building models) to GeoDataFrames.

>>> from numazu_geo.citygml import read_buildings           # doctest: +SKIP
>>> gdf = read_buildings("22203_numazu-shi_city_2023_citygml_1_op.zip")   # doctest: +SKIP

Public functions: :func:`read_buildings` (one row per building, 2D footprints and attributes),
:func:`read_roof_surfaces` (3D roof polygons for solar), :func:`read_solids` (triangulated 3D
shells for shading) and :func:`solids_to_triangles`. See ``numazu_geo/citygml/reader.py`` for
how the files are streamed.
"""

from numazu_geo.citygml.api import (
    BUILDINGS_COLUMNS,
    read_buildings,
    read_roof_surfaces,
    read_solids,
    solids_to_triangles,
)

from numazu_geo.citygml.features import read_features  # noqa: E402

__all__ = [
    "read_features", "read_buildings", "read_roof_surfaces", "read_solids", "solids_to_triangles", "BUILDINGS_COLUMNS",
]
