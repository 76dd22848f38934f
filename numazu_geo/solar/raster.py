"""Roof rasters for GIS users: annual irradiation and sky view factor as Cloud-Optimised GeoTIFF.

:func:`write_roof_raster` grids the per-point results of :func:`~numazu_geo.solar.solar_potential`
(``keep_points=True``) at a chosen resolution: each pixel holds the area-weighted mean of the roof
sample points whose centre falls in it, and no-data (NaN) where there is no roof. Bands (float32):
``kwh_m2_year`` (annual plane-of-array irradiation with shading, kWh/m2/yr) and ``sky_view_factor``
(0-1) by default. The file is written with rasterio's ``COG`` driver (tiled, overviews) in the
result's CRS, with band descriptions, units and the run's provenance as GeoTIFF tags, so QGIS
opens it with the right CRS and legend names.

Terrain may also come in as a GeoTIFF DEM: :func:`numazu_geo.citygml.terrain.read_terrain`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from numazu_geo.io import atomic_path

log = logging.getLogger(__name__)

#: Default pixel size (m): the default roof sample spacing.
RESOLUTION_M = 1.0

#: Bands written by default and their units.
BANDS = {"kwh_m2_year": "kWh/m2/yr", "sky_view_factor": "1"}


def roof_grid(points, resolution_m: float = RESOLUTION_M, variables=tuple(BANDS)):
    """``(arrays, transform)``: one (rows, cols) float32 array per variable and the affine
    transform (north-up) of a grid covering ``points`` (GeoDataFrame of roof sample points with
    ``area_m2`` and the variables). Pixels without points are NaN."""
    from affine import Affine

    if points is None or len(points) == 0:
        raise ValueError("write_roof_raster: no roof points (run solar_potential with keep_points=True)")
    res = float(resolution_m)
    if not res > 0:
        raise ValueError(f"write_roof_raster: resolution_m must be > 0, got {resolution_m!r}")
    x = points.geometry.x.to_numpy()
    y = points.geometry.y.to_numpy()
    x0 = np.floor(x.min() / res) * res
    y1 = np.ceil(y.max() / res) * res
    if np.isclose(y1, y.max()):
        y1 += res
    cols = int(np.floor((x.max() - x0) / res)) + 1
    rows = int(np.floor((y1 - y.min()) / res)) + 1
    c = np.clip(np.floor((x - x0) / res).astype(np.int64), 0, cols - 1)
    r = np.clip(np.floor((y1 - y) / res).astype(np.int64), 0, rows - 1)
    cell = r * cols + c
    w = points["area_m2"].to_numpy(dtype=float) if "area_m2" in points else np.ones(len(points))
    out = {}
    for var in variables:
        v = points[var].to_numpy(dtype=float)
        ok = np.isfinite(v)
        num = np.bincount(cell[ok], weights=(w * v)[ok], minlength=rows * cols)
        den = np.bincount(cell[ok], weights=w[ok], minlength=rows * cols)
        with np.errstate(invalid="ignore", divide="ignore"):
            grid = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        out[var] = grid.reshape(rows, cols).astype(np.float32)
    return out, Affine(res, 0.0, x0, 0.0, -res, y1)  # north-up, origin at the top-left corner


def write_roof_raster(result, path: str | os.PathLike, *, resolution_m: float = RESOLUTION_M,
                      variables=tuple(BANDS)) -> Path:
    """Write ``result``'s roof points as a Cloud-Optimised GeoTIFF (one band per variable).

    ``result``: a :class:`~numazu_geo.solar.potential.SolarResult` with points
    (``keep_points=True``), or a GeoDataFrame of points. The CRS is the points' (a projected CRS
    in metres). Tags: ``numazu_geo_provenance`` (JSON), ``resolution_m``, per band ``units``.
    The file appears only when complete (atomic rename).
    """
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy as rio_copy

    points = getattr(result, "points", result)
    if points is None:
        raise ValueError("write_roof_raster: the result has no points; run solar_potential(..., keep_points=True)")
    if points.crs is None or not points.crs.is_projected:
        raise ValueError("write_roof_raster: the points need a projected CRS in metres")
    grids, transform = roof_grid(points, resolution_m, variables)
    rows, cols = next(iter(grids.values())).shape
    prov = {}
    if hasattr(result, "provenance"):
        prov = result.provenance
    elif "provenance" in getattr(points, "attrs", {}):
        prov = points.attrs["provenance"]
    profile = dict(driver="GTiff", width=cols, height=rows, count=len(grids), dtype="float32",
                   crs=rasterio.crs.CRS.from_wkt(points.crs.to_wkt()), transform=transform, nodata=np.nan)  # fmt: skip
    path = Path(path)
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            for i, (name, grid) in enumerate(grids.items(), start=1):
                ds.write(grid, i)
                ds.set_band_description(i, name)
                ds.update_tags(i, units=BANDS.get(name, ""), name=name)
            ds.update_tags(numazu_geo_provenance=json.dumps(prov, ensure_ascii=False, default=str),
                           resolution_m=str(float(resolution_m)), software="numazu-geo")  # fmt: skip
        with atomic_path(path, suffix=".tif") as tmp:
            with mem.open() as src:
                rio_copy(src, tmp, driver="COG", BLOCKSIZE=256, COMPRESS="DEFLATE", OVERVIEWS="AUTO")
    log.info("wrote %s (%d x %d pixels at %.2f m, bands %s)", path, cols, rows, resolution_m, list(grids))
    return path


__all__ = ["BANDS", "RESOLUTION_M", "roof_grid", "write_roof_raster"]
