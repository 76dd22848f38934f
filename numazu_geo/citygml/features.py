"""PLATEAU feature types other than buildings, as flat GeoDataFrames for maps and lessons.

>>> roads = read_features("13100_tokyo23-ku_2022_citygml_1_op.zip", "tran")   # doctest: +SKIP

Kinds (the folder names under ``udx/`` in a PLATEAU dataset):

=======  ==================================================  ==========================================
kind     CityGML features                                    attributes decoded
=======  ==================================================  ==========================================
tran     tran:Road, Railway, Track, Square (+ traffic areas)  class, function, usage
wtr      wtr:WaterBody (rivers, lakes, sea)                   class, function
luse     luse:LandUse (都市計画基礎調査 land use)               class (land-use type)
fld      wtr:WaterBody with uro:RiverFloodingRiskAttribute    rank (depth band), description (river)
tnm      wtr:WaterBody with uro:TsunamiRiskAttribute          rank (depth band), description
htd      wtr:WaterBody with uro:HighTideRiskAttribute         rank, description
ifld     wtr:WaterBody with uro:InlandFloodingRiskAttribute   rank, description
veg      veg:PlantCover, veg:SolitaryVegetationObject          class, height_m
=======  ==================================================  ==========================================

Each row is one feature: ``gml_id``, ``kind``, ``feature_type`` (local element name), ``name``
(``gml:name``), ``class_code``/``class``, ``function_code``/``function``, ``usage_code``/``usage``,
``rank_code``/``rank``, ``description_code``/``description``, ``height_m``, ``city_code``,
``source_file`` and a 2D ``geometry``: the union of the feature's surfaces at its lowest LOD
(MultiPolygon; a Point when a feature has only a point, e.g. a tree at LOD0). Codes are decoded
with the dataset's own code lists (``codelists/`` beside ``udx/``, or ``codelists=``) and the
built-in tables where the project has them; a code no list explains keeps its code and an empty
label. Geometry is read in EPSG:6697 (latitude, longitude, height) as PLATEAU writes it and
returned in ``crs`` (default ``"auto"``: the plane rectangular zone of the data, as
:func:`~numazu_geo.citygml.read_buildings` does).

Reading is streaming (``lxml.etree.iterparse`` per ``core:cityObjectMember``) with the reader's
secure parser settings (no DTDs, no entities, no network). Element names are matched by local
name so that i-UR 1.4 to 3.2 files read alike.

Reference: MLIT, 3D都市モデル標準製品仕様書 第4.0版 (2024), chapters on 道路 (tran), 水部 (wtr),
土地利用 (luse), 災害リスク (fld, tnm, htd, ifld) and 植生 (veg).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from lxml import etree

from numazu_geo.citygml import crs as crs_mod
from numazu_geo.citygml.codelists import CodeLists
from numazu_geo.citygml.sources import GMLSource, find_codelist_dirs, resolve_sources
from numazu_geo.citygml.reader import SECURE_PARSER_OPTIONS
from numazu_geo.errors import CityGMLError, SourceNotFoundError

log = logging.getLogger(__name__)

#: feature kinds and the udx/ folder each lives in
FEATURE_KINDS = ("tran", "wtr", "luse", "fld", "tnm", "htd", "ifld", "veg")
#: risk attribute element read for each disaster kind
_RISK_ELEMENT = {"fld": "RiverFloodingRiskAttribute", "tnm": "TsunamiRiskAttribute",
                 "htd": "HighTideRiskAttribute", "ifld": "InlandFloodingRiskAttribute"}
#: top-level feature elements read for each kind (local names)
_FEATURE_TYPES = {
    "tran": {"Road", "Railway", "Track", "Square", "TransportationComplex"},
    "wtr": {"WaterBody"}, "fld": {"WaterBody"}, "tnm": {"WaterBody"}, "htd": {"WaterBody"}, "ifld": {"WaterBody"},
    "luse": {"LandUse"},
    "veg": {"PlantCover", "SolitaryVegetationObject"},
}
COLUMNS = [
    "gml_id", "kind", "feature_type", "name", "class_code", "class", "function_code", "function",
    "usage_code", "usage", "rank_code", "rank", "description_code", "description", "height_m",
    "city_code", "lod", "source_file",
]


_FILE_CITY_RE = re.compile(r"[a-z]([0-9]{5})_(?:20[0-9]{2}_)?(?:[a-z]+_)?[0-9]{6,10}_", re.IGNORECASE)


def city_code_from_path(label: str | None) -> str | None:
    """A municipality code stated by a dataset or file name (``22203_numazu-shi_city_2023_...``,
    ``suginami13115_2024_53394503_tran...``), else None."""
    if not label:
        return None
    text = str(label).replace("\\", "/")
    hint = crs_mod.city_hint_from_path(text)
    if hint:
        return hint
    from numazu_geo.citygml.sources import source_name

    match = _FILE_CITY_RE.search(source_name(text))
    return match.group(1) if match else None


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def feature_sources(source, kind: str) -> list[GMLSource]:
    """The CityGML files of ``kind`` in ``source`` (a ``.gml`` file, a dataset folder, a zip, or a list)."""
    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FEATURE_KINDS)}; got {kind!r}")
    items = [source] if isinstance(source, (str, os.PathLike, GMLSource)) else list(source)
    out: list[GMLSource] = []
    for item in items:
        if isinstance(item, GMLSource):
            out.append(item)
            continue
        path = Path(item)
        if not path.exists():
            raise SourceNotFoundError(f"{path}: no such file or folder")
        if path.is_dir():
            found = sorted(p for p in path.glob(f"**/udx/{kind}/**/*.gml") if p.is_file())
            if not found and path.name == kind:
                found = sorted(p for p in path.glob("**/*.gml") if p.is_file())
            if not found:
                found = sorted(p for p in path.glob(f"**/*_{kind}_*.gml") if p.is_file())
            out.extend(GMLSource(str(p), p.stat().st_size) for p in found)
        elif path.suffix.lower() == ".zip":
            import zipfile

            with zipfile.ZipFile(path) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(".gml")]
            chosen = [i for i in infos if f"udx/{kind}/" in i.filename.replace("\\", "/")]
            out.extend(GMLSource(i.filename, i.file_size, str(path)) for i in sorted(chosen, key=lambda i: i.filename))
        elif f"_{kind}_" in path.name or path.parent.name == kind or not _in_udx(path):
            out.extend(resolve_sources(path))
        else:
            # a file of another kind inside a dataset (udx/bldg/x.gml): look beside it in udx/<kind>/
            sibling = path.parent.parent / kind
            out.extend(GMLSource(str(p), p.stat().st_size) for p in sorted(sibling.glob("**/*.gml")) if p.is_file())
    return out


def _in_udx(path: Path) -> bool:
    return path.parent.parent.name == "udx"


def _pos_array(text: str | None, dim: int, where: str) -> np.ndarray:
    try:
        values = np.array(text.split(), dtype=np.float64) if text else np.empty(0)
    except ValueError as exc:
        raise CityGMLError(where, f"a gml:posList holds something that is not a number ({exc})") from None
    if values.size % dim:
        raise CityGMLError(where, f"a gml:posList has {values.size} numbers, not a multiple of {dim}")
    return values.reshape(-1, dim)


def _ring_xy(ring, dim_default: int, where: str) -> np.ndarray | None:
    """(n, 2) lon, lat of a gml:LinearRing (posList or pos elements)."""
    pos_list = None
    points = []
    for el in ring.iter():
        name = _local(el.tag)
        if name == "posList":
            pos_list = el
            break
        if name == "pos" and el.text:
            points.append(el.text)
    if pos_list is not None:
        dim = int(pos_list.get("srsDimension") or dim_default)
        arr = _pos_array(pos_list.text, dim, where)
    elif points:
        arr = _pos_array(" ".join(points), len(points[0].split()), where)
    else:
        return None
    if len(arr) < 4:
        return None
    return arr[:, [1, 0]]  # EPSG:6697 axis order is latitude, longitude


def _polygons(el, dim: int, where: str) -> list:
    out = []
    for poly in el.iter():
        if _local(poly.tag) != "Polygon":
            continue
        shell, holes = None, []
        for part in poly:
            kind = _local(part.tag)
            ring = next((r for r in part.iter() if _local(r.tag) == "LinearRing"), None)
            if ring is None:
                continue
            xy = _ring_xy(ring, dim, where)
            if xy is None:
                continue
            if kind == "exterior":
                shell = xy
            elif kind == "interior":
                holes.append(xy)
        if shell is not None:
            out.append(shapely.Polygon(shell, holes))
    return out


def _lod_of(tag_local: str) -> int | None:
    if tag_local.startswith("lod") and len(tag_local) > 3 and tag_local[3].isdigit():
        return int(tag_local[3])
    return None


class _Feature:
    __slots__ = ("values", "polys_by_lod", "points")

    def __init__(self):
        self.values: dict = {}
        self.polys_by_lod: dict[int, list] = {}
        self.points: list = []


def _read_feature(feature, kind: str, dim: int, where: str, risk: str | None) -> _Feature:
    f = _Feature()
    v = f.values
    v["gml_id"] = feature.get("{http://www.opengis.net/gml}id")
    v["feature_type"] = _local(feature.tag)
    for el in feature.iter():
        name = _local(el.tag)
        parent = el.getparent()
        pname = _local(parent.tag) if parent is not None else ""
        if name == "name" and parent is feature and "name" not in v and el.text:
            v["name"] = el.text.strip()
        elif name in ("class", "function", "usage") and parent is feature and el.text:
            v.setdefault(f"{name}_code", (el.text.strip(), el.get("codeSpace")))
        elif name == "city" and el.text and "city_code" not in v:
            v["city_code"] = el.text.strip()
        elif name in ("height", "averageHeight") and pname == v["feature_type"] and el.text:
            try:
                h = float(el.text)
                if h > -9999:
                    v.setdefault("height_m", h)
            except ValueError:
                pass
        elif risk is not None and pname == risk and name in ("rank", "description") and el.text:
            v.setdefault(f"{name}_code", (el.text.strip(), el.get("codeSpace")))
        elif name == "rankOrg" and risk is not None and pname == risk and el.text and "rank_code" not in v:
            v["rank_code"] = (el.text.strip(), el.get("codeSpace"))
        lod = _lod_of(name)
        if lod is not None and (name.endswith("MultiSurface") or name.endswith("Geometry")
                                or name.endswith("Solid") or name.endswith("Surface")):
            polys = _polygons(el, dim, where)
            if polys:
                f.polys_by_lod.setdefault(lod, []).extend(polys)
            elif lod == 0:
                for pt in el.iter():
                    if _local(pt.tag) == "pos" and pt.text:
                        arr = _pos_array(pt.text, len(pt.text.split()), where)
                        if len(arr):
                            f.points.append(shapely.Point(arr[0, 1], arr[0, 0]))
    return f


def _geometry(f: _Feature):
    if f.polys_by_lod:
        positive = [lod for lod in f.polys_by_lod if lod >= 1]
        lod = min(positive) if positive else min(f.polys_by_lod)
        polys = [p if p.is_valid else shapely.make_valid(p) for p in f.polys_by_lod[lod]]
        polys = [p for p in polys if not p.is_empty]
        if not polys:
            return None, lod
        if len(polys) == 1:
            geom = polys[0]
        else:
            try:
                geom = shapely.coverage_union_all(polys) if len(polys) > 50 else shapely.union_all(polys)
            except shapely.errors.GEOSException:
                geom = shapely.union_all(polys)
        parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
        if parts and not all(p.geom_type == "Polygon" for p in shapely.get_parts(geom)):
            geom = shapely.MultiPolygon(parts)
        return geom, lod
    if f.points:
        return f.points[0], 0
    return None, None


def _read_file(src: GMLSource, kind: str) -> list[_Feature]:
    types = _FEATURE_TYPES[kind]
    risk = _RISK_ELEMENT.get(kind)
    out: list[_Feature] = []
    dim = 3
    from numazu_geo.citygml.reader import _check_header  # the buildings reader's guard: DOCTYPE, any encoding
    from numazu_geo.citygml.versions import HEADER_BYTES

    _check_header(src, src.read_header(HEADER_BYTES))
    with src.open() as fh:
        try:
            for _, member in etree.iterparse(fh, events=("end",), tag="{*}cityObjectMember", **SECURE_PARSER_OPTIONS):
                for child in member:
                    if _local(child.tag) in types:
                        f = _read_feature(child, kind, dim, src.label, risk)
                        if risk is not None and "rank_code" not in f.values and "description_code" not in f.values:
                            continue  # a plain water body in a hazard file
                        out.append(f)
                member.clear()
        except etree.XMLSyntaxError as exc:
            raise CityGMLError(src.label, f"not well-formed XML ({exc})", line=getattr(exc, "lineno", None)) from None
    return out


def read_features(source, kind: str, *, crs="auto", codelists=None, bbox=None) -> gpd.GeoDataFrame:
    """Read PLATEAU features of ``kind`` (``"tran"``, ``"wtr"``, ``"luse"``, ``"fld"``, ``"tnm"``,
    ``"htd"``, ``"ifld"``, ``"veg"``) from ``source`` into a GeoDataFrame (columns: see module docs).

    Parameters
    ----------
    source : a ``.gml`` file, a dataset folder (``udx/<kind>/`` is searched), a PLATEAU zip, or a list.
    crs : ``"auto"`` (plane rectangular zone of the data), or any CRS pyproj accepts
        (``"EPSG:6668"`` keeps longitude/latitude).
    codelists : a ``codelists`` folder to consult before the dataset's own and the built-in tables.
    bbox : (west_lon, south_lat, east_lon, north_lat) in degrees: keep features that intersect it.

    A dataset without files of ``kind`` gives an empty GeoDataFrame (and a log line), so a map can
    draw what exists; a malformed file raises :class:`~numazu_geo.errors.CityGMLError` naming it.
    """
    from numazu_geo.citygml import validate

    validate.check_target_crs(crs_mod.resolve_crs(crs))
    sources = feature_sources(source, kind)
    rows: list[dict] = []
    geoms: list = []
    extra = [str(codelists)] if codelists is not None else []
    for src in sources:
        feats = _read_file(src, kind)
        lists = CodeLists(extra + find_codelist_dirs(src))
        cache: dict = {}
        for f in feats:
            geom, lod = _geometry(f)
            row = {"kind": kind, "lod": lod, "source_file": src.label}
            for key, value in f.values.items():
                if key.endswith("_code") and isinstance(value, tuple):
                    code, space = value
                    row[key] = code
                    label_key = key[:-5]
                    if space:
                        ck = (space, code)
                        if ck not in cache:
                            cache[ck] = lists.label(space, code)
                        row[label_key] = cache[ck]
                else:
                    row[key] = value
            rows.append(row)
            geoms.append(geom)
    if not sources:
        log.info("read_features: no %s files in %s", kind, source)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in COLUMNS:
        if col in ("height_m",):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        elif col == "lod":
            frame[col] = pd.array(frame[col], dtype="Int64")
        else:
            frame[col] = frame[col].astype("string")
    frame["kind"] = kind
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=6668), crs=6668)
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)].reset_index(drop=True)
    if bbox is not None:
        from numazu_geo.citygml.sources import check_bbox

        w, s, e, n = check_bbox(bbox)
        gdf = gdf[gdf.intersects(shapely.box(w, s, e, n))].reset_index(drop=True)
    validate.check_lonlat_frame(gdf)  # outside Japan / swapped lat-lon: refused before projecting
    target = crs_mod.resolve_crs(crs)
    if target is None and len(gdf):
        rep = gdf.geometry.representative_point()
        hints = [city_code_from_path(s.label) for s in sources]
        codes = gdf["city_code"].tolist()
        if any(hints) or any(isinstance(c, str) and c for c in codes):
            target = crs_mod.auto_crs(codes, rep.y.to_numpy(), rep.x.to_numpy(), hints=hints)
        else:  # features carry no municipality code: the zone of the data's centre (as read_buildings guesses it)
            zone = crs_mod.zone_for(None, float(rep.y.median()), float(rep.x.median()))
            target = pyproj.CRS.from_epsg(crs_mod.zone_epsg(zone))
    if target is not None:
        gdf = gdf.to_crs(target)
    gdf.attrs["source_files"] = len(sources)
    gdf.attrs["kind"] = kind
    return gdf


def read_context(source, kinds=("tran", "wtr", "luse", "fld", "tnm"), *, crs="auto", bbox=None) -> dict:
    """``{kind: GeoDataFrame}`` for the kinds ``source`` holds (kinds without files are left out)."""
    out = {}
    for kind in kinds:
        try:
            gdf = read_features(source, kind, crs=crs, bbox=bbox)
        except SourceNotFoundError:
            raise
        if len(gdf):
            out[kind] = gdf
    return out

