"""Public readers: PLATEAU CityGML to GeoDataFrames (buildings, roof surfaces, 3D shells)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely import GeometryType

from numazu_geo.citygml import crs as crs_mod
from numazu_geo.citygml import validate
from numazu_geo.citygml.codelists import CodeLists, english_labels
from numazu_geo.citygml.geometry import triangulate_polygon_3d, triangulate_rings
from numazu_geo.citygml.columns import BUILDING_COLUMNS as _SPEC
from numazu_geo.citygml.columns import BY_NAME, OUTPUT_COLUMNS, ROW_INDEX
from numazu_geo.citygml.reader import (
    FileResult,
    ReadOptions,
    read_files,
)
from numazu_geo.citygml.sources import (
    check_bbox,
    filter_sources,
    mesh_bounds,
    resolve_sources,
    _normalise_mesh,
)

log = logging.getLogger(__name__)

#: the columns of :func:`read_buildings`, in order (before ``geometry``): from the one
#: specification in :mod:`numazu_geo.citygml.columns`
BUILDINGS_COLUMNS = list(OUTPUT_COLUMNS)

_STRING = "string"
_INT = "Int64"


# --------------------------------------------------------------------------------------------
# shared plumbing


def _prepare(source, mesh, bbox, crs=None):
    validate.check_target_crs(crs_mod.resolve_crs(crs))  # a geocentric target fails before any reading
    sources = resolve_sources(source)
    wanted = _normalise_mesh(mesh)
    bbox = check_bbox(bbox) if bbox is not None else None
    kept = filter_sources(sources, mesh=wanted, bbox=bbox)
    if not kept:
        log.warning("no CityGML file matches mesh=%s bbox=%s (of %d files)", mesh, bbox, len(sources))
    return kept, wanted, bbox


def _row_mask(rep: np.ndarray, results: list[FileResult], wanted, bbox) -> np.ndarray:
    """Rows to keep after parsing: inside ``bbox``; for files without a mesh code, inside ``mesh``."""
    n = len(rep)
    keep = np.ones(n, dtype=bool)
    lon, lat = rep[:, 0], rep[:, 1]
    if bbox is not None:
        w, s, e, nn = bbox
        keep &= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= nn)
    if wanted is not None:
        from numazu_geo.citygml.sources import mesh_code_from_name, source_name

        no_code = np.concatenate(
            [np.full(len(r.rows), mesh_code_from_name(source_name(r.label)) is None) for r in results]
        ) if results else np.zeros(0, dtype=bool)  # fmt: skip
        if no_code.any():
            inside = np.zeros(n, dtype=bool)
            for code in wanted:
                w, s, e, nn = mesh_bounds(code)
                inside |= (lon >= w) & (lon < e) & (lat >= s) & (lat < nn)
            keep &= ~no_code | inside
    return keep


def _concat_geometry(results: list[FileResult]):
    """All files' coordinates as (n, 3) lon, lat, h, the ragged offsets, and a point per row."""
    parts = [res.coords for res in results if res.coords is not None and len(res.coords)]
    latlon = np.concatenate(parts) if parts else np.empty((0, 3))
    coords = latlon[:, [1, 0, 2]]
    ring_sizes = np.concatenate([r.ring_sizes for r in results if r.ring_sizes is not None] or [np.empty(0, np.int64)])
    ring_counts = np.fromiter((c for res in results for c in res.ring_counts), dtype=np.int64)
    poly_counts = np.fromiter((c for res in results for c in res.poly_counts), dtype=np.int64)
    ring_off = np.concatenate([[0], np.cumsum(ring_sizes)]).astype(np.int64)
    poly_off = np.concatenate([[0], np.cumsum(ring_counts)]).astype(np.int64)
    geom_off = np.concatenate([[0], np.cumsum(poly_counts)]).astype(np.int64)
    # representative point of each row: the mean of its first ring (closing vertex excluded)
    rep = np.full((len(poly_counts), 2), np.nan)
    has = poly_counts > 0
    if has.any():
        first_ring = poly_off[geom_off[:-1][has]]
        a, b = ring_off[first_ring], ring_off[first_ring + 1] - 1
        csum = np.concatenate([np.zeros((1, 2)), np.cumsum(coords[:, :2], axis=0)])
        rep[has] = (csum[b] - csum[a]) / np.maximum(b - a, 1)[:, None]
    return coords, (ring_off, poly_off, geom_off), rep


def _target_crs(crs, results, rep, city_codes) -> pyproj.CRS:
    target = crs_mod.resolve_crs(crs)
    if target is not None:
        return target
    hints = [crs_mod.city_hint_from_path(r.label) for r in results]
    finite = np.isfinite(rep).all(axis=1)
    if not finite.any():
        # nothing located: any zone will do for an empty frame; say which
        log.warning("crs='auto' with no located buildings: using EPSG:6676 (zone VIII, Shizuoka)")
        return pyproj.CRS.from_epsg(6676)
    return crs_mod.auto_crs(city_codes, rep[:, 1], rep[:, 0], hints=hints)


def _transform(coords: np.ndarray, target: pyproj.CRS) -> np.ndarray:
    if len(coords) == 0:
        return coords.astype(np.float64)
    x, y = crs_mod.transform_lonlat(coords[:, 0], coords[:, 1], target)
    if coords.shape[1] == 3:
        return np.column_stack([x, y, coords[:, 2]])
    return np.column_stack([x, y])


def _source_column(results: list[FileResult]) -> list[str]:
    return [res.label for res in results for _ in range(len(res.rows))]


def _projected(results: list[FileResult], crs, city_codes, failures=None, errors="raise"):
    """(coordinates in the target CRS, ring/polygon/geometry offsets, representative lon/lat per
    row, target CRS, rows inside Japan) of every file's geometry, concatenated."""
    coords, offsets, rep = _concat_geometry(results)
    inside = validate.check_extent(rep, results, failures if failures is not None else [], errors)  # before projecting
    target = _target_crs(crs, results, np.where(inside[:, None], rep, np.nan), city_codes)
    return _transform(coords, target), offsets, rep, target, inside


def _finish(gdf, rep, results, failures, wanted, bbox, target, kind="buildings", inside=None):
    """Drop rows outside ``bbox``/``mesh`` (checked per row after parsing) or outside Japan, set the
    read attrs, and apply the table checks (:func:`validate.finish`: duplicates, sentinels)."""
    keep = _row_mask(rep, results, wanted, bbox)
    if inside is not None:
        keep &= inside
    if not keep.all():
        gdf = gdf.loc[keep].reset_index(drop=True)
    return validate.finish(_attrs(gdf, results, failures, target), kind)


def _attrs(gdf, results, failures, target):
    gdf.attrs["errors"] = failures
    gdf.attrs["spec_versions"] = sorted({r.version for r in results if r.version})
    gdf.attrs["source_files"] = len(results) - len(failures)
    gdf.attrs["crs_auto_epsg"] = target.to_epsg()
    return gdf


# --------------------------------------------------------------------------------------------
# buildings


def _label_columns(results: list[FileResult], rows: list[tuple], codelists) -> dict[str, list]:
    """Code-list labels (the spec's ``kind="label"`` columns) through each dataset's code lists."""
    extra = [str(codelists)] if codelists is not None else []
    pairs = []
    for col in _SPEC:
        if col.kind == "label":
            code = BY_NAME[col.label_of]
            pairs.append((col.name, ROW_INDEX[code.name], ROW_INDEX[code.code_space], col.codelist))
    out: dict[str, list] = {name: [] for name, *_ in pairs}
    start = 0
    for res in results:
        lists = CodeLists(extra + list(res.codelist_dirs))
        cache: dict = {}
        end = start + len(res.rows)
        for row in rows[start:end]:
            for name, code_i, cs_i, default_cs in pairs:
                code = row[code_i]
                if code is None:
                    out[name].append(None)
                    continue
                cs = row[cs_i] or default_cs
                key = (name, cs, code)
                if key not in cache:
                    cache[key] = lists.label(cs, code)
                out[name].append(cache[key])
        start = end
    return out


def _footprints(coords, offsets, n_rows, union_rows, issues):
    geoms = shapely.from_ragged_array(GeometryType.MULTIPOLYGON, coords, offsets)
    if len(geoms) != n_rows:  # pragma: no cover - internal consistency
        raise RuntimeError(f"built {len(geoms)} footprints for {n_rows} rows")
    n_parts = shapely.get_num_geometries(geoms)
    for i in np.flatnonzero(union_rows & (n_parts > 1)):
        geoms[i] = shapely.union_all(shapely.get_parts(shapely.make_valid(geoms[i])))
    invalid = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_empty(geoms))
    for i in invalid:
        reason = shapely.is_valid_reason(geoms[i])
        fixed = shapely.make_valid(geoms[i])
        parts = shapely.get_parts(fixed)
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        geoms[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
        issues[i] = issues[i] or f"invalid footprint repaired ({reason})"
    # single-part MultiPolygons -> Polygon; empty -> empty Polygon
    n_parts = shapely.get_num_geometries(geoms)
    single = (n_parts == 1) & (shapely.get_type_id(geoms) == 6)
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    empty = shapely.is_empty(geoms)
    degenerate = ~empty & (shapely.area(geoms) <= 0)
    for i in np.flatnonzero(degenerate):
        issues[i] = issues[i] or "degenerate footprint (zero area)"
    geoms[empty | degenerate] = shapely.Polygon()
    for i in np.flatnonzero(empty):
        issues[i] = issues[i] or "footprint polygons could not be read"
    return geoms


def read_buildings(
    source,
    *,
    crs="auto",
    lod: int | None = None,
    bbox=None,
    mesh=None,
    errors: str = "raise",
    progress: bool = True,
    parts: bool = False,
    codelists=None,
    processes: int | None = None,
) -> gpd.GeoDataFrame:
    """Read PLATEAU building CityGML into a GeoDataFrame, one row per ``bldg:Building``.

    Parameters
    ----------
    source : str, path, or list of these
        A ``.gml`` file, a dataset folder (``udx/bldg/*.gml`` or ``*.gml`` inside), a PLATEAU zip
        (read in place), or a list of these.
    crs : "auto" or anything pyproj accepts
        ``"auto"`` (default) gives the JGD2011 Japan Plane Rectangular zone holding most buildings
        (Numazu and all of Shizuoka: zone VIII, EPSG:6676). Heights stay metres above Tokyo Bay
        mean sea level.
    lod : None or 0, 1, 2
        Which geometry gives the footprint. None: LOD0 footprint / roof edge, else the base of the
        LOD1 solid, else LOD2 ground surfaces (or the base of the LOD2 solid, or the roofs'
        outline). An integer uses only that LOD; rows without it keep an empty geometry.
    bbox : (west_lon, south_lat, east_lon, north_lat), degrees
        Files whose grid square misses the box are not opened; buildings whose footprint centre
        lies outside are dropped.
    mesh : str, int or list
        Grid square codes (JIS X 0410; 3rd order = 8 digits). Files named with another square are
        not opened; for files without a code in their name, buildings are kept by location.
    errors : "raise" or "skip"
        On a broken file: raise :class:`~numazu_geo.errors.CityGMLError` (naming file and line),
        or skip it and record ``{"file", "error"}`` in ``gdf.attrs["errors"]``.
    progress : bool
        Show a tqdm progress bar (bytes read).
    parts : bool
        Also return one row per ``bldg:BuildingPart``, with ``parent_id`` = the building's gml_id
        (the building rows keep the merged values).
    codelists : path, optional
        A ``codelists`` folder to consult before the dataset's own and the built-in tables.
    processes : int, optional
        Worker processes. Default: several only when there are several large files.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``gml_id, building_id, city_code, name, usage_code, usage, usage_en,
        measured_height_m, storeys_above_ground, storeys_below_ground, year_of_construction,
        total_floor_area_m2, structure, flood_depth_m, flood_rank, tsunami_depth_m, landslide, lod,
        ground_z_m, roof_z_m, source_file, geometry_issue, structure_code, flood_rank_code,
        footprint_from`` and ``geometry`` (2D footprint Polygon/MultiPolygon). NA where absent;
        PLATEAU's "unknown" sentinels (height -9999, storeys 9999) become NA. BuildingParts are
        merged into their building: footprints unioned, heights and storeys the maximum, floor
        area the sum, flood/tsunami depth the deepest, other attributes the building's own or the
        first part's. ``flood_depth_m`` is the deepest over all river-flood scenarios and
        ``flood_rank`` that scenario's rank label (its code in ``flood_rank_code``).
        ``attrs``: ``errors``, ``spec_versions``, ``source_files``.

    References
    ----------
    MLIT, 3D都市モデル標準製品仕様書 (PLATEAU product specification) editions 1.0-5.0, 2020-2025.
    """
    if lod not in (None, 0, 1, 2):
        raise ValueError(f"lod must be None, 0, 1 or 2, got {lod!r}")
    sources, wanted, bbox = _prepare(source, mesh, bbox, crs)
    opts = ReadOptions(mode="buildings", lod=lod, parts=parts)
    results, failures = read_files(sources, opts, errors=errors, progress=progress, processes=processes)
    return _assemble_buildings(
        results, failures, crs=crs, wanted=wanted, bbox=bbox, parts=parts, codelists=codelists, errors=errors
    )


def _assemble_buildings(results, failures, *, crs, wanted, bbox, parts, codelists, errors="raise") -> gpd.GeoDataFrame:
    rows = [row for res in results for row in res.rows]
    cols = list(zip(*rows)) if rows else [[] for _ in ROW_INDEX]
    coords, offsets, rep = _concat_geometry(results)
    coords = coords[:, :2]
    inside = validate.check_extent(rep, results, failures, errors)  # raw EPSG:6697 degrees, before projecting
    target = _target_crs(crs, results, np.where(inside[:, None], rep, np.nan), cols[ROW_INDEX["city_code"]])
    coords = _transform(coords, target)
    issues = list(cols[ROW_INDEX["geometry_issue"]])
    sources_ = cols[ROW_INDEX["footprint_from"]]
    union_rows = np.array([s is not None and s != "lod0" for s in sources_], dtype=bool)
    geoms = _footprints(coords, offsets, len(rows), union_rows, issues)
    labels = _label_columns(results, rows, codelists)
    data = {}
    for col in _SPEC:
        if col.parts_only and not parts:
            continue
        if col.kind == "label":
            values = labels[col.name]
        elif col.kind == "label_en":
            table = english_labels(col.codelist)
            values = [table.get(c) if c else None for c in cols[ROW_INDEX[col.label_of]]]
        elif col.kind == "source":
            values = _source_column(results)
        elif col.name == "geometry_issue":
            values = issues  # with the footprint repairs
        else:
            values = cols[ROW_INDEX[col.name]]
        data[col.name] = _column(values, col.dtype)
    gdf = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=target), crs=target)
    return _finish(gdf, rep, results, failures, wanted, bbox, target, "buildings", inside)


def _column(values, dtype: str):
    if dtype == "float64":
        return np.asarray(values, dtype=np.float64)
    return pd.array(values, dtype=dtype)


# --------------------------------------------------------------------------------------------
# roof surfaces and solids


def read_roof_surfaces(
    source, *, crs="auto", bbox=None, mesh=None, errors: str = "raise", progress: bool = True, processes=None
) -> gpd.GeoDataFrame:
    """One row per roof polygon, as 3D ``Polygon Z`` (x east, y north, z metres above Tokyo Bay MSL).

    LOD2 ``bldg:RoofSurface`` polygons (of the building and its parts; ``roof_source="lod2"``;
    for a LOD2 solid without semantic surfaces, its upward-facing polygons). Buildings with only
    LOD1 give the top polygon(s) of their solid (``roof_source="lod1"``, flat). Columns:
    ``gml_id`` (of the building), ``building_id``, ``surface_id`` (the polygon's gml:id, else its
    RoofSurface's), ``roof_source``, ``geometry``. CRS rules as :func:`read_buildings`.
    """
    sources, wanted, bbox = _prepare(source, mesh, bbox, crs)
    results, failures = read_files(
        sources, ReadOptions(mode="roofs"), errors=errors, progress=progress, processes=processes, desc="roofs"
    )
    rows = [row for res in results for row in res.rows]
    cols = list(zip(*rows)) if rows else [[], [], [], []]
    city = [c for res in results for c in res.city_codes]
    coords, offsets, rep, target, inside = _projected(results, crs, city, failures, errors)
    geoms = shapely.from_ragged_array(GeometryType.POLYGON, coords, offsets[:2])
    gdf = gpd.GeoDataFrame(
        {
            "gml_id": pd.array(cols[0], dtype=_STRING),
            "building_id": pd.array(cols[1], dtype=_STRING),
            "surface_id": pd.array(cols[2], dtype=_STRING),
            "roof_source": pd.array(cols[3], dtype=_STRING),
            "source_file": pd.array(_source_column(results), dtype=_STRING),
        },
        geometry=gpd.GeoSeries(geoms, crs=target),
        crs=target,
    )
    return _finish(gdf, rep, results, failures, wanted, bbox, target, "roofs", inside)


def read_solids(
    source, *, crs="auto", bbox=None, mesh=None, errors: str = "raise", progress: bool = True, processes=None
) -> gpd.GeoDataFrame:
    """One row per building: its 3D shell as a ``MultiPolygon Z`` of triangles.

    The shell is the LOD2 boundary surfaces (roof, wall, ground, ...) where present, else the
    LOD2 solid, else the LOD1 solid, of the building and its parts. Each polygon is triangulated
    on its best-fit plane (:func:`~numazu_geo.citygml.geometry.triangulate_polygon_3d`) after
    projection. Columns: ``gml_id``, ``building_id``, ``lod`` (2 or 1), ``ground_z_m``,
    ``roof_z_m``, ``source_file``, ``geometry``. CRS rules as :func:`read_buildings`.
    """
    sources, wanted, bbox = _prepare(source, mesh, bbox, crs)
    results, failures = read_files(
        sources, ReadOptions(mode="solids"), errors=errors, progress=progress, processes=processes, desc="solids"
    )
    rows = [row for res in results for row in res.rows]
    cols = list(zip(*rows)) if rows else [[], [], [], [], []]
    city = [c for res in results for c in res.city_codes]
    coords, (ring_off, poly_off, geom_off), rep, target, inside = _projected(results, crs, city, failures, errors)
    tris, owner = triangulate_rings(coords, ring_off, poly_off)
    building_of_poly = np.repeat(np.arange(len(rows)), np.diff(geom_off))
    tri_counts = np.bincount(building_of_poly[owner], minlength=len(rows)) if len(owner) else np.zeros(len(rows), np.int64)
    tri_list = [tris]
    geoms = _triangles_to_multipolygons(tri_list, tri_counts)
    gdf = gpd.GeoDataFrame(
        {
            "gml_id": pd.array(cols[0], dtype=_STRING),
            "building_id": pd.array(cols[1], dtype=_STRING),
            "lod": pd.array(cols[2], dtype=_INT),
            "ground_z_m": np.asarray(cols[3], dtype=np.float64),
            "roof_z_m": np.asarray(cols[4], dtype=np.float64),
            "source_file": pd.array(_source_column(results), dtype=_STRING),
        },
        geometry=gpd.GeoSeries(geoms, crs=target),
        crs=target,
    )
    return _finish(gdf, rep, results, failures, wanted, bbox, target, "solids", inside)


def _triangles_to_multipolygons(tri_list, tri_counts):
    tris = np.concatenate(tri_list) if tri_list else np.empty((0, 3, 3))
    closed = np.concatenate([tris, tris[:, :1]], axis=1).reshape(-1, 3)
    n = len(tris)
    offsets = (
        np.arange(0, 4 * n + 1, 4, dtype=np.int64),
        np.arange(0, n + 1, dtype=np.int64),
        np.concatenate([[0], np.cumsum(tri_counts)]).astype(np.int64),
    )
    return shapely.from_ragged_array(GeometryType.MULTIPOLYGON, closed, offsets)


def solids_to_triangles(solids_gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of a :func:`read_solids` frame for ray casting.

    Returns ``(triangles, row_index)``: ``(M, 3, 3)`` float64 vertices in the frame's CRS (z =
    height in metres) and the positional row each triangle belongs to. Polygons that are not
    triangles (e.g. from another source) are triangulated on their plane.
    """
    geoms = np.asarray(solids_gdf.geometry.values)
    if len(geoms) == 0:
        return np.empty((0, 3, 3)), np.empty(0, dtype=np.int64)
    if not shapely.has_z(geoms[~shapely.is_empty(geoms)]).all():
        raise ValueError("solids_to_triangles needs 3D (Polygon Z / MultiPolygon Z) geometries")
    parts, index = shapely.get_parts(geoms, return_index=True)
    n_coords = shapely.get_num_coordinates(parts)
    n_interior = shapely.get_num_interior_rings(parts)
    simple = (n_coords == 4) & (n_interior == 0)
    if simple.all():
        coords = shapely.get_coordinates(parts, include_z=True).reshape(-1, 4, 3)[:, :3]
        return np.ascontiguousarray(coords, dtype=np.float64), index.astype(np.int64)
    out, rows = [], []
    for part, row in zip(parts, index):
        ext = shapely.get_coordinates(shapely.get_exterior_ring(part), include_z=True)
        holes = [
            shapely.get_coordinates(shapely.get_interior_ring(part, k), include_z=True)
            for k in range(shapely.get_num_interior_rings(part))
        ]
        tris = triangulate_polygon_3d(ext, holes)
        out.append(tris)
        rows.append(np.full(len(tris), row, dtype=np.int64))
    if not out:
        return np.empty((0, 3, 3)), np.empty(0, dtype=np.int64)
    return np.concatenate(out), np.concatenate(rows)


__all__ = ["read_buildings", "read_roof_surfaces", "read_solids", "solids_to_triangles", "BUILDINGS_COLUMNS"]


