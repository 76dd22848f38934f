"""Streaming PLATEAU CityGML reader: buildings, roof surfaces and 3D shells as GeoDataFrames.

Each file is parsed once with ``lxml.etree.iterparse`` restricted to ``core:cityObjectMember``
(and ``app:appearanceMember``) end events; every member is processed and cleared, and earlier
siblings are deleted, so memory grows with the rows kept, not with the file. The parser never
loads DTDs, expands entities or reaches the network, and files that declare entities are refused.

Only the coordinates a result needs are converted: a building row needs its footprint rings
and the height range of its solid / roof surfaces (one ``numpy.fromstring`` per element over the
joined ``gml:posList`` texts), not every wall polygon. Footprints of a whole source are
transformed with one vectorised pyproj call and turned into shapely geometries in bulk
(``shapely.from_ragged_array``). Several large files are read in parallel processes.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import operator
import os
import re
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
from lxml import etree

from numazu_geo.citygml import attributes as A
from numazu_geo.citygml.columns import READER_FIELDS, UNIT_FIELDS
from numazu_geo.citygml.geometry import LEVEL_TOL_M, newell_normal
from numazu_geo.citygml.sources import GMLSource, find_codelist_dirs
from numazu_geo.citygml.versions import (
    APP,
    BLDG,
    CORE,
    GML,
    HEADER_BYTES,
    detect_version,
    header_as_utf8,
    root_start_tag,
)
from numazu_geo.errors import CityGMLError, UnsupportedCityGMLError

log = logging.getLogger(__name__)

#: lxml parser options: no DTD loading, no entity expansion, no network; huge_tree lifts libxml2's
#: 10 MB text-node limit (real LOD2 posLists and texture coordinates can be that long)
SECURE_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=True,
    remove_comments=True,
    remove_pis=True,
    remove_blank_text=True,  # fewer nodes: about 15 % faster on pretty-printed PLATEAU files
    collect_ids=False,
)

#: read this many files or more, totalling at least PARALLEL_MIN_BYTES, with several processes
#: by default (below that, starting processes costs more than it saves; measured in
#: benchmarks/bench_ingest.py on this project's 2-core CI box, 2026)
PARALLEL_MIN_FILES = 2
PARALLEL_MIN_BYTES = 48 * 1024 * 1024
PARALLEL_MAX_PROCESSES = 8

T_MEMBER = f"{{{CORE}}}cityObjectMember"
T_APP_MEMBER = f"{{{APP}}}appearanceMember"
T_FEATURE_MEMBER = f"{{{GML}}}featureMember"
T_EXTERIOR = f"{{{GML}}}exterior"
T_INTERIOR = f"{{{GML}}}interior"

_NS = {"gml": GML}
_POSLIST = etree.XPath(".//gml:posList", namespaces=_NS)
_HAS_INTERIOR = etree.XPath("boolean(.//gml:interior)", namespaces=_NS)
_SURFACE_LODS = etree.XPath(
    "2 * number(boolean(./bldg:boundedBy/*/bldg:lod3MultiSurface))"
    " + number(boolean(./bldg:boundedBy/*/bldg:lod2MultiSurface))",
    namespaces={"bldg": BLDG},
)
_POSLIST_TEXT = etree.XPath(".//gml:posList/text()", namespaces=_NS, smart_strings=False)
_ROOF_TEXT = etree.XPath(
    "./bldg:boundedBy/bldg:RoofSurface/bldg:lod2MultiSurface//gml:posList/text()",
    namespaces={"gml": GML, "bldg": BLDG},
    smart_strings=False,
)

#: the reader's building rows: tuples of ROW_FIELDS (numazu_geo.citygml.columns), the unit's
#: attribute values (one C-level attrgetter call) followed by what the reader derives
_UNIT_VALUES = operator.attrgetter(*UNIT_FIELDS)

MODES = ("buildings", "roofs", "solids")

#: a polygon of a LOD2 solid without semantic surfaces counts as roof when its upward normal
#: component exceeds this (faces steeper than about 78 deg are walls)
ROOF_MIN_NZ = 0.2

# metres per degree near Japan, for normals of lat/lon polygons (WGS84/GRS80 ellipsoid, ~35 N)
_M_PER_DEG_LAT = 110_950.0


class _Skip(Exception):
    pass


@dataclass
class ReadOptions:
    mode: str = "buildings"
    lod: int | None = None
    parts: bool = False


@dataclass
class FileResult:
    """What one file contributes (picklable, so worker processes can send it back).

    Geometry is kept as coordinates in file order (latitude, longitude, height) plus ragged
    offsets: ``ring_sizes`` (vertices per ring), ``ring_counts`` (rings per polygon) and
    ``poly_counts`` (polygons per row).
    """

    label: str
    nbytes: int
    version: str | None = None
    codelist_dirs: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    rings: list = field(default_factory=list)  # flat lat, lon, h views while parsing
    coords: np.ndarray | None = None  # (n, 3) after finish()
    ring_sizes: np.ndarray | None = None
    ring_counts: list = field(default_factory=list)
    poly_counts: list = field(default_factory=list)
    city_codes: list = field(default_factory=list)  # per row, for crs="auto" (roofs/solids)
    error: tuple | None = None  # (kind, path, reason, line)
    seconds: float = 0.0  # wall
    cpu_seconds: float = 0.0  # CPU of the process that read the file
    pid: int = 0
    _chunks: list = field(default_factory=list, repr=False)
    _size_chunks: list = field(default_factory=list, repr=False)

    def compact(self) -> None:
        """Copy the rings gathered so far into one array (views into big batches are released)."""
        if self.rings:
            self._chunks.append(np.concatenate(self.rings))
            self._size_chunks.append(
                np.fromiter((r.size // 3 for r in self.rings), dtype=np.int64, count=len(self.rings))
            )
        self.rings = []

    def finish(self) -> None:
        self.compact()
        chunks, sizes = self._chunks, self._size_chunks
        self.coords = np.concatenate(chunks).reshape(-1, 3) if chunks else np.empty((0, 3))
        self.ring_sizes = np.concatenate(sizes) if sizes else np.empty(0, dtype=np.int64)
        self._chunks, self._size_chunks = [], []

    def clear(self) -> None:
        self.rows, self.rings, self.ring_counts, self.poly_counts, self.city_codes = [], [], [], [], []
        self._chunks, self._size_chunks = [], []


# --------------------------------------------------------------------------------------------
# coordinates: one numpy conversion per group of posLists


def _parse_texts(texts: list[str]) -> tuple[np.ndarray, list[int]]:
    """Join posList texts, convert once, return (flat float array, start offset of each text)."""
    if not texts:
        return _EMPTY, [0]
    flat = np.fromstring(" ".join(texts), dtype=np.float64, sep=" ")
    offsets = [0]
    total = 0
    for t in texts:  # PLATEAU separates numbers by one space: count them without parsing
        total += t.count(" ") + 1
        offsets.append(total)
    if total != flat.size:  # irregular whitespace: convert text by text
        arrays = [np.fromstring(t, dtype=np.float64, sep=" ") for t in texts]
        flat = np.concatenate(arrays) if arrays else _EMPTY
        offsets = [0]
        for a in arrays:
            offsets.append(offsets[-1] + a.size)
    return flat, offsets


_EMPTY = np.empty(0)
_BULK_MIN_TEXTS = 400
#: convert and release collected posList texts every this many (bounds memory on huge files)
FLUSH_TEXTS = 50_000


class _Coords:
    """posLists below an element: elements, one flat array, and ring polygons on demand."""

    __slots__ = ("pls", "flat", "offsets")

    def __init__(self, el):
        self.pls = _POSLIST(el) if el is not None else []
        self.flat, self.offsets = _parse_texts([pl.text or "" for pl in self.pls])

    def z_range(self) -> tuple[float, float]:
        if self.flat.size < 3:
            return math.inf, -math.inf
        z = self.flat[2::3]
        return float(z.min()), float(z.max())

    def polygons(self, keep=None) -> list[list[np.ndarray]]:
        """Polygons as lists of flat (lat, lon, h ...) ring views; exterior first."""
        flat, off = self.flat, self.offsets
        polys: list[list[np.ndarray]] = []
        current = None
        for i, pl in enumerate(self.pls):
            boundary = pl.getparent().getparent()
            a, b = off[i], off[i + 1]
            n = b - a
            ring = None
            if n >= 9 and n % 3 == 0:
                if flat[a] == flat[b - 3] and flat[a + 1] == flat[b - 2] and flat[a + 2] == flat[b - 1]:
                    ring = flat[a:b] if n >= 12 else None
                else:  # unclosed ring: close it
                    ring = np.concatenate([flat[a:b], flat[a : a + 3]])
            elif n % 3:
                raise _Skip(f"posList with {n} numbers is not 3D (line {pl.sourceline})")
            if boundary.tag == T_INTERIOR:
                if current is not None and ring is not None:
                    current.append(ring)
            else:
                current = [ring] if ring is not None else None
                if current is not None:
                    polys.append(current)
        return polys


def _z_of_texts(texts: list[str]) -> tuple[float, float]:
    if not texts:
        return math.inf, -math.inf
    flat = np.fromstring(" ".join(texts), dtype=np.float64, sep=" ")
    if flat.size < 3:
        return math.inf, -math.inf
    z = flat[2::3]
    return float(z.min()), float(z.max())


def _level(polys: list[list[np.ndarray]], which: str) -> list[list[np.ndarray]]:
    """Horizontal polygons at the bottom / top level of a solid (see geometry.level_polygons)."""
    if not polys:
        return []
    zs = [p[0][2::3] for p in polys]
    zmin = np.array([z.min() for z in zs])
    zmax = np.array([z.max() for z in zs])
    flat = (zmax - zmin) <= LEVEL_TOL_M
    if not flat.any():
        return []
    if which == "bottom":
        sel = flat & (np.abs(zmin - zmin[flat].min()) <= LEVEL_TOL_M)
    else:
        sel = flat & (np.abs(zmax - zmax[flat].max()) <= LEVEL_TOL_M)
    return [polys[i] for i in np.flatnonzero(sel)]


def _upward(ring: np.ndarray) -> float:
    """Unit normal z of a flat lat/lon/h ring (local metric approximation)."""
    ext = ring.reshape(-1, 3)[:-1]
    if len(ext) < 3:
        return 0.0
    lat0 = float(ext[:, 0].mean())
    xyz = np.column_stack(
        [
            (ext[:, 1] - ext[0, 1]) * _M_PER_DEG_LAT * math.cos(math.radians(lat0)),
            (ext[:, 0] - ext[0, 0]) * _M_PER_DEG_LAT,
            ext[:, 2],
        ]
    )
    n = newell_normal(xyz)
    norm = float(np.linalg.norm(n))
    return float(n[2]) / norm if norm > 0 else 0.0


# --------------------------------------------------------------------------------------------
# per-unit geometry


def _lod2_surfaces(unit, kind: str | None = None):
    """LOD2 boundedBy surfaces of a unit (LOD3 ones only if the unit has no LOD2)."""
    best = 2 if any(s[2] == 2 for s in unit.surfaces) else 3
    return [s for s in unit.surfaces if s[2] == best and (kind is None or s[0] == kind)]


def _surface_polys(surfaces) -> list[list[np.ndarray]]:
    return [p for s in surfaces for p in _Coords(s[1]).polygons()]


def _unit_geometry(unit, lod: int | None):
    """(footprint polygons, source, issue, ground_z, roof_z) of one Building/BuildingPart."""
    lod0 = _Coords(unit.lod0) if unit.lod0 is not None and lod in (None, 0) else None
    lod1 = _Coords(unit.lod1) if unit.lod1 is not None else None
    ground, roof = _heights(unit, lod1)

    if lod0 is not None:
        polys = lod0.polygons()
        if polys:
            return polys, "lod0", None, ground, roof
        if lod == 0:
            return [], None, "LOD0 footprint has no usable polygon", ground, roof
    if lod == 0:
        return [], None, "no LOD0 geometry", ground, roof
    if lod in (None, 1) and lod1 is not None:
        polys = _level(lod1.polygons(), "bottom")
        if polys:
            return polys, "lod1_base", None, ground, roof
        if lod == 1:
            return [], None, "LOD1 solid has no horizontal base polygon", ground, roof
    if lod in (None, 2):
        polys = _surface_polys(_lod2_surfaces(unit, A.GROUND))
        if polys:
            return polys, "lod2_ground", None, ground, roof
        if unit.lod2solid is not None:
            polys = _level(_Coords(unit.lod2solid).polygons(), "bottom")
            if polys:
                return polys, "lod2_base", None, ground, roof
        polys = _surface_polys(_lod2_surfaces(unit, A.ROOF))
        if polys:
            return polys, "lod2_roofs", None, ground, roof
    if lod is not None:
        return [], None, f"no LOD{lod} geometry", ground, roof
    return [], None, "no footprint geometry (no LOD0, LOD1 or LOD2 polygons)", ground, roof


def _all_units(unit) -> list:
    out = []
    for p in unit.parts:
        out.append(p)
        out.extend(_all_units(p))
    return out


# --------------------------------------------------------------------------------------------
# fast path for building rows: texts are collected while streaming and converted per file


def _bulk_convert(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All posList texts of a file to one float64 array and per-text offsets (in numbers).

    pyarrow splits and converts in C++ (about 30 ns a number against about 150 for
    ``numpy.fromstring``); numpy is the fallback if pyarrow refuses a token.
    """
    if not texts:
        return _EMPTY, np.zeros(1, dtype=np.int64)
    if len(texts) < _BULK_MIN_TEXTS:  # small file: pyarrow's fixed cost is not worth it
        flat, offsets = _parse_texts(texts)
        return flat, np.asarray(offsets, dtype=np.int64)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pc.ascii_trim_whitespace(pa.array(texts, pa.large_string()))
        empty = pc.equal(pc.binary_length(arr), 0)
        if pc.any(empty).as_py():
            arr = pc.if_else(empty, pa.scalar(None, pa.large_string()), arr)
        lists = pc.ascii_split_whitespace(arr)
        offsets = lists.offsets.to_numpy().astype(np.int64)
        flat = pc.cast(lists.flatten(), pa.float64()).to_numpy(zero_copy_only=False)
        return flat, offsets - offsets[0]
    except (ImportError, ValueError, TypeError, ArithmeticError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        log.debug("bulk posList conversion fell back to numpy (%s)", exc)
    arrays = [np.fromstring(t, dtype=np.float64, sep=" ") for t in texts]
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([a.size for a in arrays], out=offsets[1:])
    return np.concatenate(arrays), offsets


def _range_reduce(values: np.ndarray, a: np.ndarray, b: np.ndarray, ufunc, empty: float) -> np.ndarray:
    """``ufunc`` over values[a[i]:b[i]] for every i (``empty`` where a[i] >= b[i])."""
    out = np.full(len(a), empty, dtype=np.float64)
    nonempty = b > a
    if nonempty.any():
        idx = np.empty(2 * int(nonempty.sum()), dtype=np.int64)
        idx[0::2] = a[nonempty]
        idx[1::2] = b[nonempty]
        padded = np.append(values, empty)
        out[nonempty] = ufunc.reduceat(padded, idx)[0::2]
    return out


class _TextPlan:
    """Geometry of one building row as indices into the file's text list, and the row's values
    taken from its unit (the row is built once its footprint and heights are known)."""

    __slots__ = ("row", "values", "lod", "lod0", "lod1", "lod1_range", "roof_range")

    def __init__(self, row, values, lod, lod0, lod1, lod1_range, roof_range):
        self.row, self.values, self.lod, self.lod0, self.lod1 = row, values, lod, lod0, lod1
        self.lod1_range, self.roof_range = lod1_range, roof_range


def _collect_polys(el, texts: list) -> list[list[int]]:
    """Append the posList texts below ``el`` to ``texts``; polygons as lists of text indices."""
    if not _HAS_INTERIOR(el):  # the usual case: one ring per polygon, no per-ring Python
        start = len(texts)
        texts.extend(_POSLIST_TEXT(el))
        return [[i] for i in range(start, len(texts))]
    polys: list[list[int]] = []
    for pl in _POSLIST(el):
        i = len(texts)
        texts.append(pl.text or "")
        if pl.getparent().getparent().tag == T_INTERIOR:
            if polys:
                polys[-1].append(i)
        else:
            polys.append([i])
    return polys


# --------------------------------------------------------------------------------------------
# per-mode row builders


def _row(values: tuple, lod, ground, roof, issue, parent_id, src) -> tuple:
    """A building row: the unit's values, then READER_FIELDS (infinite heights become NaN)."""
    return values + (
        lod,
        ground if ground < math.inf else math.nan,
        roof if roof > -math.inf else math.nan,
        issue,
        parent_id,
        src,
    )


if READER_FIELDS != ("lod", "ground_z_m", "roof_z_m", "geometry_issue", "parent_id", "footprint_from"):
    raise ImportError("citygml.columns.READER_FIELDS no longer matches reader._row")  # pragma: no cover


class _FileReader:
    def __init__(self, src: GMLSource, opts: ReadOptions, result: FileResult, reader: A.AttributeReader):
        self.src, self.opts, self.res, self.attrs = src, opts, result, reader
        self.texts: list[str] = []
        self.plans: list[_TextPlan] = []
        self.row_polys: list = []  # buildings mode: footprint polygons per row (None = in a plan)

    def _geometry(self, unit):
        try:
            return _unit_geometry(unit, self.opts.lod)
        except (_Skip, ValueError) as exc:
            return [], None, f"unreadable geometry: {exc}", math.inf, -math.inf

    # buildings ---------------------------------------------------------------------------
    def buildings(self, el) -> None:
        unit = self.attrs.read(el, surfaces=False)
        if unit.parts or self.opts.lod is not None or (unit.lod0 is None and unit.lod1 is None):
            self._buildings_general(self.attrs.read(el))
            return
        # common case: texts now, numbers for the whole file in finish_buildings()
        texts = self.texts
        lod0 = _collect_polys(unit.lod0, texts) if unit.lod0 is not None else []
        t1 = len(texts)
        lod1 = _collect_polys(unit.lod1, texts) if unit.lod1 is not None else []
        t2 = len(texts)
        texts.extend(_ROOF_TEXT(el))
        t3 = len(texts)
        surface_lods = int(_SURFACE_LODS(el))  # 2: some LOD3 surface, +1: some LOD2 surface
        if unit.lod3 or surface_lods >= 2:
            lod = 3
        elif surface_lods or unit.lod2solid is not None:
            lod = 2
        else:
            lod = 1 if unit.lod1 is not None else 0
        self.plans.append(_TextPlan(len(self.row_polys), _UNIT_VALUES(unit), lod, lod0, lod1, (t1, t2), (t2, t3)))
        self.res.rows.append(None)  # built in finish_buildings()
        self.row_polys.append(None)
        if t3 >= FLUSH_TEXTS:
            self.finish_buildings()

    def finish_buildings(self) -> None:
        """Convert the collected texts and fill footprints and heights of the fast-path rows.

        Called every FLUSH_TEXTS posLists and at the end of the file, so memory holds one batch
        of text at a time; the footprint rings are copied out and the batch is released.
        """
        res, plans = self.res, self.plans
        base = len(res.rows) - len(self.row_polys)  # absolute index of row_polys[0]
        flat, offs = _bulk_convert(self.texts)
        self.texts = []
        counts = np.diff(offs)
        n_text = len(counts)
        bad = (counts % 3 != 0) | (counts == 0)
        if plans:
            if bad.any():
                tmin = np.full(n_text, math.inf)
                tmax = np.full(n_text, -math.inf)
                for i in np.flatnonzero(~bad):
                    z = flat[offs[i] + 2 : offs[i + 1] : 3]
                    tmin[i], tmax[i] = z.min(), z.max()
            else:
                z = flat[2::3]
                zoff = offs // 3
                tmin = _range_reduce(z, zoff[:-1], zoff[1:], np.minimum, math.inf)
                tmax = _range_reduce(z, zoff[:-1], zoff[1:], np.maximum, -math.inf)
            l1a = np.fromiter((p.lod1_range[0] for p in plans), np.int64, len(plans))
            l1b = np.fromiter((p.lod1_range[1] for p in plans), np.int64, len(plans))
            rfa = np.fromiter((p.roof_range[0] for p in plans), np.int64, len(plans))
            rfb = np.fromiter((p.roof_range[1] for p in plans), np.int64, len(plans))
            ground = _range_reduce(tmin, l1a, l1b, np.minimum, math.inf)
            roof1 = _range_reduce(tmax, l1a, l1b, np.maximum, -math.inf)
            roof2 = _range_reduce(tmax, rfa, rfb, np.maximum, -math.inf)
            roof = np.where(roof2 > -math.inf, roof2, roof1)
            closed = np.zeros(n_text, dtype=bool)
            ok = ~bad & (counts >= 12)
            if ok.any():
                a, b = offs[:-1][ok], offs[1:][ok]
                closed[ok] = (flat[a] == flat[b - 3]) & (flat[a + 1] == flat[b - 2]) & (flat[a + 2] == flat[b - 1])
            usable = (~bad & (counts >= 9)).tolist()
            closed_l = closed.tolist()
            tmin_l, tmax_l = tmin.tolist(), tmax.tolist()
            ground_l, roof_l = ground.tolist(), roof.tolist()
            for k, plan in enumerate(plans):
                polys, src, issue = self._plan_footprint(plan, flat, offs, usable, closed_l, tmin_l, tmax_l)
                res.rows[base + plan.row] = _row(plan.values, plan.lod, ground_l[k], roof_l[k], issue, None, src)
                self.row_polys[plan.row] = polys
        self.plans = []
        for polys in self.row_polys:
            for poly in polys:
                res.rings.extend(poly)
                res.ring_counts.append(len(poly))
            res.poly_counts.append(len(polys))
        self.row_polys = []
        res.compact()

    @staticmethod
    def _plan_footprint(plan, flat, offs, usable, closed, tmin, tmax):
        def ring(i):
            if not usable[i]:
                return None
            a, b = offs[i], offs[i + 1]
            if closed[i]:
                return flat[a:b]
            return np.concatenate([flat[a:b], flat[a : a + 3]])  # close it

        def polygons(spec):
            out = []
            for idx in spec:
                ext = ring(idx[0])
                if ext is None:
                    continue
                rings = [ext]
                for i in idx[1:]:
                    r = ring(i)
                    if r is not None:
                        rings.append(r)
                out.append(rings)
            return out

        if plan.lod0:
            polys = polygons(plan.lod0)
            if polys:
                return polys, "lod0", None
        if plan.lod1:
            ext = [p[0] for p in plan.lod1]
            flat_ = [i for i in ext if tmax[i] - tmin[i] <= LEVEL_TOL_M and tmin[i] < math.inf]
            if flat_:
                level = min(tmin[i] for i in flat_)
                chosen = [p for p in plan.lod1 if p[0] in flat_ and abs(tmin[p[0]] - level) <= LEVEL_TOL_M]
                polys = polygons(chosen)
                if polys:
                    return polys, "lod1_base", None
            return [], None, "LOD1 solid has no horizontal base polygon"
        return [], None, "LOD0 footprint has no usable polygon"

    def _buildings_general(self, unit) -> None:
        parts = _all_units(unit)
        if not parts:
            polys, src, issue, ground, roof = self._geometry(unit)
            self._add_row(unit, polys, issue, ground, roof, unit.has_lod, src, None)
            return
        for p in reversed(parts):
            A.merge_parts(p)
        A.merge_parts(unit)
        units = [unit] + parts
        geoms = [self._geometry(u) for u in units]
        # merged building row: footprints of the building and all parts, heights over all
        polys, issues, sources = [], [], []
        ground, roof, lod = math.inf, -math.inf, None
        for u, (p, src, issue, g, r) in zip(units, geoms):
            polys.extend(p)
            if src:
                sources.append(src)
            if issue and u is not unit:
                issues.append(issue)
            ground, roof = min(ground, g), max(roof, r)
            ul = u.has_lod
            if ul is not None and (lod is None or ul > lod):
                lod = ul
        issue = None if polys else (issues[-1] if issues else geoms[0][2] or "no footprint geometry")
        src = "+".join(sorted(set(sources))) if sources else None
        if src is not None and len(polys) > 1:
            src += "+parts"
        self._add_row(unit, polys, issue, ground, roof, lod, src, None)
        if self.opts.parts:
            for u, (p, psrc, pissue, g, r) in zip(units[1:], geoms[1:]):
                self._add_row(u, p, pissue, g, r, u.has_lod, psrc, unit.gml_id)

    def _add_row(self, unit, polys, issue, ground, roof, lod, src, parent_id):
        self.res.rows.append(_row(_UNIT_VALUES(unit), lod, ground, roof, issue, parent_id, src))
        self.row_polys.append(polys)

    # roofs -------------------------------------------------------------------------------
    def roofs(self, el) -> None:
        unit = self.attrs.read(el)
        units = [unit] + _all_units(unit)
        building_id = unit.building_id or next((u.building_id for u in units if u.building_id), None)
        city = unit.city_code or next((u.city_code for u in units if u.city_code), None)
        for u in units:
            try:
                found = self._unit_roofs(u)
            except (_Skip, ValueError) as exc:
                log.warning("%s: building %s: roof geometry skipped (%s)", self.src.label, unit.gml_id, exc)
                continue
            for surface_id, source, rings in found:
                self._add_polygon_row((unit.gml_id, building_id, surface_id, source), rings, city)

    @staticmethod
    def _unit_roofs(unit):
        out = []
        roofs = _lod2_surfaces(unit, A.ROOF)
        if roofs:
            for _, surface, _lod in roofs:
                sid = surface.get(A.T_ID)
                coords = _Coords(surface)
                for rings, poly_id in zip(coords.polygons(), _polygon_ids(coords)):
                    out.append((poly_id or sid, "lod2", rings))
            return out
        if unit.lod2solid is not None:
            coords = _Coords(unit.lod2solid)
            for rings, poly_id in zip(coords.polygons(), _polygon_ids(coords)):
                if _upward(rings[0]) > ROOF_MIN_NZ:
                    out.append((poly_id, "lod2", rings))
            if out:
                return out
        if unit.lod1 is not None:
            for rings in _level(_Coords(unit.lod1).polygons(), "top"):
                out.append((None, "lod1", rings))
        return out

    def _add_polygon_row(self, row, rings, city):
        res = self.res
        res.rings.extend(rings)
        res.ring_counts.append(len(rings))
        res.poly_counts.append(1)
        res.city_codes.append(city)
        res.rows.append(row)

    # solids ------------------------------------------------------------------------------
    def solids(self, el) -> None:
        unit = self.attrs.read(el)
        units = [unit] + _all_units(unit)
        for p in reversed(units[1:]):
            A.merge_parts(p)
        A.merge_parts(unit)
        polys, lods = [], []
        ground, roof = math.inf, -math.inf
        for u in units:
            try:
                shell, lod = self._unit_shell(u)
                g, r = _heights(u)
            except (_Skip, ValueError) as exc:
                log.warning("%s: building %s: solid geometry skipped (%s)", self.src.label, unit.gml_id, exc)
                continue
            polys.extend(shell)
            if lod is not None:
                lods.append(lod)
            ground, roof = min(ground, g), max(roof, r)
        res = self.res
        for rings in polys:
            res.rings.extend(rings)
            res.ring_counts.append(len(rings))
        res.poly_counts.append(len(polys))
        res.city_codes.append(unit.city_code)
        res.rows.append(
            (
                unit.gml_id,
                unit.building_id,
                max(lods) if lods else None,
                ground if ground < math.inf else math.nan,
                roof if roof > -math.inf else math.nan,
            )
        )

    @staticmethod
    def _unit_shell(unit):
        surfaces = _lod2_surfaces(unit)
        if surfaces:
            return _surface_polys(surfaces), 2
        if unit.lod2solid is not None:
            polys = _Coords(unit.lod2solid).polygons()
            if polys:
                return polys, 2
        if unit.lod1 is not None:
            return _Coords(unit.lod1).polygons(), 1
        return [], None


def _heights(unit, lod1: _Coords | None = None) -> tuple[float, float]:
    """(ground_z, roof_z) of a unit: LOD1 solid, refined by LOD2 roof/ground surfaces.

    ``lod1`` is the unit's already-built LOD1 coordinates, when the caller has them.
    """
    if lod1 is None and unit.lod1 is not None:
        lod1 = _Coords(unit.lod1)
    ground, roof = lod1.z_range() if lod1 is not None else (math.inf, -math.inf)
    if unit.surfaces:
        roofs = _lod2_surfaces(unit, A.ROOF)
        if roofs:
            _, r = _z_of_texts([t for s in roofs for t in _POSLIST_TEXT(s[1])])
            if r > -math.inf:
                roof = r
        if ground == math.inf:
            grounds = _lod2_surfaces(unit, A.GROUND) or _lod2_surfaces(unit)
            ground, _ = _z_of_texts([t for s in grounds for t in _POSLIST_TEXT(s[1])])
    elif unit.lod2solid is not None and lod1 is None:
        ground, roof = _Coords(unit.lod2solid).z_range()
    return ground, roof


def _polygon_ids(coords: _Coords) -> list[str | None]:
    """gml:id of the Polygon of each exterior ring, in the order of ``coords.polygons()``."""
    out = []
    for i, pl in enumerate(coords.pls):
        boundary = pl.getparent().getparent()
        if boundary.tag == T_INTERIOR:
            continue
        a, b = coords.offsets[i], coords.offsets[i + 1]
        if b - a < 12 or (b - a) % 3:
            continue
        poly = boundary.getparent()
        out.append(poly.get(A.T_ID) if poly is not None else None)
    return out


# --------------------------------------------------------------------------------------------
# one file


class _CountingReader:
    """File wrapper that reports bytes read to a callback (progress bars)."""

    def __init__(self, fh, callback):
        self._fh, self._cb = fh, callback

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        if data:
            self._cb(len(data))
        return data


def _check_header(src: GMLSource, header: bytes):
    header = header_as_utf8(header)  # the same checks for UTF-16/32 and legacy encodings
    prolog = root_start_tag(header)
    if prolog is header and len(header) >= HEADER_BYTES:
        raise CityGMLError(src.label, f"no root element start tag in the first {HEADER_BYTES} bytes")
    if b"<!ENTITY" in prolog or b"<!DOCTYPE" in prolog:
        raise CityGMLError(
            src.label,
            "the file has a document type declaration (<!DOCTYPE>/<!ENTITY>); PLATEAU CityGML never does, "
            "and such files are refused to rule out entity-expansion and external-entity attacks",
        )
    try:
        return detect_version(header)
    except ValueError as exc:
        raise UnsupportedCityGMLError(src.label, str(exc)) from None


_READERS: dict = {}


def _attribute_reader(spec) -> A.AttributeReader:
    key = spec.uro if spec is not None else None
    if key not in _READERS:
        _READERS[key] = A.AttributeReader(spec)
    return _READERS[key]


def read_file(src: GMLSource, opts: ReadOptions, progress_cb=None) -> FileResult:
    """Parse one CityGML file into a :class:`FileResult`; errors are returned, not raised."""
    t0, c0 = time.perf_counter(), time.process_time()
    res = FileResult(label=src.label, nbytes=src.size, pid=os.getpid())
    try:
        header = src.read_header(HEADER_BYTES)
        detected = _check_header(src, header)
        res.version = detected.spec.name if detected.spec else None
        res.codelist_dirs = find_codelist_dirs(src) if opts.mode == "buildings" else []
        handler = _FileReader(src, opts, res, _attribute_reader(detected.spec))
        handle = getattr(handler, opts.mode)
        with src.open() as fh:
            stream = _CountingReader(fh, progress_cb) if progress_cb else fh
            context = etree.iterparse(
                stream, events=("end",), tag=(T_MEMBER, T_APP_MEMBER, T_FEATURE_MEMBER), **SECURE_PARSER_OPTIONS
            )
            for _, member in context:
                if member.tag != T_APP_MEMBER:
                    for child in member:
                        if child.tag == A.T_BUILDING:
                            handle(child)
                    # no Python proxy may survive into clear(): lxml would walk the whole
                    # subtree to detach it (measured: doubles the parse time)
                    child = None
                member.clear()
                parent = member.getparent()
                while member.getprevious() is not None:
                    del parent[0]
            del context
        if opts.mode == "buildings":
            handler.finish_buildings()
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", None) or str(exc)
        msg = re.sub(r", line \d+, column (\d+)$", r" (column \1)", msg.strip())
        res.error = ("CityGMLError", src.label, f"not well-formed XML: {msg}", line)
    except UnsupportedCityGMLError as exc:
        res.error = ("UnsupportedCityGMLError", src.label, exc.reason, exc.line)
    except CityGMLError as exc:
        res.error = ("CityGMLError", src.label, exc.reason, exc.line)
    except OSError as exc:
        res.error = ("CityGMLError", src.label, f"cannot read the file: {exc}", None)
    if res.error is not None:
        res.clear()
    res.finish()
    res.seconds = time.perf_counter() - t0
    res.cpu_seconds = time.process_time() - c0
    return res


def error_from_result(res: FileResult) -> CityGMLError:
    kind, path, reason, line = res.error
    cls = UnsupportedCityGMLError if kind == "UnsupportedCityGMLError" else CityGMLError
    return cls(path, reason, line=line)


# --------------------------------------------------------------------------------------------
# many files


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while reading (the reader makes many small objects
    and no cycles) and restore its previous state afterwards.

    Only in the main thread of a process: elsewhere (a Dask worker's task thread, a thread of a
    web server) other code shares the interpreter, so the collector is left alone.
    """
    if threading.current_thread() is not threading.main_thread() or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _worker(args):
    src, opts = args
    with gc_paused():
        return read_file(src, opts)


def _in_managed_worker() -> bool:
    """True inside a process that must not start its own pool: a daemonic process (a
    ProcessPool or multiprocessing worker) or a Dask worker (its own scheduler parallelises)."""
    import multiprocessing as mp

    if mp.current_process().daemon:
        return True
    distributed = sys.modules.get("distributed")  # not imported: not a Dask worker
    if distributed is None:
        return False
    try:
        distributed.get_worker()
        return True
    except ValueError:
        return False


def default_processes(sources: list[GMLSource]) -> int:
    """Processes to use when ``processes=None``: several only for several large files, and
    never inside a Dask worker or another pool's worker."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    total = sum(s.size for s in sources)
    if cpus < 2 or len(sources) < PARALLEL_MIN_FILES or total < PARALLEL_MIN_BYTES:
        return 1
    if _in_managed_worker():
        return 1
    return max(1, min(cpus, len(sources), PARALLEL_MAX_PROCESSES))


def read_files(
    sources: list[GMLSource],
    opts: ReadOptions,
    *,
    errors: str = "raise",
    progress: bool = True,
    processes: int | None = None,
    desc: str = "CityGML",
) -> tuple[list[FileResult], list[dict]]:
    """Read every source (in parallel when asked) and collect per-file results and errors."""
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
    n_proc = default_processes(sources) if processes is None else max(1, int(processes))
    n_proc = min(n_proc, len(sources)) or 1
    total = sum(s.size for s in sources)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not progress, leave=False)
    results: list[FileResult] = []
    failures: list[dict] = []

    def handle(res: FileResult) -> None:
        if res.error is not None:
            err = error_from_result(res)
            if errors == "raise":
                raise err
            log.warning("skipped %s", err)
            failures.append({"file": res.label, "error": str(err)})
        results.append(res)

    try:
        if n_proc == 1:
            for src in sources:
                before = bar.n
                with gc_paused():  # many small objects, no cycles: the cyclic GC only costs time
                    res = read_file(src, opts, progress_cb=bar.update if progress else None)
                if progress:
                    bar.update(max(0, src.size - (bar.n - before)))
                handle(res)
        else:
            import multiprocessing as mp

            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            # biggest files first for load balance; results are put back in source order
            order = sorted(range(len(sources)), key=lambda i: -sources[i].size)
            with ProcessPoolExecutor(max_workers=n_proc, mp_context=ctx) as pool:
                futures = {i: pool.submit(_worker, (sources[i], opts)) for i in order}
                done: dict[int, FileResult] = {}

                index = {f: i for i, f in futures.items()}
                for fut in as_completed(futures.values()):
                    res = fut.result()
                    done[index[fut]] = res
                    bar.update(res.nbytes)
                for i in range(len(sources)):
                    handle(done[i])
    finally:
        bar.close()
    return results, failures
