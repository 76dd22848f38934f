"""PLATEAU terrain (``dem``) and vegetation (``veg``) as triangles for the shading scene.

:func:`read_terrain` reads ``dem:ReliefFeature`` / ``dem:TINRelief`` triangles
(``gml:TriangulatedSurface`` / ``gml:Triangle``; heights above Tokyo Bay mean sea level), and
:func:`read_vegetation` reads ``veg:SolitaryVegetationObject`` (``veg:height``) and
``veg:PlantCover`` (``veg:averageHeight``) geometry (``lod1Geometry`` / ``lod1MultiSolid`` ...
``lod3Geometry`` / ``lod3MultiSurface``; the highest LOD present by default), triangulated with
mapbox earcut. Both return a :class:`TriangleSet` in a projected CRS (the Plane Rectangular zone
of the data unless ``crs`` is given) and also accept a GeoTIFF DEM (:func:`read_terrain` on a
``.tif``: a regular grid of two triangles per cell, read with rasterio).

Sources: a ``.gml`` file, a dataset folder (``udx/dem/*.gml`` / ``udx/veg/*.gml`` found beside
``udx/bldg``), a ``udx/bldg`` folder (its sibling folders are searched), or a PLATEAU zip.
:func:`find_feature_files` lists what is there.

Files are parsed with the same hardened lxml settings as buildings (no DTD, no entities, no
network).
"""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from numazu_geo.citygml.geometry import poslist_to_array, triangulate_polygon_3d
from numazu_geo.citygml.sources import GMLSource
from numazu_geo.errors import CityGMLError, SourceNotFoundError

log = logging.getLogger(__name__)

GML = "http://www.opengis.net/gml"
VEG_NAMESPACES = ("http://www.opengis.net/citygml/vegetation/2.0", "http://www.opengis.net/citygml/vegetation/3.0")
DEM_NAMESPACES = ("http://www.opengis.net/citygml/relief/2.0", "http://www.opengis.net/citygml/relief/3.0")

#: Raster DEM no-data heights below this are treated as missing (GSI DEMs use -9999).
NODATA_BELOW_M = -1000.0


@dataclass
class TriangleSet:
    """Triangles of one feature type, ready for :class:`~numazu_geo.solar.shading.ShadingScene`.

    Attributes
    ----------
    triangles : (K, 3, 3) float64, x east, y north, z up, metres in ``crs``.
    crs : the projected CRS of ``triangles``.
    feature : (K,) index into ``features`` of each triangle.
    features : one row per feature: ``gml_id``, ``kind``, ``height_m`` (vegetation: veg:height or
        veg:averageHeight; terrain: NaN), ``lod``, ``n_triangles``, ``source_file``.
    """

    triangles: np.ndarray
    crs: pyproj.CRS | None
    feature: np.ndarray
    features: pd.DataFrame
    files: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.triangles)

    def to_crs(self, crs) -> "TriangleSet":
        """The same triangles in another projected CRS."""
        target = pyproj.CRS.from_user_input(crs)
        if self.crs is None or target.equals(self.crs) or len(self.triangles) == 0:
            return TriangleSet(self.triangles, target, self.feature, self.features, list(self.files))
        t = pyproj.Transformer.from_crs(self.crs, target, always_xy=True)
        flat = self.triangles.reshape(-1, 3)
        x, y = t.transform(flat[:, 0], flat[:, 1])
        out = np.column_stack([x, y, flat[:, 2]]).reshape(-1, 3, 3)
        return TriangleSet(out, target, self.feature, self.features, list(self.files))

    def __repr__(self) -> str:
        return f"TriangleSet({len(self.triangles)} triangles, {len(self.features)} features, crs={self.crs and self.crs.to_string()})"


# ----------------------------------------------------------------------------------------------
# finding files


def _zip_members(path: Path, kind: str) -> list[GMLSource]:
    with zipfile.ZipFile(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(".gml")]
    return [GMLSource(i.filename, i.file_size, str(path)) for i in infos if f"udx/{kind}/" in i.filename.replace("\\", "/")]


def find_feature_files(source, kind: str) -> list[GMLSource]:
    """CityGML files of feature type ``kind`` (``"dem"`` or ``"veg"``) in or beside ``source``.

    ``source``: a dataset folder, its ``udx`` or ``udx/bldg`` folder, a building ``.gml`` file in
    ``udx/bldg`` (its dataset is searched), a PLATEAU zip, a ``<kind>`` ``.gml`` file itself, or a
    list of these. Returns ``[]`` when there are none.
    """
    if kind not in ("dem", "veg"):
        raise ValueError(f"find_feature_files: kind must be 'dem' or 'veg', not {kind!r}")
    if isinstance(source, (list, tuple)):
        out = []
        for s in source:
            out += [f for f in find_feature_files(s, kind) if f not in out]
        return out
    path = Path(source)
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".zip":
        return sorted(_zip_members(path, kind), key=lambda s: s.path)
    if path.is_file():
        if f"_{kind}_" in path.name or path.parent.name == kind:
            return [GMLSource(str(path), path.stat().st_size)]
        path = path.parent
    # walk up from udx/bldg (or a file in it) to the dataset root
    candidates = [path, path.parent, path.parent.parent]
    for root in candidates:
        for pattern in (f"udx/{kind}/*.gml", f"{kind}/*.gml"):
            files = sorted(p for p in root.glob(pattern) if p.is_file())
            if files:
                return [GMLSource(str(p), p.stat().st_size) for p in files]
    zips = sorted(path.glob("*.zip")) if path.is_dir() else []
    return [m for z in zips for m in _zip_members(z, kind)]


# ----------------------------------------------------------------------------------------------
# parsing


def _iter_members(src: GMLSource, local_names: set[str], namespaces):
    from lxml import etree

    from numazu_geo.citygml.reader import SECURE_PARSER_OPTIONS

    tags = [f"{{{ns}}}{name}" for ns in namespaces for name in local_names]
    try:
        with src.open() as fh:
            for _, el in etree.iterparse(fh, events=("end",), tag=tags, **SECURE_PARSER_OPTIONS):
                yield el
                el.clear()
    except etree.XMLSyntaxError as exc:
        raise CityGMLError(src.label, f"not well-formed XML ({exc})") from exc


def _latlon_to_xyz(arr: np.ndarray) -> np.ndarray:
    """EPSG:6697 (lat, lon, h) rows -> (lon, lat, h) rows."""
    return arr[:, [1, 0, 2]]


def _triangles_of_rings(rings) -> np.ndarray:
    parts = []
    for ext, holes in rings:
        if len(ext) == 4 and not holes and np.allclose(ext[0], ext[-1]):
            parts.append(ext[:3][None])
        else:
            parts.append(triangulate_polygon_3d(ext, holes))
    return np.concatenate(parts) if parts else np.empty((0, 3, 3))


def _polygons(el, gml_ns=GML):
    """(exterior, [interiors]) of every gml:Polygon / gml:Triangle under ``el``, in (lon, lat, h)."""
    out = []
    for poly in el.iter(f"{{{gml_ns}}}Polygon", f"{{{gml_ns}}}Triangle"):
        ext = poly.find(f"{{{gml_ns}}}exterior")
        if ext is None:
            continue
        rings = []
        for ring_parent in [ext, *poly.findall(f"{{{gml_ns}}}interior")]:
            pl = ring_parent.find(f".//{{{gml_ns}}}posList")
            if pl is not None and pl.text:
                arr = poslist_to_array(pl.text, 3)
            else:
                pos = [p.text for p in ring_parent.iter(f"{{{gml_ns}}}pos") if p.text]
                if not pos:
                    continue
                arr = poslist_to_array(" ".join(pos), 3)
            rings.append(_latlon_to_xyz(arr))
        if rings:
            out.append((rings[0], rings[1:]))
    return out


def _project(tris_lonlat: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    from numazu_geo.citygml.crs import transform_lonlat

    flat = tris_lonlat.reshape(-1, 3)
    x, y = transform_lonlat(flat[:, 0], flat[:, 1], crs)
    return np.column_stack([x, y, flat[:, 2]]).reshape(-1, 3, 3)


def _choose_crs(crs, tris_lonlat: np.ndarray, paths) -> pyproj.CRS:
    from numazu_geo.citygml.crs import city_hint_from_path, resolve_crs, zone_epsg, zone_for

    target = resolve_crs(crs)
    if target is not None:
        return target
    if len(tris_lonlat) == 0:
        return pyproj.CRS.from_epsg(6676)
    c = tris_lonlat.reshape(-1, 3).mean(axis=0)
    hint = next((h for h in (city_hint_from_path(str(p)) for p in paths) if h), None)
    return pyproj.CRS.from_epsg(zone_epsg(zone_for(hint, float(c[1]), float(c[0]))))


def _files_near(files: list[GMLSource], bbox, crs) -> list[GMLSource]:
    """The files whose grid square (from the file name) reaches ``bbox`` (in ``crs``, a projected CRS):
    a city's dem/veg files are read only near the roofs that need them. Files without a square in
    their name, or a bbox without a known CRS, keep every file."""
    from numazu_geo.citygml.crs import resolve_crs
    from numazu_geo.citygml.sources import filter_sources

    target = resolve_crs(crs) if bbox is not None and crs not in (None, "auto") else None
    if target is None:
        return files
    to_lonlat = pyproj.Transformer.from_crs(target, 6668, always_xy=True)
    xs, ys = (bbox[0], bbox[2], bbox[0], bbox[2]), (bbox[1], bbox[1], bbox[3], bbox[3])
    lon, lat = to_lonlat.transform(xs, ys)
    return filter_sources(files, bbox=(min(lon), min(lat), max(lon), max(lat)))


def _finish(parts, rows, files, crs) -> TriangleSet:
    tris = np.concatenate([p for p in parts]) if parts else np.empty((0, 3, 3))
    feature = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)]).astype(np.int64) if parts else np.empty(0, np.int64)
    target = _choose_crs(crs, tris, files)
    tris = _project(tris, target) if len(tris) else tris
    features = pd.DataFrame(rows, columns=["gml_id", "kind", "height_m", "lod", "n_triangles", "source_file"])
    return TriangleSet(tris, target, feature, features, list(files))


def read_terrain(source, *, crs="auto", bbox=None, progress: bool = False) -> TriangleSet:
    """Terrain triangles from PLATEAU ``dem`` files (TINRelief) or a GeoTIFF DEM.

    Parameters
    ----------
    source : ``.gml``, dataset folder or zip (see :func:`find_feature_files`), or a ``.tif`` /
        ``.tiff`` DEM (heights in metres; read with rasterio, two triangles per cell).
    crs : target projected CRS (default: the Plane Rectangular zone of the data; a GeoTIFF keeps
        its own CRS unless one is given).
    bbox : optional ``(minx, miny, maxx, maxy)`` in the target CRS: keep only triangles touching it.

    Raises :class:`~numazu_geo.errors.SourceNotFoundError` when no dem file is found.
    """
    if isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() in (".tif", ".tiff"):
        out = read_dem_geotiff(source, crs=None if crs in (None, "auto") else crs)
    else:
        files = find_feature_files(source, "dem")
        if not files:
            raise SourceNotFoundError(f"{source}: no PLATEAU dem files (udx/dem/*.gml) found")
        files = _files_near(files, bbox, crs)
        if not files:  # the dataset has terrain, none of it near the bbox
            return _finish([], [], [], crs)
        parts, rows = [], []
        for src in files:
            for el in _iter_members(src, {"TINRelief"}, DEM_NAMESPACES):
                rings = _polygons(el)
                tris = _triangles_of_rings(rings)
                gid = el.get(f"{{{GML}}}id") or ""
                parts.append(tris)
                rows.append((gid, "TINRelief", np.nan, 1, len(tris), src.label))
        if not parts:
            raise CityGMLError(files[0].label, "no dem:TINRelief triangles in the dem file(s)")
        out = _finish(parts, rows, [f.label for f in files], crs)
    if bbox is not None:
        out = _clip(out, bbox)
    log.info("read_terrain: %s", out)
    return out


def _height_of(el) -> tuple[str, float]:
    for ns in VEG_NAMESPACES:
        for name in ("height", "averageHeight"):
            h = el.find(f"{{{ns}}}{name}")
            if h is not None and h.text:
                try:
                    return name, float(h.text)
                except ValueError:
                    pass
    return "", float("nan")


def read_vegetation(source, *, crs="auto", lod: int | None = None, bbox=None) -> TriangleSet:
    """Vegetation triangles from PLATEAU ``veg`` files.

    Each ``veg:SolitaryVegetationObject`` and ``veg:PlantCover`` gives the triangles of its
    geometry at ``lod`` (default: the highest of lod1..lod3 it carries; LOD1 is the prism of the
    crown outline, LOD2/3 the crown shape). ``features`` holds ``height_m`` (``veg:height`` or
    ``veg:averageHeight``). Objects without geometry are counted and logged, not guessed.
    """
    files = find_feature_files(source, "veg")
    if not files:
        raise SourceNotFoundError(f"{source}: no PLATEAU veg files (udx/veg/*.gml) found")
    files = _files_near(files, bbox, crs)
    parts, rows, skipped = [], [], 0
    for src in files:
        for el in _iter_members(src, {"SolitaryVegetationObject", "PlantCover"}, VEG_NAMESPACES):
            kind = el.tag.rsplit("}", 1)[-1]
            ns = el.tag[1:].split("}", 1)[0]
            by_lod = {}
            for child in el:
                name = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
                if child.tag.startswith(f"{{{ns}}}lod") and name[3:4].isdigit():
                    by_lod.setdefault(int(name[3]), []).append(child)
            use = lod if lod is not None else (max(by_lod) if by_lod else None)
            if use is None or use not in by_lod:
                skipped += 1
                continue
            rings = [r for child in by_lod[use] for r in _polygons(child)]
            tris = _triangles_of_rings(rings)
            _, height = _height_of(el)
            parts.append(tris)
            rows.append((el.get(f"{{{GML}}}id") or "", kind, height, use, len(tris), src.label))
    if skipped:
        log.warning("read_vegetation: %d vegetation objects without geometry at the requested LOD were skipped", skipped)
    out = _finish(parts, rows, [f.label for f in files], crs)
    out.features.attrs["skipped"] = skipped
    if bbox is not None:
        out = _clip(out, bbox)
    log.info("read_vegetation: %s", out)
    return out


def _clip(ts: TriangleSet, bbox) -> TriangleSet:
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    lo = ts.triangles[:, :, :2].min(axis=1)
    hi = ts.triangles[:, :, :2].max(axis=1)
    keep = (hi[:, 0] >= minx) & (lo[:, 0] <= maxx) & (hi[:, 1] >= miny) & (lo[:, 1] <= maxy)
    return TriangleSet(ts.triangles[keep], ts.crs, ts.feature[keep], ts.features, ts.files)


def read_dem_geotiff(path, *, crs=None, band: int = 1, step: int = 1) -> TriangleSet:
    """A GeoTIFF DEM (e.g. GSI 基盤地図情報 DEM converted to GeoTIFF) as terrain triangles.

    Cell centres become vertices; each square of four neighbouring valid cells gives two
    triangles. The raster must be in a projected CRS in metres unless ``crs`` is given (then the
    vertices are transformed to it; geographic rasters need ``crs``). ``step`` thins the grid.
    """
    import rasterio

    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError(f"{path}: no such file")
    try:
        with rasterio.open(path) as ds:
            z = ds.read(band, masked=True)[::step, ::step].astype(float)
            transform = ds.transform
            src_crs = pyproj.CRS.from_user_input(ds.crs.to_wkt()) if ds.crs else None
    except rasterio.errors.RasterioIOError as exc:
        raise CityGMLError(path, f"not a readable GeoTIFF ({exc})") from exc
    if src_crs is None and crs is None:
        raise CityGMLError(path, "the DEM has no CRS; pass crs=")
    src_crs = src_crs or pyproj.CRS.from_user_input(crs)
    data = z.filled(np.nan)
    data[data < NODATA_BELOW_M] = np.nan
    rows, cols = data.shape
    if rows < 2 or cols < 2:
        raise CityGMLError(path, f"the DEM has {rows} x {cols} cells; need at least 2 x 2")
    r, c = np.meshgrid(np.arange(rows) * step + 0.5 * step, np.arange(cols) * step + 0.5 * step, indexing="ij")
    x = transform.a * c + transform.b * r + transform.c  # affine: cell (col, row) -> (x, y)
    y = transform.d * c + transform.e * r + transform.f
    target = pyproj.CRS.from_user_input(crs) if crs is not None else src_crs
    if not target.equals(src_crs):
        x, y = pyproj.Transformer.from_crs(src_crs, target, always_xy=True).transform(x, y)
        x, y = np.asarray(x), np.asarray(y)
    if target.is_geographic:
        raise CityGMLError(path, "the DEM is in a geographic CRS; pass a projected crs= (metres)")
    v = np.stack([x, y, data], axis=-1)
    a, b, cc, d = v[:-1, :-1], v[:-1, 1:], v[1:, :-1], v[1:, 1:]
    t1 = np.stack([a, b, d], axis=2).reshape(-1, 3, 3)
    t2 = np.stack([a, d, cc], axis=2).reshape(-1, 3, 3)
    tris = np.concatenate([t1, t2])
    tris = tris[np.isfinite(tris).all(axis=(1, 2))]
    features = pd.DataFrame([(path.stem, "GeoTIFF DEM", np.nan, 0, len(tris), str(path))],
                            columns=["gml_id", "kind", "height_m", "lod", "n_triangles", "source_file"])  # fmt: skip
    return TriangleSet(tris, target, np.zeros(len(tris), np.int64), features, [str(path)])


__all__ = ["TriangleSet", "find_feature_files", "read_dem_geotiff", "read_terrain", "read_vegetation"]
