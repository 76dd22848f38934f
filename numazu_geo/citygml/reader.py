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

import logging
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
from lxml import etree

from numazu_geo.citygml import attributes as A
from numazu_geo.citygml.geometry import LEVEL_TOL_M, level_polygons, newell_normal
from numazu_geo.citygml.sources import GMLSource, find_codelist_dirs
from numazu_geo.citygml.versions import APP, CORE, GML, HEADER_BYTES, detect_version
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
T_POLYGON = f"{{{GML}}}Polygon"
T_EXTERIOR = f"{{{GML}}}exterior"
T_INTERIOR = f"{{{GML}}}interior"

_NS = {"gml": GML}
_POSLIST_TEXT = etree.XPath(".//gml:posList/text()", namespaces=_NS)
_POS_TEXT = etree.XPath(".//gml:pos/text()", namespaces=_NS)
_POLYGONS = etree.XPath(".//gml:Polygon", namespaces=_NS)
_SURFACE_POLYGONS = etree.XPath(
    "./*[local-name()='lod2MultiSurface' or local-name()='lod3MultiSurface']//gml:Polygon", namespaces=_NS
)

BUILDING_COLUMNS = (
    "gml_id", "building_id", "city_code", "name", "usage_code", "measured_height_m",
    "storeys_above_ground", "storeys_below_ground", "year_of_construction", "total_floor_area_m2",
    "structure_code", "flood_depth_m", "flood_rank_code", "tsunami_depth_m", "landslide", "lod",
    "ground_z_m", "roof_z_m", "geometry_issue", "usage_cs", "structure_cs", "flood_rank_cs",
    "parent_id", "footprint_from",
)  # fmt: skip
_COL = {name: i for i, name in enumerate(BUILDING_COLUMNS)}

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
    """What one file contributes (picklable, so worker processes can send it back)."""

    label: str
    nbytes: int
    version: str | None = None
    codelist_dirs: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    rings: list = field(default_factory=list)  # (n, 2|3) float arrays: lon, lat[, h]
    ring_counts: list = field(default_factory=list)  # rings per polygon
    poly_counts: list = field(default_factory=list)  # polygons per row
    rep_lonlat: list = field(default_factory=list)  # (lon, lat) per row, NaN if none
    city_codes: list = field(default_factory=list)  # per row, for crs="auto" (roofs/solids)
    error: tuple | None = None  # (kind, path, reason, line)
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------
# coordinates


def _joined_array(el) -> np.ndarray:
    texts = _POSLIST_TEXT(el) or _POS_TEXT(el)
    if not texts:
        return np.empty((0, 3))
    flat = np.fromstring(" ".join(texts), dtype=np.float64, sep=" ")
    if flat.size % 3:
        raise _Skip(f"coordinates are not 3D triples ({flat.size} numbers)")
    return flat.reshape(-1, 3)


def _z_range(els) -> tuple[float, float]:
    zmin, zmax = math.inf, -math.inf
    for el in els:
        arr = _joined_array(el)
        if len(arr):
            z = arr[:, 2]
            zmin = min(zmin, float(z.min()))
            zmax = max(zmax, float(z.max()))
    return zmin, zmax


def _ring(ring_el) -> np.ndarray | None:
    arr = _joined_array(ring_el)
    n = len(arr)
    if n < 3:
        return None
    if not (arr[0, 0] == arr[-1, 0] and arr[0, 1] == arr[-1, 1] and arr[0, 2] == arr[-1, 2]):
        arr = np.vstack([arr, arr[:1]])
        n += 1
    if n < 4:
        return None
    return arr


def _polygon(poly_el) -> list[np.ndarray] | None:
    """Rings (exterior first) of a gml:Polygon as (n, 3) lat, lon, h arrays; None if unusable."""
    rings = []
    for boundary in poly_el:
        tag = boundary.tag
        if tag == T_EXTERIOR:
            for r in boundary:
                arr = _ring(r)
                if arr is None:
                    return None
                rings.insert(0, arr)
        elif tag == T_INTERIOR:
            for r in boundary:
                arr = _ring(r)
                if arr is not None:
                    rings.append(arr)
    return rings or None


def _polygons(el) -> list[list[np.ndarray]]:
    out = []
    for poly in _POLYGONS(el):
        rings = _polygon(poly)
        if rings is not None:
            out.append(rings)
    return out


def _surface_polygons(surface_el) -> list[list[np.ndarray]]:
    out = []
    for poly in _SURFACE_POLYGONS(surface_el):
        rings = _polygon(poly)
        if rings is not None:
            out.append(rings)
    return out


def _upward(rings: list[np.ndarray]) -> float:
    """Unit normal z of a lat/lon/h polygon (local metric approximation)."""
    ext = rings[0][:-1]
    if len(ext) < 3:
        return 0.0
    lat0 = ext[:, 0].mean()
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


def _unit_heights(unit) -> tuple[float, float]:
    """(ground_z, roof_z) of one Building/BuildingPart in metres above Tokyo Bay MSL."""
    ground, roof = math.inf, -math.inf
    if unit.lod1 is not None:
        ground, roof = _z_range([unit.lod1])
    roofs = _lod2_surfaces(unit, A.ROOF)
    if roofs:
        _, r = _z_range([s[1] for s in roofs])
        if r > -math.inf:
            roof = r
        if ground == math.inf:
            grounds = _lod2_surfaces(unit, A.GROUND) or _lod2_surfaces(unit)
            ground, _ = _z_range([s[1] for s in grounds])
    elif unit.lod2solid is not None and unit.lod1 is None:
        ground, roof = _z_range([unit.lod2solid])
    return ground, roof


def _footprint_polys(unit, lod: int | None) -> tuple[list, str | None, str | None]:
    """Footprint polygons (lat/lon/h rings), where they came from, and an issue if none."""
    if lod in (None, 0) and unit.lod0 is not None:
        polys = _polygons(unit.lod0)
        if polys:
            return polys, "lod0", None
        if lod == 0:
            return [], None, "LOD0 footprint has no usable polygon"
    if lod in (None, 1) and unit.lod1 is not None:
        polys = _polygons(unit.lod1)
        sel = level_polygons(polys, "bottom", LEVEL_TOL_M)
        if sel:
            return [polys[i] for i in sel], "lod1_base", None
        if lod == 1:
            return [], None, "LOD1 solid has no horizontal base polygon"
    if lod in (None, 2):
        grounds = _lod2_surfaces(unit, A.GROUND)
        polys = [p for s in grounds for p in _surface_polygons(s[1])]
        if polys:
            return polys, "lod2_ground", None
        if unit.lod2solid is not None:
            solid = _polygons(unit.lod2solid)
            sel = level_polygons(solid, "bottom", LEVEL_TOL_M)
            if sel:
                return [solid[i] for i in sel], "lod2_base", None
        roofs = _lod2_surfaces(unit, A.ROOF)
        polys = [p for s in roofs for p in _surface_polygons(s[1])]
        if polys:
            return polys, "lod2_roofs", None
    if lod is not None:
        return [], None, f"no LOD{lod} geometry"
    return [], None, "no footprint geometry (no LOD0, LOD1 or LOD2 polygons)"


def _all_units(unit) -> list:
    out = []
    for p in unit.parts:
        out.append(p)
        out.extend(_all_units(p))
    return out


# --------------------------------------------------------------------------------------------
# per-mode row builders


class _FileReader:
    def __init__(self, src: GMLSource, opts: ReadOptions, result: FileResult, reader: A.AttributeReader):
        self.src, self.opts, self.res, self.attrs = src, opts, result, reader

    # buildings ---------------------------------------------------------------------------
    def buildings(self, el) -> None:
        unit = self.attrs.read(el)
        parts = _all_units(unit)
        for p in reversed(parts):
            A.merge_parts(p)
        A.merge_parts(unit)
        units = [unit] + parts
        geoms = [self._unit_geometry(u) for u in units]
        # merged building row: footprints of the building and all parts, heights over all
        polys, issues, sources = [], [], []
        ground, roof, lod = math.inf, -math.inf, None
        for u, (p, src, issue, g, r) in zip(units, geoms):
            polys.extend(p)
            if src:
                sources.append(src)
            if issue:
                issues.append(issue)
            ground, roof = min(ground, g), max(roof, r)
            ul = u.has_lod
            if ul is not None and (lod is None or ul > lod):
                lod = ul
        issue = None if polys else (issues[-1] if issues else "no footprint geometry")
        src = "+".join(sorted(set(sources))) if sources else None
        if len(units) > 1 and len(polys) > 1:
            src = (src or "") + "+parts"
        self._add_row(unit, polys, issue, ground, roof, lod, src, None)
        if self.opts.parts:
            for u, (p, psrc, pissue, g, r) in zip(units[1:], geoms[1:]):
                self._add_row(u, p, pissue, g, r, u.has_lod, psrc, unit.gml_id)

    def _unit_geometry(self, unit):
        try:
            polys, src, issue = _footprint_polys(unit, self.opts.lod)
            ground, roof = _unit_heights(unit)
        except (_Skip, ValueError) as exc:
            return [], None, f"unreadable geometry: {exc}", math.inf, -math.inf
        return polys, src, issue, ground, roof

    def _add_row(self, unit, polys, issue, ground, roof, lod, src, parent_id):
        res = self.res
        n_before = len(res.rings)
        rep = (math.nan, math.nan)
        for rings in polys:
            for ring in rings:
                res.rings.append(ring[:, 1::-1])  # lat, lon -> lon, lat
            res.ring_counts.append(len(rings))
        if polys:
            ext = res.rings[n_before]
            rep = (float(ext[:-1, 0].mean()), float(ext[:-1, 1].mean()))
        res.poly_counts.append(len(polys))
        res.rep_lonlat.append(rep)
        res.rows.append(
            (
                unit.gml_id, unit.building_id, unit.city_code, unit.name, unit.usage_code,
                unit.measured_height_m, unit.storeys_above_ground, unit.storeys_below_ground,
                unit.year_of_construction, unit.total_floor_area_m2, unit.structure_code,
                unit.flood_depth_m, unit.flood_rank_code, unit.tsunami_depth_m, unit.landslide, lod,
                ground if ground < math.inf else math.nan, roof if roof > -math.inf else math.nan,
                issue, unit.usage_cs, unit.structure_cs, unit.flood_rank_cs, parent_id, src,
            )
        )  # fmt: skip

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

    def _unit_roofs(self, unit):
        out = []
        roofs = _lod2_surfaces(unit, A.ROOF)
        if roofs:
            for _, surface, _lod in roofs:
                sid = surface.get(A.T_ID)
                for poly in _SURFACE_POLYGONS(surface):
                    rings = _polygon(poly)
                    if rings is not None:
                        out.append((poly.get(A.T_ID) or sid, "lod2", rings))
            return out
        if unit.lod2solid is not None:
            for poly in _POLYGONS(unit.lod2solid):
                rings = _polygon(poly)
                if rings is not None and _upward(rings) > ROOF_MIN_NZ:
                    out.append((poly.get(A.T_ID), "lod2", rings))
            if out:
                return out
        if unit.lod1 is not None:
            polys = _polygons(unit.lod1)
            for i in level_polygons(polys, "top", LEVEL_TOL_M):
                out.append((None, "lod1", polys[i]))
        return out

    def _add_polygon_row(self, row, rings, city):
        res = self.res
        for ring in rings:
            res.rings.append(ring[:, [1, 0, 2]])
        res.ring_counts.append(len(rings))
        res.poly_counts.append(1)
        ext = rings[0]
        res.rep_lonlat.append((float(ext[:-1, 1].mean()), float(ext[:-1, 0].mean())))
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
                g, r = _unit_heights(u)
            except (_Skip, ValueError) as exc:
                log.warning("%s: building %s: solid geometry skipped (%s)", self.src.label, unit.gml_id, exc)
                continue
            polys.extend(shell)
            if lod is not None:
                lods.append(lod)
            ground, roof = min(ground, g), max(roof, r)
        res = self.res
        n_before = len(res.rings)
        for rings in polys:
            for ring in rings:
                res.rings.append(ring[:, [1, 0, 2]])
            res.ring_counts.append(len(rings))
        res.poly_counts.append(len(polys))
        if polys:
            ext = res.rings[n_before]
            res.rep_lonlat.append((float(ext[:-1, 0].mean()), float(ext[:-1, 1].mean())))
        else:
            res.rep_lonlat.append((math.nan, math.nan))
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
            return [p for s in surfaces for p in _surface_polygons(s[1])], 2
        if unit.lod2solid is not None:
            polys = _polygons(unit.lod2solid)
            if polys:
                return polys, 2
        if unit.lod1 is not None:
            return _polygons(unit.lod1), 1
        return [], None


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
    if b"<!ENTITY" in header:
        raise CityGMLError(
            src.label,
            "the file declares XML entities (<!ENTITY>); PLATEAU CityGML never does, and they are refused "
            "to rule out entity-expansion and external-entity attacks",
        )
    try:
        return detect_version(header)
    except ValueError as exc:
        raise UnsupportedCityGMLError(src.label, str(exc)) from None


def read_file(src: GMLSource, opts: ReadOptions, progress_cb=None) -> FileResult:
    """Parse one CityGML file into a :class:`FileResult`; errors are returned, not raised."""
    t0 = time.perf_counter()
    res = FileResult(label=src.label, nbytes=src.size)
    try:
        header = src.read_header(HEADER_BYTES)
        detected = _check_header(src, header)
        res.version = detected.spec.name if detected.spec else None
        res.codelist_dirs = find_codelist_dirs(src) if opts.mode == "buildings" else []
        handler = _FileReader(src, opts, res, A.AttributeReader(detected.spec))
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
                member.clear()
                parent = member.getparent()
                while member.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", None) or str(exc)
        res.error = ("CityGMLError", src.label, f"not well-formed XML: {msg}", line)
    except UnsupportedCityGMLError as exc:
        res.error = ("UnsupportedCityGMLError", src.label, exc.reason, exc.line)
    except CityGMLError as exc:
        res.error = ("CityGMLError", src.label, exc.reason, exc.line)
    except OSError as exc:
        res.error = ("CityGMLError", src.label, f"cannot read the file: {exc}", None)
    if res.error is not None:
        res.rows, res.rings, res.ring_counts, res.poly_counts = [], [], [], []
        res.rep_lonlat, res.city_codes = [], []
    res.seconds = time.perf_counter() - t0
    return res


def error_from_result(res: FileResult) -> CityGMLError:
    kind, path, reason, line = res.error
    cls = UnsupportedCityGMLError if kind == "UnsupportedCityGMLError" else CityGMLError
    return cls(path, reason, line=line)


# --------------------------------------------------------------------------------------------
# many files


def _worker(args):
    src, opts = args
    return read_file(src, opts)


def default_processes(sources: list[GMLSource]) -> int:
    """Processes to use when ``processes=None``: several only for several large files."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    total = sum(s.size for s in sources)
    if cpus < 2 or len(sources) < PARALLEL_MIN_FILES or total < PARALLEL_MIN_BYTES:
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
