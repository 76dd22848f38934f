"""A synthetic PLATEAU district around Numazu Station, written as real-looking CityGML.

:func:`make_district` writes a dataset laid out like an official PLATEAU v4 download
(CityGML 2.0 + i-UR 3.1, ``udx/bldg/<mesh>_bldg_6697_op.gml`` plus ``codelists/*.xml``):

- a street grid of blocks and plots around the station (35.1025 N, 138.8600 E), denser and
  taller near the station: offices, shops and a few 30-60 m towers in the core, apartments
  and shop-houses around it, mostly two-storey detached houses further out;
- every building has LOD0 (``bldg:lod0RoofEdge``) and a closed LOD1 box solid; a share of
  them also LOD2 (``bldg:lod2Solid`` + ``bldg:boundedBy`` Roof/Wall/GroundSurface) with gable,
  hip, shed or flat roofs (L-shaped footprints get flat roofs);
- i-UR 3.1 attributes: ``uro:buildingDetailAttribute``, ``uro:bldgDisasterRiskAttribute``
  (river flooding of the Kano River, L1 and L2 scenarios, for low-lying buildings; tsunami near
  the Suruga Bay shore), ``uro:buildingIDAttribute`` (``22203-bldg-<n>``) and
  ``uro:bldgDataQualityAttribute``.

The returned :class:`DistrictSample` carries a ``truth`` table of what was written, so tests
and benchmarks can check a reader against it. Everything is synthetic: positions of the river
and the shore are rough, ground heights and flood depths are made up to look plausible, and
nothing here is hazard information for Numazu.

Geometry is designed in metres on a local transverse Mercator plane centred on the district
and converted to JGD2011 latitude/longitude (EPSG:6697 order: latitude, longitude, height)
with pyproj. XML is produced from string templates, one chunk of buildings at a time, so
100,000 buildings take seconds and memory stays bounded.

References
----------
- MLIT, 3D都市モデル標準製品仕様書 (PLATEAU product specification) 第4.0版, 2024: element
  names, code lists (Building_usage, RiverFloodingRiskAttribute_rank, ...).
- Statistics Bureau of Japan, 地域メッシュ統計の概要 (standard grid square codes), for
  :func:`mesh_code`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import uuid
import zipfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from numazu_geo.citygml.mesh import mesh_bounds, mesh_code  # re-exported: the one mesh-code module
from numazu_geo.io import atomic_path

log = logging.getLogger(__name__)

__all__ = ["DistrictSample", "make_district", "mesh_code", "mesh_bounds", "ROOF_TYPES"]

# --------------------------------------------------------------------------------------------
# Constants (sources in comments)
# --------------------------------------------------------------------------------------------

#: Numazu Station, approximately (the project brief's figure; not surveyed).
NUMAZU_STATION_LAT = 35.1025
NUMAZU_STATION_LON = 138.8600
#: Municipality code of Numazu-shi and prefecture code of Shizuoka (総務省 全国地方公共団体コード).
CITY_CODE = "22203"
PREFECTURE_CODE = "22"
#: Spec namespaces of PLATEAU v4 (i-UR 3.1 on CityGML 2.0), as in the official 2024 files.
URO_NS = "https://www.geospatial.jp/iur/uro/3.1"
#: Date written into core:creationDate (a fixed date, so output is reproducible).
CREATION_DATE = "2024-03-29"
#: Year written into uro:surveyYear (an assumed 都市計画基礎調査 survey year; synthetic).
SURVEY_YEAR = 2021

#: The Kano River (狩野川) through central Numazu to its mouth, (lat, lon): a rough sketch of its
#: course written from general knowledge of the city, NOT traced from a map. Only used to keep
#: plots out of the river and to make flood depths fall off with distance.
KANO_RIVER_LATLON = (
    (35.1170, 138.8830),
    (35.1080, 138.8760),
    (35.1010, 138.8700),
    (35.0965, 138.8625),
    (35.0920, 138.8560),
    (35.0870, 138.8510),
)
#: Half the width given to the river in the sample (~120 m wide; a rough assumption).
KANO_RIVER_HALF_WIDTH_M = 60.0
#: The Suruga Bay shore near Numazu (千本浜 to 我入道), (lat, lon): a rough sketch, not traced from a map.
SHORE_LATLON = (
    (35.0780, 138.8000),
    (35.0835, 138.8350),
    (35.0860, 138.8560),
    (35.0815, 138.8700),
    (35.0700, 138.8820),
)

#: No plots on the beach / sea wall strip along the shore (synthetic).
BEACH_WIDTH_M = 80.0
#: Street grid (synthetic): block pitch along the two grid axes, street width, grid rotation.
BLOCK_PITCH_A_M = 100.0
BLOCK_PITCH_B_M = 64.0
STREET_WIDTH_M = 8.0
GRID_ROTATION_DEG = 17.0
#: Zone radii from the station: commercial core and mixed ring (synthetic).
CORE_RADIUS_M = 110.0
MIXED_RADIUS_M = 320.0

#: Roof pitch ranges (synthetic). Common Japanese house pitches are around 4寸-6寸 (21.8-31.0 deg,
#: rise per 10 sun of run); the sample uses 20-35 deg for gable/hip and a lower 12-22 deg for shed
#: (片流れ) roofs.
PITCHED_ROOF_PITCH_DEG = (20.0, 35.0)
SHED_ROOF_PITCH_DEG = (12.0, 22.0)
#: Largest rise (m) of a pitched roof, unless the pitch range forces more: keeps two-storey
#: houses at 6-9.5 m (typical; e.g. a 2-storey house in the PLATEAU Osaka 2024 sample measures 7.0 m).
MAX_ROOF_RISE_M = 2.8
#: Widest footprint (m, across the slope) that gets a pitched roof in the sample.
MAX_PITCHED_WIDTH_M = 14.0
#: Storey heights (m): wooden houses ~2.9 m, apartments ~3.0 m, offices/shops ~3.6 m (assumed
#: typical values; cf. PLATEAU code list DataQualityAttribute_lod1HeightType code 9, which
#: estimates heights as 3 m x storeys).
STOREY_HEIGHT_HOUSE_M = 2.9
STOREY_HEIGHT_APARTMENT_M = 3.0
STOREY_HEIGHT_COMMERCIAL_M = 3.6

#: Building_roofType codes (PLATEAU code list): 切妻 1, 寄棟 2, 陸屋根 4, 片流れ 5.
ROOF_TYPES = {"gable": "1", "hip": "2", "flat": "4", "shed": "5"}

#: Depth thresholds of RiverFloodingRiskAttribute_rank / TsunamiRiskAttribute_rank codes 1-6
#: (0.5 m, 3 m, 5 m, 10 m, 20 m; PLATEAU code lists, 2024).
FLOOD_RANK_EDGES_M = (0.5, 3.0, 5.0, 10.0, 20.0)

_FLOOR_AREA_FACTOR = (0.85, 1.0)  # total floor area / (footprint x storeys), synthetic

_ZONE_NAMES = ("core", "mixed", "residential")
# usage code probabilities per zone (synthetic, chosen by hand to look like a Japanese station district)
_USAGE_BY_ZONE = (
    (("401", 0.30), ("402", 0.28), ("403", 0.10), ("404", 0.17), ("412", 0.08), ("414", 0.07)),
    (("411", 0.60), ("412", 0.14), ("413", 0.10), ("414", 0.04), ("402", 0.08), ("401", 0.04)),
    (("411", 0.82), ("412", 0.11), ("413", 0.03), ("402", 0.03), ("401", 0.01)),
)
_COMMERCIAL = {"401", "402", "403", "404"}
#: Usage of the public buildings ``make_district(public_buildings=k)`` adds: 422 文教厚生施設
#: (schools, community halls), the usage that serves as a shelter by default (numazu_geo.energy).
_PUBLIC_USAGE = "422"
_APARTMENT = {"412", "414"}

# --------------------------------------------------------------------------------------------
# Code lists written next to the data (labels written for this sample; codes are PLATEAU's)
# --------------------------------------------------------------------------------------------

_CODELISTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Building_class": (("3000", "分類しない建物"), ("3001", "普通建物"), ("3002", "堅ろう建物"),
                       ("3003", "普通無壁舎"), ("3004", "堅ろう無壁舎")),
    "Building_usage": (
        ("401", "業務施設"), ("402", "商業施設"), ("403", "宿泊施設"), ("404", "商業系複合施設"),
        ("411", "住宅"), ("412", "共同住宅"), ("413", "店舗等併用住宅"), ("414", "店舗等併用共同住宅"),
        ("415", "作業所併用住宅"), ("421", "官公庁施設"), ("422", "文教厚生施設"), ("431", "運輸倉庫施設"),
        ("441", "工場"), ("451", "農林漁業用施設"), ("452", "供給処理施設"), ("453", "防衛施設"),
        ("454", "その他"), ("461", "不明"),
    ),
    "Building_roofType": (("1", "切妻屋根"), ("2", "寄棟屋根"), ("3", "方形屋根"), ("4", "陸屋根"),
                          ("5", "片流れ屋根"), ("99", "その他")),
    "BuildingDetailAttribute_buildingStructureType": (
        ("601", "木造・土蔵造"), ("602", "鉄骨鉄筋コンクリート造"), ("603", "鉄筋コンクリート造"),
        ("604", "鉄骨造"), ("605", "軽量鉄骨造"), ("606", "レンガ造・コンクリートブロック造・石造"),
        ("610", "非木造"), ("611", "不明"),
    ),
    "RiverFloodingRiskAttribute_description": (("1", "狩野川水系狩野川"),),
    "RiverFloodingRiskAttribute_rank": (
        ("1", "0.5m未満"), ("2", "0.5m以上3m未満"), ("3", "3m以上5m未満"), ("4", "5m以上10m未満"),
        ("5", "10m以上20m未満"), ("6", "20m以上"),
    ),
    "RiverFloodingRiskAttribute_adminType": (("1", "国"), ("2", "都道府県")),
    "RiverFloodingRiskAttribute_scale": (("1", "L1（計画規模）"), ("2", "L2（想定最大規模）")),
    "TsunamiRiskAttribute_description": (("1", "静岡県津波浸水想定（サンプル）"),),
    "TsunamiRiskAttribute_rank": (
        ("1", "0.5m未満"), ("2", "0.5m以上3m未満"), ("3", "3m以上5m未満"), ("4", "5m以上10m未満"),
        ("5", "10m以上20m未満"), ("6", "20m以上"),
    ),
    "Common_localPublicAuthorities": (("22", "静岡県"), ("22203", "静岡県沼津市")),
    "DataQualityAttribute_geometrySrcDesc": (("000", "公共測量成果又は基本測量成果"),
                                             ("112", "航空レーザ測量の測量成果")),
    "DataQualityAttribute_thematicSrcDesc": (("000", "公共測量成果又は基本測量成果"),
                                             ("201", "都市計画基礎調査")),
    "DataQualityAttribute_lod1HeightType": (("1", "点群から取得_最高高さ"), ("2", "点群から取得_中央値")),
}

# --------------------------------------------------------------------------------------------
# Grid square (mesh) codes
# --------------------------------------------------------------------------------------------


def street_grid(center_lat: float = NUMAZU_STATION_LAT, center_lon: float = NUMAZU_STATION_LON) -> dict:
    """The sample district's street grid, for tools that place things on its streets (e.g. synthetic GPS tracks).

    Street centre lines run at ``a = (i + 0.5) * pitch_a_m`` and ``b = (j + 0.5) * pitch_b_m``
    (integers ``i``, ``j``) in the grid frame (a, b), metres; the frame is rotated by
    ``rotation_deg`` (counter-clockwise) on the local plane ``local_crs`` centred on the district:
    ``x = a cos(r) - b sin(r)``, ``y = a sin(r) + b cos(r)``. Block (0, 0) is the station square.
    """
    return {"local_crs": _local_crs(center_lat, center_lon), "pitch_a_m": BLOCK_PITCH_A_M,
            "pitch_b_m": BLOCK_PITCH_B_M, "street_width_m": STREET_WIDTH_M, "rotation_deg": GRID_ROTATION_DEG}


# --------------------------------------------------------------------------------------------
# Result type
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class DistrictSample:
    """What :func:`make_district` wrote.

    Attributes
    ----------
    path : Path
        The dataset folder (holding ``udx/bldg`` and ``codelists``), the single ``.gml`` file
        (``one_file=True``) or the zip (``as_zip=True``).
    truth : pandas.DataFrame
        One row per building as written (see :func:`make_district`).
    files : list of str
        The CityGML files, relative to the dataset root (or zip members).
    bbox : tuple
        (west_lon, south_lat, east_lon, north_lat) of all footprints, degrees.
    local_crs : str
        PROJ string of the local plane the district was designed on (``x_m``/``y_m`` in truth).
    bytes_written : int
        Total size of the CityGML written (uncompressed).
    """

    path: Path
    truth: pd.DataFrame
    files: list
    bbox: tuple
    local_crs: str
    bytes_written: int
    seed: int
    #: the place-context files (streets and station square ``udx/tran``, river, sea and port ``udx/wtr``)
    context_files: list = dataclasses.field(default_factory=list)
    #: written with ``relief=True``: the dem file (relative to the dataset root, or zip member)
    terrain_file: str | None = None
    #: written with ``trees=True``: the veg file, and one row per tree (``gml_id``, ``x_m``, ``y_m``
    #: on ``local_crs``, ``lat``, ``lon``, ``ground_z_m``, ``height_m``, ``crown_radius_m``)
    vegetation_file: str | None = None
    trees: pd.DataFrame | None = None

    @property
    def n_buildings(self) -> int:
        return len(self.truth)

    def __repr__(self) -> str:  # short, for notebooks
        return (f"DistrictSample(path={str(self.path)!r}, n_buildings={self.n_buildings}, "
                f"files={len(self.files)}, seed={self.seed})")


# --------------------------------------------------------------------------------------------
# Layout: blocks, plots, building parameters (vectorised)
# --------------------------------------------------------------------------------------------


def _local_crs(center_lat: float, center_lon: float) -> str:
    return (f"+proj=tmerc +lat_0={center_lat!r} +lon_0={center_lon!r} +k=1 +x_0=0 +y_0=0 "
            "+ellps=GRS80 +units=m +no_defs")


def _transformers(local: str):
    from pyproj import Transformer

    to_geo = Transformer.from_crs(local, "EPSG:6668", always_xy=True)
    to_local = Transformer.from_crs("EPSG:6668", local, always_xy=True)
    return to_geo, to_local


def _polyline_distance(x, y, line_xy: np.ndarray) -> np.ndarray:
    """Distance (m) of points to a polyline (vectorised over points)."""
    best = np.full(np.shape(x), np.inf)
    for (x0, y0), (x1, y1) in zip(line_xy[:-1], line_xy[1:]):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        best = np.minimum(best, np.hypot(x - (x0 + t * dx), y - (y0 + t * dy)))
    return best


def _plots(n: int, rng: np.random.Generator, on_water=None) -> dict[str, np.ndarray]:
    """At least ``n`` plots on the street grid, nearest to the station first.

    Plots are axis-aligned rectangles in the grid frame (a, b) in metres; the block at the
    origin is the station square and holds no buildings. ``on_water(a, b) -> bool array``
    drops plots whose centre lies in the river or the sea.
    """
    inner_a = BLOCK_PITCH_A_M - STREET_WIDTH_M
    inner_b = BLOCK_PITCH_B_M - STREET_WIDTH_M
    k = max(2, int(math.ceil(math.sqrt(n / 6.0))) + 2)
    while True:
        ii, jj = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1), indexing="ij")
        ca = ii.ravel() * BLOCK_PITCH_A_M
        cb = jj.ravel() * BLOCK_PITCH_B_M
        order = np.lexsort((jj.ravel(), ii.ravel(), np.round(np.hypot(ca, cb), 6)))
        rows = []
        count = 0
        for bi in order:
            a0, b0 = ca[bi], cb[bi]
            r = math.hypot(a0, b0)
            if r == 0.0:
                continue  # station square
            zone = 0 if r < CORE_RADIUS_M else (1 if r < MIXED_RADIUS_M else 2)
            ea, eb = a0 - inner_a / 2, b0 - inner_b / 2
            if zone == 0:
                ncol = int(rng.integers(2, 4))
                nrow = int(rng.integers(1, 3))
                widths = np.full(ncol, inner_a / ncol)
                depths = np.full(nrow, inner_b / nrow)
            else:
                wmin, wmax = (13.0, 22.0) if zone == 1 else (12.0, 17.0)
                widths = []
                left = inner_a
                while left > wmax + wmin:
                    w = float(rng.uniform(wmin, wmax))
                    widths.append(w)
                    left -= w
                widths.append(left) if left <= wmax else widths.extend([left / 2, left / 2])
                widths = np.asarray(widths)
                depths = np.full(2, inner_b / 2)
            aa = ea + np.concatenate([[0.0], np.cumsum(widths)])
            bb = eb + np.concatenate([[0.0], np.cumsum(depths)])
            new = [(aa[pa], aa[pa + 1], bb[pb], bb[pb + 1], zone)
                   for pb in range(len(depths)) for pa in range(len(widths))]
            if on_water is not None:
                mid = np.asarray(new)
                wet = on_water((mid[:, 0] + mid[:, 1]) / 2, (mid[:, 2] + mid[:, 3]) / 2)
                new = [r for r, w in zip(new, wet) if not w]
            rows.extend(new)
            count += len(new)
            if count >= n:
                break
        if count >= n:
            arr = np.asarray(rows[:n], dtype=float)
            return {"a0": arr[:, 0], "a1": arr[:, 1], "b0": arr[:, 2], "b1": arr[:, 3],
                    "zone": arr[:, 4].astype(np.int8)}
        k *= 2


def _choose(u: np.ndarray, options: Sequence[tuple[str, float]]) -> np.ndarray:
    codes = np.array([c for c, _ in options])
    p = np.array([w for _, w in options], dtype=float)
    cum = np.cumsum(p / p.sum())
    return codes[np.minimum(np.searchsorted(cum, u, side="right"), len(codes) - 1)]


def _rank(depth: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(FLOOD_RANK_EDGES_M), depth, side="right") + 1


def _design(n: int, seed: int, center_lat: float, center_lon: float, lod2_share: float, public_buildings: int = 0,
            relief: bool = False) -> dict:
    """Every building's parameters as arrays (nothing is written here)."""
    rng = np.random.default_rng(seed)
    local = _local_crs(center_lat, center_lon)
    to_geo, to_local = _transformers(local)
    river = np.array([to_local.transform(lo, la) for la, lo in KANO_RIVER_LATLON])
    shore = np.array([to_local.transform(lo, la) for la, lo in SHORE_LATLON])
    g = np.radians(GRID_ROTATION_DEG)

    def on_water(a, b):
        x, y = a * math.cos(g) - b * math.sin(g), a * math.sin(g) + b * math.cos(g)
        in_sea = y < np.interp(x, shore[:, 0], shore[:, 1]) + BEACH_WIDTH_M
        return in_sea | (_polyline_distance(x, y, river) < KANO_RIVER_HALF_WIDTH_M + 15.0)

    plots = _plots(n, rng, on_water)
    U = rng.random((n, 24))
    zone = plots["zone"]
    core, mixed, res = zone == 0, zone == 1, zone == 2

    usage = np.empty(n, dtype="<U3")
    for z, opts in enumerate(_USAGE_BY_ZONE):
        m = zone == z
        usage[m] = _choose(U[m, 0], opts)
    if public_buildings:  # outside the core, picked by a column no other attribute uses (same stream)
        cand = np.nonzero(~core)[0]
        usage[cand[np.argsort(U[cand, 23], kind="stable")[: int(public_buildings)]]] = _PUBLIC_USAGE
    comm = np.isin(usage, list(_COMMERCIAL | {_PUBLIC_USAGE}))
    apt = np.isin(usage, list(_APARTMENT))
    house = ~(comm | apt)
    tall = core & comm & (U[:, 1] < 0.18)

    # plot size (grid frame) and the room left after setbacks
    margin = np.where(core, 2.0, np.where(mixed, 1.2, 1.0))
    avail_a = plots["a1"] - plots["a0"] - 2 * margin
    avail_b = plots["b1"] - plots["b0"] - 2 * margin
    long_along_a = avail_a >= avail_b
    avail_long = np.maximum(avail_a, avail_b)
    avail_short = np.minimum(avail_a, avail_b)

    # target footprint (long side L0, short side W0)
    W0 = np.empty(n)
    A = np.empty(n)
    W0[house] = 6.5 + 3.0 * U[house, 2]
    A[house] = np.where(usage[house] == "413", 70.0 + 90.0 * U[house, 3], 60.0 + 90.0 * U[house, 3])
    W0[apt] = 8.0 + 6.0 * U[apt, 2]
    A[apt] = np.where(res[apt], 120.0 + 180.0 * U[apt, 3], 180.0 + 320.0 * U[apt, 3])
    W0[comm] = 9.0 + 6.0 * U[comm, 2]
    A[comm] = 120.0 + 300.0 * U[comm, 3]
    L0 = np.maximum(A / W0, W0 * 1.05)
    big = core & (comm | apt)
    L0[big] = avail_long[big] * (0.70 + 0.25 * U[big, 3])
    W0[big] = avail_short[big] * (0.60 + 0.30 * U[big, 2])

    max_jit = np.where(core, 2.0, np.where(mixed, 4.0, 6.0))
    jit = np.radians((U[:, 4] - 0.5) * 2.0 * max_jit)
    cj, sj = np.cos(np.abs(jit)), np.sin(np.abs(jit))
    e_long = L0 * cj + W0 * sj
    e_short = L0 * sj + W0 * cj
    s = np.minimum(1.0, np.minimum(avail_long / e_long, avail_short / e_short))
    L0, W0, e_long, e_short = L0 * s, W0 * s, e_long * s, e_short * s
    off_long = (U[:, 5] - 0.5) * 2.0 * 0.9 * (avail_long - e_long) / 2.0
    off_short = (U[:, 6] - 0.5) * 2.0 * 0.9 * (avail_short - e_short) / 2.0
    ca = (plots["a0"] + plots["a1"]) / 2 + np.where(long_along_a, off_long, off_short)
    cb = (plots["b0"] + plots["b1"]) / 2 + np.where(long_along_a, off_short, off_long)

    # L-shaped footprints
    p_l = np.where(house, 0.12, np.where(apt, 0.20, 0.30))
    l_shape = (U[:, 7] < p_l) & ~tall

    # roof forms
    narrow = (W0 <= MAX_PITCHED_WIDTH_M) & ~l_shape & ~tall
    roof = np.full(n, "flat", dtype="<U5")
    h_roof = _choose(U[:, 8], (("gable", 0.45), ("hip", 0.30), ("shed", 0.12), ("flat", 0.13)))
    a_roof = _choose(U[:, 8], (("flat", 0.60), ("gable", 0.25), ("shed", 0.15)))
    c_roof = _choose(U[:, 8], (("flat", 0.85), ("shed", 0.10), ("gable", 0.05)))
    roof = np.where(narrow & house, h_roof, roof)
    roof = np.where(narrow & apt, a_roof, roof)
    roof = np.where(narrow & comm, c_roof, roof)
    roof = np.where((roof == "hip") & (L0 < 1.2 * W0), "gable", roof)
    lod = np.where(U[:, 9] < lod2_share, 2, 1).astype(np.int8)
    # make sure a district of a useful size shows every LOD2 roof form
    if n >= 20:
        forms = ("gable", "hip", "shed", "flat")
        for form in forms:
            if np.any((roof == form) & (lod == 2)):
                continue
            keep = [f for f in forms if np.sum((roof == f) & (lod == 2)) <= 1]  # sole examples stay
            cand = np.flatnonzero(narrow & (L0 >= 1.3 * W0) & ~np.isin(roof, keep))
            if len(cand):
                roof[cand[0]] = form
                lod[cand[0]] = 2
    pitch = np.where(roof == "shed", SHED_ROOF_PITCH_DEG[0] + (SHED_ROOF_PITCH_DEG[1] - SHED_ROOF_PITCH_DEG[0]) * U[:, 10],
                     PITCHED_ROOF_PITCH_DEG[0] + (PITCHED_ROOF_PITCH_DEG[1] - PITCHED_ROOF_PITCH_DEG[0]) * U[:, 10])
    pitch = np.where(roof == "flat", 0.0, np.round(pitch, 1))

    # which footprint axis is the building's u axis (ridge axis for gable/hip; shed slopes along v)
    u_is_long = np.where(roof == "gable", (U[:, 11] < 0.8) | (L0 > 12.0),
                         np.where(roof == "shed", (U[:, 11] < 0.5) | (L0 > 12.0), True))
    L = np.where(u_is_long, L0, W0)
    W = np.where(u_is_long, W0, L0)
    # keep the roof rise of houses in proportion (at most MAX_ROOF_RISE_M), never below the range
    run = np.where(roof == "shed", W, W / 2)
    cap = np.degrees(np.arctan(MAX_ROOF_RISE_M / run))
    low = np.where(roof == "shed", SHED_ROOF_PITCH_DEG[0], PITCHED_ROOF_PITCH_DEG[0])
    pitch = np.where(roof == "flat", 0.0, np.round(np.minimum(pitch, np.maximum(cap, low)), 1))
    u_along_a = long_along_a == u_is_long
    flip = U[:, 12] < 0.5
    rot = np.radians(GRID_ROTATION_DEG) + np.where(u_along_a, 0.0, np.pi / 2) + jit + np.where(flip, np.pi, 0.0)
    notch_l = np.where(l_shape, L * (0.30 + 0.25 * U[:, 13]), 0.0)
    notch_w = np.where(l_shape, W * (0.30 + 0.25 * U[:, 14]), 0.0)
    area = L * W - notch_l * notch_w

    # storeys and heights
    storeys = np.ones(n, dtype=np.int64)
    storeys[house] = np.where(U[house, 15] < 0.10, 1, np.where(U[house, 15] < 0.88, 2, 3))
    storeys[house & (usage == "413")] = 2 + (U[house & (usage == "413"), 15] < 0.4)
    storeys[apt & res] = 2 + (U[apt & res, 15] < 0.4)
    storeys[apt & mixed] = 3 + np.floor(5 * U[apt & mixed, 15]).astype(np.int64)
    storeys[apt & core] = 5 + np.floor(6 * U[apt & core, 15]).astype(np.int64)
    storeys[comm & core] = 3 + np.floor(8 * U[comm & core, 15]).astype(np.int64)
    storeys[comm & ~core] = 1 + np.floor(4 * U[comm & ~core, 15]).astype(np.int64)
    floor_h = np.where(house, STOREY_HEIGHT_HOUSE_M, np.where(apt, STOREY_HEIGHT_APARTMENT_M,
                                                              STOREY_HEIGHT_COMMERCIAL_M))
    wall_h = storeys * floor_h + 0.3 + 0.4 * U[:, 16]
    rise = np.where(roof == "shed", W * np.tan(np.radians(pitch)),
                    np.where(roof == "flat", 0.0, W / 2 * np.tan(np.radians(pitch))))
    height = np.round(wall_h + rise, 1)
    height[tall] = np.round(30.0 + 30.0 * U[tall, 17], 1)
    storeys[tall] = np.round(height[tall] / 3.7).astype(np.int64)
    below = np.where(tall, 1 + (U[:, 18] < 0.3), np.where(core & comm, (U[:, 18] < 0.3).astype(int), 0))

    # place on the earth
    x = ca * math.cos(g) - cb * math.sin(g)
    y = ca * math.sin(g) + cb * math.cos(g)
    lon_c, lat_c = to_geo.transform(x, y)
    lon_c, lat_c = np.asarray(lon_c), np.asarray(lat_c)

    d_river = _polyline_distance(x, y, river)
    d_shore = _polyline_distance(x, y, shore)
    # ground: rising gently inland, a little lower along the river, a gentle undulation
    ground = (1.8 + 0.0025 * np.minimum(d_shore, 6000.0) - 2.0 * np.exp(-d_river / 400.0)
              + 0.5 * np.sin(x / 230.0) * np.cos(y / 190.0))
    hill = _hill_parameters(x, y) if relief else None
    ground = ground + _hill_z(x, y, hill)
    ground = np.round(ground, 3)
    lvl_l2 = 7.6 - d_river / 300.0  # water level (m above MSL) of the L2 scenario, synthetic
    lvl_l1 = 6.0 - d_river / 300.0  # ... and of the L1 (planned-scale) scenario
    flood_l2 = np.round(lvl_l2 - ground, 3)
    flood_l1 = np.round(lvl_l1 - ground, 3)
    flood_l2 = np.where(flood_l2 >= 0.01, flood_l2, np.nan)
    flood_l1 = np.where((flood_l1 >= 0.01) & ~np.isnan(flood_l2), np.minimum(flood_l1, flood_l2), np.nan)
    tsu = np.round(7.5 - d_shore / 350.0 - ground, 3)
    tsu = np.where(tsu >= 0.01, tsu, np.nan)

    # attributes
    has_year = U[:, 19] < 0.4
    year = np.where(tall, 1985 + np.floor(37 * U[:, 20]), 1965 + np.floor(57 * U[:, 20])).astype(np.int64)
    struct = np.where(house, _choose(U[:, 21], (("601", 0.85), ("605", 0.15))),
                      np.where(apt, _choose(U[:, 21], (("603", 0.5), ("605", 0.3), ("601", 0.2))),
                               _choose(U[:, 21], (("603", 0.5), ("604", 0.35), ("602", 0.15)))))
    struct = np.where(tall, _choose(U[:, 21], (("602", 0.4), ("603", 0.6))), struct)
    bclass = np.where(np.isin(struct, ["602", "603"]), "3002", "3001")
    floor_area = np.round(area * storeys * (_FLOOR_AREA_FACTOR[0]
                                            + (_FLOOR_AREA_FACTOR[1] - _FLOOR_AREA_FACTOR[0]) * U[:, 22]), 2)

    ids = rng.bytes(16 * n)
    gml_id = [f"bldg_{uuid.UUID(bytes=ids[16 * i:16 * i + 16], version=4)}" for i in range(n)]
    building_id = [f"{CITY_CODE}-bldg-{i + 1}" for i in range(n)]
    rot_deg = np.degrees(rot)
    ridge_az = np.where(np.isin(roof, ["gable", "hip"]), np.mod(90.0 - rot_deg, 180.0), np.nan)
    shed_az = np.where(roof == "shed", np.mod(180.0 - rot_deg, 360.0), np.nan)

    return dict(
        n=n, local=local, to_geo=to_geo, x=x, y=y, rot=rot, L=L, W=W, notch_l=notch_l, notch_w=notch_w,
        l_shape=l_shape, roof=roof, pitch=pitch, lod=lod, usage=usage, storeys=storeys, below=below,
        height=height, ground=ground, rise=rise, area=area, flood_l1=flood_l1, flood_l2=flood_l2, tsunami=tsu,
        has_year=has_year, year=year, struct=struct, bclass=bclass, floor_area=floor_area, gml_id=gml_id,
        building_id=building_id, lat=lat_c, lon=lon_c, zone=zone, tall=tall, ridge_az=ridge_az, shed_az=shed_az,
        river=river, shore=shore, hill=hill,
        names=_landmark_names(usage, height, area, zone),
    )


#: Names given to a few buildings of the sample (gml:name), so that maps have landmarks to label.
#: Invented for the synthetic district; no real building is meant.
LANDMARK_NAMES = {"tallest": "駅前タワー（サンプル）", "largest_shop": "ショッピングセンター（サンプル）",
                  "office": "駅前オフィス（サンプル）"}


def _landmark_names(usage: np.ndarray, height: np.ndarray, area: np.ndarray, zone: np.ndarray) -> list:
    """gml:name of each building: the tallest, the largest shop and the largest public building get one."""
    names = [""] * len(usage)
    if len(usage) < 10:
        return names
    names[int(np.argmax(height))] = LANDMARK_NAMES["tallest"]
    for key, codes in (("largest_shop", ("402", "404")), ("office", ("401",))):
        cand = np.flatnonzero(np.isin(usage, codes) & (np.asarray(names) == ""))
        if len(cand):
            names[int(cand[np.argmax(area[cand])])] = LANDMARK_NAMES[key]
    return names


# --------------------------------------------------------------------------------------------
# Geometry per building (local metres) -> vertices and rings
# --------------------------------------------------------------------------------------------


def _footprint(d: dict, i: int) -> list[tuple[float, float]]:
    """Footprint corners (counter-clockwise seen from above) in the building frame (u, v)."""
    hl, hw = d["L"][i] / 2.0, d["W"][i] / 2.0
    if d["l_shape"][i]:
        nl, nw = d["notch_l"][i], d["notch_w"][i]
        return [(-hl, -hw), (hl, -hw), (hl, hw - nw), (hl - nl, hw - nw), (hl - nl, hw), (-hl, hw)]
    return [(-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw)]


def _building_geometry(d: dict, i: int):
    """Vertices (x, y, z) and polygon rings (vertex indices, closed) of building ``i``.

    Returns ``(verts, lod0, lod1, lod2)``: ``lod0`` one ring, ``lod1`` the solid's rings
    (floor, walls, top; outward normals), ``lod2`` a list of ``(kind, ring)`` with kind
    "ground" / "wall" / "roof", or None for LOD1-only buildings. For flat roofs the LOD2
    rings are the LOD1 rings (same polygons), which callers may exploit.
    """
    cx, cy, r = d["x"][i], d["y"][i], d["rot"][i]
    c, s = math.cos(r), math.sin(r)
    g = float(d["ground"][i])
    top = round(g + float(d["height"][i]), 3)
    fp = _footprint(d, i)
    k = len(fp)
    xy = [(cx + u * c - v * s, cy + u * s + v * c) for u, v in fp]
    verts = [(px, py, 0.0) for px, py in xy] + [(px, py, g) for px, py in xy] + [(px, py, top) for px, py in xy]
    G = list(range(k, 2 * k))
    T = list(range(2 * k, 3 * k))
    floor = [G[0]] + G[:0:-1] + [G[0]]
    walls = [[G[j], G[(j + 1) % k], T[(j + 1) % k], T[j], G[j]] for j in range(k)]
    roof_flat = T + [T[0]]
    lod0 = list(range(k)) + [0]
    lod1 = [floor] + walls + [roof_flat]
    if d["lod"][i] != 2:
        return verts, lod0, lod1, None
    form = d["roof"][i]
    if form == "flat":
        return verts, lod0, lod1, [("ground", floor)] + [("wall", w) for w in walls] + [("roof", roof_flat)]
    hl, hw = d["L"][i] / 2.0, d["W"][i] / 2.0
    eave = round(top - float(d["rise"][i]), 3)
    base = len(verts)
    if form == "shed":
        # low eave along v = -W/2 (E0, E1), high edge along v = +W/2 is the LOD1 top (T2, T3)
        verts += [(xy[0][0], xy[0][1], eave), (xy[1][0], xy[1][1], eave)]
        E0, E1, E2, E3 = base, base + 1, T[2], T[3]
        walls2 = [[G[0], G[1], E1, E0, G[0]], [G[1], G[2], E2, E1, G[1]],
                  [G[2], G[3], E3, E2, G[2]], [G[3], G[0], E0, E3, G[3]]]
        roofs = [[E0, E1, E2, E3, E0]]
    else:
        verts += [(px, py, eave) for px, py in xy]
        E0, E1, E2, E3 = base, base + 1, base + 2, base + 3
        ru = hl - hw if form == "hip" else hl
        verts += [(cx - ru * c, cy - ru * s, top), (cx + ru * c, cy + ru * s, top)]
        R0, R1 = base + 4, base + 5
        if form == "gable":
            walls2 = [[G[0], G[1], E1, E0, G[0]], [G[1], G[2], E2, R1, E1, G[1]],
                      [G[2], G[3], E3, E2, G[2]], [G[3], G[0], E0, R0, E3, G[3]]]
            roofs = [[E0, E1, R1, R0, E0], [E2, E3, R0, R1, E2]]
        else:  # hip
            walls2 = [[G[0], G[1], E1, E0, G[0]], [G[1], G[2], E2, E1, G[1]],
                      [G[2], G[3], E3, E2, G[2]], [G[3], G[0], E0, E3, G[3]]]
            roofs = [[E0, E1, R1, R0, E0], [E1, E2, R1, E1], [E2, E3, R0, R1, E2], [E3, E0, R0, E3]]
    lod2 = [("ground", floor)] + [("wall", w) for w in walls2] + [("roof", rr) for rr in roofs]
    return verts, lod0, lod1, lod2


# --------------------------------------------------------------------------------------------
# XML text
# --------------------------------------------------------------------------------------------

_CL = "../../codelists/"

#: comment written at the top of every file, so that credits can tell synthetic data from PLATEAU's
SYNTHETIC_COMMENT = "<!-- numazu-geo synthetic sample district: not PLATEAU data -->\n"

_HEADER = (
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    + SYNTHETIC_COMMENT
    + "<core:CityModel xmlns:brid=\"http://www.opengis.net/citygml/bridge/2.0\""
    " xmlns:tran=\"http://www.opengis.net/citygml/transportation/2.0\""
    " xmlns:frn=\"http://www.opengis.net/citygml/cityfurniture/2.0\""
    " xmlns:wtr=\"http://www.opengis.net/citygml/waterbody/2.0\""
    " xmlns:sch=\"http://www.ascc.net/xml/schematron\""
    " xmlns:veg=\"http://www.opengis.net/citygml/vegetation/2.0\""
    " xmlns:xlink=\"http://www.w3.org/1999/xlink\""
    " xmlns:tun=\"http://www.opengis.net/citygml/tunnel/2.0\""
    " xmlns:tex=\"http://www.opengis.net/citygml/texturedsurface/2.0\""
    " xmlns:gml=\"http://www.opengis.net/gml\""
    " xmlns:app=\"http://www.opengis.net/citygml/appearance/2.0\""
    " xmlns:gen=\"http://www.opengis.net/citygml/generics/2.0\""
    " xmlns:dem=\"http://www.opengis.net/citygml/relief/2.0\""
    " xmlns:luse=\"http://www.opengis.net/citygml/landuse/2.0\""
    f" xmlns:uro=\"{URO_NS}\""
    " xmlns:xAL=\"urn:oasis:names:tc:ciq:xsdschema:xAL:2.0\""
    " xmlns:bldg=\"http://www.opengis.net/citygml/building/2.0\""
    " xmlns:smil20=\"http://www.w3.org/2001/SMIL20/\""
    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
    " xmlns:smil20lang=\"http://www.w3.org/2001/SMIL20/Language\""
    " xmlns:pbase=\"http://www.opengis.net/citygml/profiles/base/2.0\""
    " xmlns:core=\"http://www.opengis.net/citygml/2.0\""
    " xmlns:grp=\"http://www.opengis.net/citygml/cityobjectgroup/2.0\""
    f" xsi:schemaLocation=\"{URO_NS} ../../schemas/iur/uro/3.1/urbanObject.xsd"
    " http://www.opengis.net/citygml/2.0 http://schemas.opengis.net/citygml/2.0/cityGMLBase.xsd"
    " http://www.opengis.net/citygml/building/2.0 http://schemas.opengis.net/citygml/building/2.0/building.xsd"
    " http://www.opengis.net/citygml/generics/2.0 http://schemas.opengis.net/citygml/generics/2.0/generics.xsd"
    " http://www.opengis.net/gml http://schemas.opengis.net/gml/3.1.1/base/gml.xsd"
    " http://www.opengis.net/citygml/appearance/2.0 http://schemas.opengis.net/citygml/appearance/2.0/appearance.xsd\">\n"
    "\t<gml:boundedBy>\n"
    "\t\t<gml:Envelope srsName=\"http://www.opengis.net/def/crs/EPSG/0/6697\" srsDimension=\"3\">\n"
    "\t\t\t<gml:lowerCorner>{lower}</gml:lowerCorner>\n"
    "\t\t\t<gml:upperCorner>{upper}</gml:upperCorner>\n"
    "\t\t</gml:Envelope>\n"
    "\t</gml:boundedBy>\n"
)
_FOOTER = "</core:CityModel>\n"

_T3, _T4 = "\t" * 3, "\t" * 4
_POLY = ("<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>{}</gml:posList>"
         "</gml:LinearRing></gml:exterior></gml:Polygon>")
_LOD1_MEMBER = ("\t\t\t\t\t\t\t<gml:surfaceMember>\n\t\t\t\t\t\t\t\t<gml:Polygon>\n\t\t\t\t\t\t\t\t\t<gml:exterior>\n"
                "\t\t\t\t\t\t\t\t\t\t<gml:LinearRing>\n\t\t\t\t\t\t\t\t\t\t\t<gml:posList>")
_LOD1_MEMBER_END = ("</gml:posList>\n\t\t\t\t\t\t\t\t\t\t</gml:LinearRing>\n\t\t\t\t\t\t\t\t\t</gml:exterior>\n"
                    "\t\t\t\t\t\t\t\t</gml:Polygon>\n\t\t\t\t\t\t\t</gml:surfaceMember>\n")
_SURFACE_TAG = {"ground": ("GroundSurface", "gnd"), "wall": ("WallSurface", "wall"), "roof": ("RoofSurface", "roof")}


def _risk_block(kind: str, desc: str, depth: float, extra: str) -> str:
    rank = int(_rank(np.array([depth]))[0])
    return (
        f"{_T3}<uro:bldgDisasterRiskAttribute>\n{_T4}<uro:{kind}>\n"
        f"{_T4}\t<uro:description codeSpace=\"{_CL}{kind}_description.xml\">{desc}</uro:description>\n"
        f"{_T4}\t<uro:rank codeSpace=\"{_CL}{kind}_rank.xml\">{rank}</uro:rank>\n"
        f"{_T4}\t<uro:depth uom=\"m\">{depth:.3f}</uro:depth>\n{extra}"
        f"{_T4}</uro:{kind}>\n{_T3}</uro:bldgDisasterRiskAttribute>\n"
    )


def _river_extra(scale: int) -> str:
    return (f"{_T4}\t<uro:adminType codeSpace=\"{_CL}RiverFloodingRiskAttribute_adminType.xml\">1</uro:adminType>\n"
            f"{_T4}\t<uro:scale codeSpace=\"{_CL}RiverFloodingRiskAttribute_scale.xml\">{scale}</uro:scale>\n")


def _building_xml(d: dict, i: int, pos: list[str], lod0: list, lod1: list, lod2) -> str:
    """The ``core:cityObjectMember`` text of building ``i``; ``pos`` maps rings to posList text."""
    num = i + 1
    out = [
        f"\t<core:cityObjectMember>\n\t\t<bldg:Building gml:id=\"{d['gml_id'][i]}\">\n",
        f"{_T3}<gml:name>{d['names'][i]}</gml:name>\n" if d.get("names") and d["names"][i] else "",
        f"{_T3}<core:creationDate>{CREATION_DATE}</core:creationDate>\n",
        f"{_T3}<bldg:class codeSpace=\"{_CL}Building_class.xml\">{d['bclass'][i]}</bldg:class>\n",
        f"{_T3}<bldg:usage codeSpace=\"{_CL}Building_usage.xml\">{d['usage'][i]}</bldg:usage>\n",
    ]
    if d["has_year"][i]:
        out.append(f"{_T3}<bldg:yearOfConstruction>{d['year'][i]}</bldg:yearOfConstruction>\n")
    if lod2 is not None:
        out.append(f"{_T3}<bldg:roofType codeSpace=\"{_CL}Building_roofType.xml\">"
                   f"{ROOF_TYPES[d['roof'][i]]}</bldg:roofType>\n")
    out.append(
        f"{_T3}<bldg:measuredHeight uom=\"m\">{d['height'][i]:.1f}</bldg:measuredHeight>\n"
        f"{_T3}<bldg:storeysAboveGround>{d['storeys'][i]}</bldg:storeysAboveGround>\n"
        f"{_T3}<bldg:storeysBelowGround>{d['below'][i]}</bldg:storeysBelowGround>\n"
        f"{_T3}<bldg:lod0RoofEdge>\n{_T4}<gml:MultiSurface>\n{_T4}\t<gml:surfaceMember>\n{_T4}\t\t"
        + _POLY.format(pos[0])
        + f"\n{_T4}\t</gml:surfaceMember>\n{_T4}</gml:MultiSurface>\n{_T3}</bldg:lod0RoofEdge>\n"
        f"{_T3}<bldg:lod1Solid>\n{_T4}<gml:Solid>\n{_T4}\t<gml:exterior>\n{_T4}\t\t<gml:CompositeSurface>\n"
    )
    n1 = len(lod1)
    for j in range(n1):
        out.append(_LOD1_MEMBER + pos[1 + j] + _LOD1_MEMBER_END)
    out.append(f"{_T4}\t\t</gml:CompositeSurface>\n{_T4}\t</gml:exterior>\n{_T4}</gml:Solid>\n{_T3}</bldg:lod1Solid>\n")
    if lod2 is not None:
        pid = [f"poly_b{num}_{j}" for j in range(len(lod2))]
        out.append(f"{_T3}<bldg:lod2Solid>\n{_T4}<gml:Solid>\n{_T4}\t<gml:exterior>\n{_T4}\t\t<gml:CompositeSurface>\n")
        out.extend(f"{_T4}\t\t\t<gml:surfaceMember xlink:href=\"#{p}\"/>\n" for p in pid)
        out.append(f"{_T4}\t\t</gml:CompositeSurface>\n{_T4}\t</gml:exterior>\n{_T4}</gml:Solid>\n{_T3}</bldg:lod2Solid>\n")
        for j, (kind, _ring) in enumerate(lod2):
            tag, prefix = _SURFACE_TAG[kind]
            out.append(
                f"{_T3}<bldg:boundedBy>\n{_T4}<bldg:{tag} gml:id=\"{prefix}_b{num}_{j}\">\n"
                f"{_T4}\t<bldg:lod2MultiSurface>\n{_T4}\t\t<gml:MultiSurface>\n{_T4}\t\t\t<gml:surfaceMember>\n"
                f"{_T4}\t\t\t\t<gml:Polygon gml:id=\"{pid[j]}\"><gml:exterior><gml:LinearRing><gml:posList>"
                f"{pos[1 + n1 + j]}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>\n"
                f"{_T4}\t\t\t</gml:surfaceMember>\n{_T4}\t\t</gml:MultiSurface>\n{_T4}\t</bldg:lod2MultiSurface>\n"
                f"{_T4}</bldg:{tag}>\n{_T3}</bldg:boundedBy>\n"
            )
    out.append(
        f"{_T3}<uro:buildingDetailAttribute>\n{_T4}<uro:BuildingDetailAttribute>\n"
        f"{_T4}\t<uro:totalFloorArea uom=\"m2\">{d['floor_area'][i]:.2f}</uro:totalFloorArea>\n"
        f"{_T4}\t<uro:buildingFootprintArea uom=\"m2\">{d['area'][i]:.2f}</uro:buildingFootprintArea>\n"
        f"{_T4}\t<uro:buildingStructureType codeSpace=\"{_CL}BuildingDetailAttribute_buildingStructureType.xml\">"
        f"{d['struct'][i]}</uro:buildingStructureType>\n"
        f"{_T4}\t<uro:surveyYear>{SURVEY_YEAR}</uro:surveyYear>\n"
        f"{_T4}</uro:BuildingDetailAttribute>\n{_T3}</uro:buildingDetailAttribute>\n"
    )
    f1, f2, ts = d["flood_l1"][i], d["flood_l2"][i], d["tsunami"][i]
    if f1 == f1:  # not NaN
        out.append(_risk_block("RiverFloodingRiskAttribute", "1", float(f1), _river_extra(1)))
    if f2 == f2:
        out.append(_risk_block("RiverFloodingRiskAttribute", "1", float(f2), _river_extra(2)))
    if ts == ts:
        out.append(_risk_block("TsunamiRiskAttribute", "1", float(ts), ""))
    src2 = (f"{_T4}\t<uro:geometrySrcDescLod2 codeSpace=\"{_CL}DataQualityAttribute_geometrySrcDesc.xml\">112"
            "</uro:geometrySrcDescLod2>\n") if lod2 is not None else ""
    out.append(
        f"{_T3}<uro:buildingIDAttribute>\n{_T4}<uro:BuildingIDAttribute>\n"
        f"{_T4}\t<uro:buildingID>{d['building_id'][i]}</uro:buildingID>\n"
        f"{_T4}\t<uro:prefecture codeSpace=\"{_CL}Common_localPublicAuthorities.xml\">{PREFECTURE_CODE}</uro:prefecture>\n"
        f"{_T4}\t<uro:city codeSpace=\"{_CL}Common_localPublicAuthorities.xml\">{CITY_CODE}</uro:city>\n"
        f"{_T4}</uro:BuildingIDAttribute>\n{_T3}</uro:buildingIDAttribute>\n"
        f"{_T3}<uro:bldgDataQualityAttribute>\n{_T4}<uro:DataQualityAttribute>\n"
        f"{_T4}\t<uro:geometrySrcDescLod0 codeSpace=\"{_CL}DataQualityAttribute_geometrySrcDesc.xml\">000</uro:geometrySrcDescLod0>\n"
        f"{_T4}\t<uro:geometrySrcDescLod1 codeSpace=\"{_CL}DataQualityAttribute_geometrySrcDesc.xml\">000</uro:geometrySrcDescLod1>\n"
        f"{src2}"
        f"{_T4}\t<uro:thematicSrcDesc codeSpace=\"{_CL}DataQualityAttribute_thematicSrcDesc.xml\">201</uro:thematicSrcDesc>\n"
        f"{_T4}\t<uro:lod1HeightType codeSpace=\"{_CL}DataQualityAttribute_lod1HeightType.xml\">1</uro:lod1HeightType>\n"
        f"{_T4}</uro:DataQualityAttribute>\n{_T3}</uro:bldgDataQualityAttribute>\n"
        "\t\t</bldg:Building>\n\t</core:cityObjectMember>\n"
    )
    return "".join(out)


def _chunk_xml(d: dict, idx: Sequence[int]) -> str:
    """XML of a chunk of buildings: geometry of all of them is projected and formatted at once."""
    geoms = [_building_geometry(d, i) for i in idx]
    nv = sum(len(g[0]) for g in geoms)
    xyz = np.empty((nv, 3))
    o = 0
    offsets = []
    for verts, *_ in geoms:
        offsets.append(o)
        xyz[o:o + len(verts)] = verts
        o += len(verts)
    lon, lat = d["to_geo"].transform(xyz[:, 0], xyz[:, 1])
    flat = np.empty((nv, 3))
    flat[:, 0], flat[:, 1], flat[:, 2] = lat, lon, xyz[:, 2]
    vs = (("%.9f %.9f %.3f\x00" * nv) % tuple(flat.ravel().tolist())).split("\x00")
    parts = []
    for i, off, (verts, lod0, lod1, lod2) in zip(idx, offsets, geoms):
        rings = [lod0] + lod1 + ([] if lod2 is None else [r for _, r in lod2])
        pos = [" ".join([vs[off + k] for k in ring]) for ring in rings]
        parts.append(_building_xml(d, i, pos, lod0, lod1, lod2))
    return "".join(parts)


def _envelope(d: dict, idx: np.ndarray) -> tuple[str, str]:
    """Envelope corners (lat lon height) of buildings ``idx``, from their bounding rectangles."""
    x, y, r = d["x"][idx], d["y"][idx], d["rot"][idx]
    hl, hw = d["L"][idx] / 2, d["W"][idx] / 2
    c, s = np.cos(r), np.sin(r)
    xs = np.concatenate([x + su * hl * c - sv * hw * s for su in (-1, 1) for sv in (-1, 1)])
    ys = np.concatenate([y + su * hl * s + sv * hw * c for su in (-1, 1) for sv in (-1, 1)])
    lon, lat = d["to_geo"].transform(xs, ys)
    top = float(np.max(d["ground"][idx] + d["height"][idx]))
    # round outwards so the envelope contains every written coordinate
    lo = f"{math.floor(np.min(lat) * 1e9) / 1e9:.9f} {math.floor(np.min(lon) * 1e9) / 1e9:.9f} 0"
    hi = f"{math.ceil(np.max(lat) * 1e9) / 1e9:.9f} {math.ceil(np.max(lon) * 1e9) / 1e9:.9f} {top:.3f}"
    return lo, hi


def _codelist_xml(name: str, entries: Iterable[tuple[str, str]]) -> str:
    cid = uuid.uuid5(uuid.NAMESPACE_URL, f"numazu-geo/sample/codelists/{name}")
    lines = [
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<gml:Dictionary xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xmlns:gml=\"http://www.opengis.net/gml\" xsi:schemaLocation=\"http://www.opengis.net/gml "
        "http://schemas.opengis.net/gml/3.1.1/profiles/SimpleDictionary/1.0.0/gmlSimpleDictionaryProfile.xsd\" "
        f"gml:id=\"cl_{cid}\">",
        f"<gml:name>{name}</gml:name>",
    ]
    for k, (code, label) in enumerate(entries, start=1):
        lines += ["<gml:dictionaryEntry>", f"<gml:Definition gml:id=\"{name}_{k}\">",
                  f"<gml:description>{label}</gml:description>", f"<gml:name>{code}</gml:name>",
                  "</gml:Definition>", "</gml:dictionaryEntry>"]
    lines.append("</gml:Dictionary>")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Place context: streets (tran), river, sea and port (wtr), the station square
# --------------------------------------------------------------------------------------------

#: Half-size (m) of the square around the station that the context features cover at least, so
#: that the river and the coast appear around even a small district (display choice).
CONTEXT_HALF_SIZE_M = 2000.0
#: Extra margin (m) of context around the buildings of a large district.
CONTEXT_MARGIN_M = 300.0
#: Names written on the context features (gml:name), as PLATEAU writes them on water bodies.
RIVER_NAME = "狩野川"
SEA_NAME = "駿河湾"
PORT_NAME = "沼津港"
STATION_NAME = "沼津駅"
#: The harbour basin of the sample: a rectangle (m, east x north) just east of the river mouth
#: (a rough placement, like the river and the shore; not traced from a map).
PORT_SIZE_M = (260.0, 160.0)

_CONTEXT_HEADER_NS = _HEADER.split("\t<gml:boundedBy>")[0]


def _context_shapes(d: dict) -> dict:
    """Local-metre shapely geometries of the context features: {"roads": [...], "river": g, "sea": g,
    "port": g, "station": g}."""
    import shapely
    from shapely import affinity

    to_local = _transformers(d["local"])[1]
    river_xy = np.array([to_local.transform(lo, la) for la, lo in KANO_RIVER_LATLON])
    shore_xy = np.array([to_local.transform(lo, la) for la, lo in SHORE_LATLON])
    half = CONTEXT_HALF_SIZE_M
    x0 = min(float(np.min(d["x"])) - CONTEXT_MARGIN_M, -half)
    x1 = max(float(np.max(d["x"])) + CONTEXT_MARGIN_M, half)
    y0 = min(float(np.min(d["y"])) - CONTEXT_MARGIN_M, -half)
    y1 = max(float(np.max(d["y"])) + CONTEXT_MARGIN_M, half)
    extent = shapely.box(x0, y0, x1, y1)
    river = shapely.LineString(river_xy).buffer(KANO_RIVER_HALF_WIDTH_M, cap_style="flat")
    far = 20000.0
    sea = shapely.Polygon([(shore_xy[0, 0] - far, shore_xy[0, 1]), *map(tuple, shore_xy),
                           (shore_xy[-1, 0] + far, shore_xy[-1, 1]), (shore_xy[-1, 0] + far, -far),
                           (shore_xy[0, 0] - far, -far)])
    mouth = river_xy[-1]
    pw, ph = PORT_SIZE_M
    port = shapely.box(mouth[0] + 40.0, mouth[1] - ph / 2, mouth[0] + 40.0 + pw, mouth[1] + ph / 2)
    port = port.difference(sea).difference(river)
    water = shapely.union_all([river, sea, port])
    # streets: the grid lines between blocks (the same grid as the plots), minus the water
    g = math.radians(GRID_ROTATION_DEG)
    reach = math.hypot(x1 - x0, y1 - y0)
    ka, kb = int(reach / BLOCK_PITCH_A_M) + 2, int(reach / BLOCK_PITCH_B_M) + 2
    roads = []
    for i in range(-ka, ka + 1):
        a = (i + 0.5) * BLOCK_PITCH_A_M
        roads.append(shapely.box(a - STREET_WIDTH_M / 2, -reach, a + STREET_WIDTH_M / 2, reach))
    for j in range(-kb, kb + 1):
        b = (j + 0.5) * BLOCK_PITCH_B_M
        roads.append(shapely.box(-reach, b - STREET_WIDTH_M / 2, reach, b + STREET_WIDTH_M / 2))
    roads = [affinity.rotate(r, GRID_ROTATION_DEG, origin=(0, 0)) for r in roads]
    roads = [r.intersection(extent).difference(water) for r in roads]
    roads = [r for r in roads if not r.is_empty and r.area > 1.0]
    # the station square: the block at the grid origin (no buildings stand on it)
    inner_a, inner_b = BLOCK_PITCH_A_M - STREET_WIDTH_M, BLOCK_PITCH_B_M - STREET_WIDTH_M
    station = affinity.rotate(shapely.box(-inner_a / 2, -inner_b / 2, inner_a / 2, inner_b / 2), g,
                              origin=(0, 0), use_radians=True)
    clip = lambda geom: geom.intersection(extent)  # noqa: E731
    flood, tsunami = _hazard_shapes(d, (x0, y0, x1, y1), water)
    return {"roads": roads, "river": clip(river.difference(sea)), "sea": clip(sea), "port": clip(port),
            "station": station, "flood": flood, "tsunami": tsunami}


#: Cell size (m) of the grid on which the sample's flood and tsunami areas are traced (display detail).
HAZARD_CELL_M = 40.0


def _hazard_shapes(d: dict, bounds, water) -> tuple[dict, dict]:
    """{rank: area} of the L2 river flood and of the tsunami, traced on a grid from the same synthetic
    depth formulas the buildings' depths use (river level 7.6 m - distance/300, sea 7.5 m - distance/350,
    minus the ground); invented, like those depths."""
    import shapely

    if "river" not in d or "shore" not in d:
        return {}, {}
    x0, y0, x1, y1 = bounds
    xs = np.arange(x0, x1, HAZARD_CELL_M) + HAZARD_CELL_M / 2
    ys = np.arange(y0, y1, HAZARD_CELL_M) + HAZARD_CELL_M / 2
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    ground = _ground_z(d, gx, gy)
    depths = {"flood": 7.6 - _polyline_distance(gx, gy, d["river"]) / 300.0 - ground,
              "tsunami": 7.5 - _polyline_distance(gx, gy, d["shore"]) / 350.0 - ground}
    out = {}
    half = HAZARD_CELL_M / 2
    for key, depth in depths.items():
        ranks = np.where(depth >= 0.01, _rank(np.maximum(depth, 0.0)), 0)
        areas = {}
        for rank in np.unique(ranks[ranks > 0]):
            sel = ranks == rank
            cells = shapely.box(gx[sel] - half, gy[sel] - half, gx[sel] + half, gy[sel] + half)
            area = shapely.coverage_union_all(cells).difference(water)
            if not area.is_empty:
                areas[int(rank)] = area
        out[key] = areas
    return out["flood"], out["tsunami"]


def _surface_xml(d: dict, geom, z: float, indent: str) -> str:
    """gml:MultiSurface members (lat lon h) for a local-metre (Multi)Polygon."""
    import shapely

    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        part = shapely.geometry.polygon.orient(part, 1.0)
        rings = [("exterior", part.exterior)] + [("interior", r) for r in part.interiors]
        body = []
        for kind, ring in rings:
            xy = np.asarray(ring.coords)[:, :2]
            lon, lat = d["to_geo"].transform(xy[:, 0], xy[:, 1])
            pos = " ".join(f"{la:.9f} {lo:.9f} {z:.3f}" for la, lo in zip(lat, lon))
            body.append(f"<gml:{kind}><gml:LinearRing><gml:posList>{pos}</gml:posList></gml:LinearRing></gml:{kind}>")
        out.append(f"{indent}<gml:surfaceMember><gml:Polygon>{''.join(body)}</gml:Polygon></gml:surfaceMember>\n")
    return "".join(out)


def _context_files(d: dict, center_mesh: str) -> dict[str, bytes]:
    """{relative path: bytes} of the tran and wtr files (streets, station square; river, sea, port)."""
    shapes = _context_shapes(d)
    ind = "\t" * 5
    envelope = (
        "\t<gml:boundedBy>\n\t\t<gml:Envelope srsName=\"http://www.opengis.net/def/crs/EPSG/0/6697\" srsDimension=\"3\">\n"
        "\t\t\t<gml:lowerCorner>{lo}</gml:lowerCorner>\n\t\t\t<gml:upperCorner>{hi}</gml:upperCorner>\n"
        "\t\t</gml:Envelope>\n\t</gml:boundedBy>\n"
    )

    def env(geoms) -> str:
        import shapely

        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(list(geoms), dtype=object))
        lon, lat = d["to_geo"].transform([x0, x1], [y0, y1])
        return envelope.format(lo=f"{min(lat):.9f} {min(lon):.9f} 0", hi=f"{max(lat):.9f} {max(lon):.9f} 0")

    def member(tag: str, fid: str, name: str | None, lod_tag: str, geom, attrs: str = "") -> str:
        nm = f"\t\t\t<gml:name>{name}</gml:name>\n" if name else ""
        return (f"\t<core:cityObjectMember>\n\t\t<{tag} gml:id=\"{fid}\">\n{nm}"
                f"\t\t\t<core:creationDate>{CREATION_DATE}</core:creationDate>\n{attrs}"
                f"\t\t\t<{lod_tag}>\n\t\t\t\t<gml:MultiSurface>\n{_surface_xml(d, geom, 0.0, ind)}"
                f"\t\t\t\t</gml:MultiSurface>\n\t\t\t</{lod_tag}>\n\t\t</{tag}>\n\t</core:cityObjectMember>\n")

    road_cls = f"\t\t\t<tran:class codeSpace=\"{_CL}TransportationComplex_class.xml\">1040</tran:class>\n"
    tran = [member("tran:Road", f"tran_sample_{k}", None, "tran:lod1MultiSurface", r, road_cls)
            for k, r in enumerate(shapes["roads"])]
    tran.append(member("tran:Square", "tran_sample_station", STATION_NAME, "tran:lod1MultiSurface", shapes["station"]))
    wtr = []
    for key, name in (("river", RIVER_NAME), ("sea", SEA_NAME), ("port", PORT_NAME)):
        if not shapes[key].is_empty:
            wtr.append(member("wtr:WaterBody", f"wtr_sample_{key}", name, "wtr:lod1MultiSurface", shapes[key]))
    rank_xml = {
        "flood": ("RiverFloodingRiskAttribute",
                  f"\t\t\t\t\t<uro:adminType codeSpace=\"{_CL}RiverFloodingRiskAttribute_adminType.xml\">1</uro:adminType>\n"
                  f"\t\t\t\t\t<uro:scale codeSpace=\"{_CL}RiverFloodingRiskAttribute_scale.xml\">2</uro:scale>\n",
                  f"{RIVER_NAME}水系{RIVER_NAME}洪水浸水想定区域（想定最大規模・サンプル）"),
        "tsunami": ("TsunamiRiskAttribute", "", "津波浸水想定（サンプル）"),
    }
    hazards = {}
    for key, (attr, extra, name) in rank_xml.items():
        members = []
        for rank, area in sorted(shapes[key].items()):
            risk = (f"\t\t\t<uro:floodingRiskAttribute>\n\t\t\t\t<uro:{attr}>\n"
                    f"\t\t\t\t\t<uro:description codeSpace=\"{_CL}{attr}_description.xml\">1</uro:description>\n"
                    f"\t\t\t\t\t<uro:rank codeSpace=\"{_CL}{attr}_rank.xml\">{rank}</uro:rank>\n{extra}"
                    f"\t\t\t\t</uro:{attr}>\n\t\t\t</uro:floodingRiskAttribute>\n")
            cls = f"\t\t\t<wtr:class codeSpace=\"{_CL}WaterBody_class.xml\">1140</wtr:class>\n"
            member_xml = member("wtr:WaterBody", f"{key}_sample_rank{rank}", name, "wtr:lod1MultiSurface", area, cls)
            members.append(member_xml.replace("\t\t</wtr:WaterBody>", risk + "\t\t</wtr:WaterBody>"))
        hazards[key] = (members, list(shapes[key].values()))
    head = _CONTEXT_HEADER_NS
    hazard_files = {}
    for key, path in (("flood", f"udx/fld/natl/kanogawa_kanogawa/{center_mesh}_fld_6697_l2_op.gml"),
                      ("tsunami", f"udx/tnm/{center_mesh}_tnm_6697_op.gml")):
        members, geoms = hazards[key]
        if members:
            hazard_files[path] = (head + env(geoms) + "".join(members) + _FOOTER).encode("utf-8")
    return {**hazard_files,
        f"udx/tran/{center_mesh}_tran_6697_op.gml":
            (head + env(shapes["roads"] + [shapes["station"]]) + "".join(tran) + _FOOTER).encode("utf-8"),
        f"udx/wtr/{center_mesh}_wtr_6697_op.gml":
            (head + env([shapes[k] for k in ("river", "sea", "port") if not shapes[k].is_empty])
             + "".join(wtr) + _FOOTER).encode("utf-8"),
    }


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------

_CHUNK = 1000
_ZIP_DATE = (2024, 3, 29, 0, 0, 0)
DEFAULT_ZIP_NAME = f"{CITY_CODE}_numazu-shi_sample_citygml_op.zip"


def make_district(
    path: str | os.PathLike,
    n_buildings: int = 200,
    seed: int = 0,
    *,
    center_lat: float = NUMAZU_STATION_LAT,
    center_lon: float = NUMAZU_STATION_LON,
    lod2_share: float = 0.6,
    one_file: bool = False,
    as_zip: bool = False,
    public_buildings: int = 0,
    progress: bool = True,
    relief: bool = False,
    trees: bool = False,
) -> DistrictSample:
    """Write a synthetic PLATEAU v4 (i-UR 3.1) building dataset around Numazu Station.

    Parameters
    ----------
    path : path
        Output. A folder receives ``udx/bldg/<mesh>_bldg_6697_op.gml`` (one file per 3rd-order
        grid square, the buildings assigned by the centre of their footprint) and
        ``codelists/*.xml``. With ``one_file=True`` a path ending in ``.gml`` is the file to
        write (else ``udx/bldg/<mesh of the centre>_bldg_6697_op.gml`` inside the folder).
        With ``as_zip=True`` a path ending in ``.zip`` is the archive (else
        ``<path>/22203_numazu-shi_sample_citygml_op.zip``), holding the same layout.
    n_buildings : int
        Number of buildings (>= 1). 100,000 take about 10 s on one core and ~0.85 GB
        (61 files; see benchmarks/RESULTS.md).
    seed : int
        Random seed; the same arguments give byte-identical files.
    center_lat, center_lon : float
        Centre of the district (degrees, JGD2011). The river and shore used for flood and
        tsunami depths stay at their Numazu positions.
    lod2_share : float
        Share of buildings (0-1) that also get an LOD2 solid with roof surfaces.
    one_file, as_zip : bool
        Layout switches, see ``path``.
    public_buildings : int
        Number of buildings outside the station core given usage 422 (文教厚生施設: schools,
        community halls), sized like commercial buildings; default 0 (the district is unchanged).
    relief : bool
        Also write terrain, ``udx/dem/<2nd-order mesh>_dem_6697_op.gml`` (``dem:ReliefFeature`` /
        ``dem:TINRelief`` triangles on a regular grid), with a hill (45 m high, top 240 m across)
        just south of the southernmost building; buildings stand on the same ground.
    trees : bool
        Also write street trees, ``udx/veg/<mesh>_veg_6697_op.gml``
        (``veg:SolitaryVegetationObject`` with ``veg:height`` and an octagonal LOD2 crown), in
        front (south side, in the building frame) of about a fifth of the buildings.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    DistrictSample
        ``.path`` (folder, file or zip) and ``.truth``: one row per building with
        ``gml_id``, ``building_id``, ``measured_height_m``, ``lod`` (2 or 1), ``roof_type``
        (gable/hip/shed/flat: the designed roof form; only LOD2 buildings carry it in their
        geometry, LOD1 boxes reach the top of the roof), ``roof_pitch_deg``,
        ``ridge_azimuth_deg`` (gable/hip, 0-180, 0 = north), ``roof_azimuth_deg`` (shed: the
        way the roof faces; azimuths are from true north at the district centre, so in
        EPSG:6676 grid north they differ by the meridian convergence, ~0.2 deg at Numazu), ``usage_code``, ``storeys_above_ground``,
        ``storeys_below_ground``, ``year_of_construction``, ``total_floor_area_m2``,
        ``structure_code``, ``footprint_area_m2``, ``footprint_shape`` (rect/L),
        ``ground_z_m``, ``eave_z_m``, ``roof_z_m`` (ground + measured height; heights above
        Tokyo Bay mean sea level), ``flood_depth_m`` (deepest river-flood scenario, NaN when
        outside the flood area), ``flood_rank``, ``flood_depth_l1_m``, ``tsunami_depth_m``,
        ``lat``/``lon`` (footprint centre), ``x_m``/``y_m`` (on ``local_crs``), ``zone``,
        ``mesh_code`` and ``source_file`` (file name of the CityGML holding the building).
    """
    if isinstance(n_buildings, bool) or not isinstance(n_buildings, (int, np.integer)) or n_buildings < 1:
        raise ValueError(f"make_district: n_buildings must be a positive integer, got {n_buildings!r}")
    if not 0.0 <= float(lod2_share) <= 1.0:
        raise ValueError(f"make_district: lod2_share must be within 0-1, got {lod2_share!r}")
    n = int(n_buildings)
    out = Path(path)
    d = _design(n, int(seed), float(center_lat), float(center_lon), float(lod2_share), int(public_buildings),
                bool(relief))
    meshes = mesh_code(d["lat"], d["lon"])
    center_mesh = mesh_code(center_lat, center_lon)

    # files and the buildings in each
    if one_file:
        fname = out.name if out.suffix.lower() == ".gml" and not as_zip else f"{center_mesh}_bldg_6697_op.gml"
        groups = {fname: np.arange(n)}
    else:
        groups = {}
        for m in sorted(set(meshes.tolist())):
            groups[f"{m}_bldg_6697_op.gml"] = np.flatnonzero(meshes == m)
    source_file = np.empty(n, dtype=object)
    for fname, idx in groups.items():
        source_file[idx] = fname

    from tqdm.auto import tqdm

    bar = tqdm(total=n, desc="writing sample CityGML", unit="bldg", disable=not progress)
    written = 0
    files: list[str] = []

    def stream(fh, idx: np.ndarray) -> int:
        lo, hi = _envelope(d, idx)
        size = fh.write(_HEADER.replace("{lower}", lo).replace("{upper}", hi).encode("utf-8"))
        for start in range(0, len(idx), _CHUNK):
            chunk = idx[start:start + _CHUNK]
            size += fh.write(_chunk_xml(d, chunk.tolist()).encode("utf-8"))
            bar.update(len(chunk))
        size += fh.write(_FOOTER.encode("utf-8"))
        return size

    codelists = {f"codelists/{name}.xml": ("\ufeff" + _codelist_xml(name, entries)).encode("utf-8")
                 for name, entries in _CODELISTS.items()}
    context = _context_files(d, center_mesh)
    try:
        if as_zip:
            target = out if out.suffix.lower() == ".zip" else out / DEFAULT_ZIP_NAME
            with atomic_path(target, suffix=".zip") as tmp:
                with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                    for fname, idx in groups.items():
                        info = zipfile.ZipInfo(f"udx/bldg/{fname}", date_time=_ZIP_DATE)
                        info.compress_type = zipfile.ZIP_DEFLATED
                        with zf.open(info, "w", force_zip64=True) as fh:
                            written += stream(fh, idx)
                        files.append(f"udx/bldg/{fname}")
                    for name, data in {**context, **codelists}.items():
                        info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                        info.compress_type = zipfile.ZIP_DEFLATED
                        zf.writestr(info, data)
            result_path = target
        else:
            if one_file and out.suffix.lower() == ".gml":
                root, gml_dir = out.parent, out.parent
            else:
                root, gml_dir = out, out / "udx" / "bldg"
            for fname, idx in groups.items():
                with atomic_path(gml_dir / fname, suffix=".gml") as tmp:
                    with open(tmp, "wb", buffering=1 << 20) as fh:
                        written += stream(fh, idx)
                files.append(os.path.relpath(gml_dir / fname, root).replace(os.sep, "/"))
            if not (one_file and out.suffix.lower() == ".gml"):
                for name, data in {**context, **codelists}.items():
                    with atomic_path(root / name, suffix=Path(name).suffix) as tmp:
                        tmp.write_bytes(data)
            result_path = gml_dir / next(iter(groups)) if one_file else out
    finally:
        bar.close()
    log.info("sample district: %d buildings, %d file(s), %.1f MB of CityGML at %s",
             n, len(files), written / 1e6, out)

    truth = _truth(d, meshes, source_file)
    w = float(truth["lon"].min()), float(truth["lat"].min()), float(truth["lon"].max()), float(truth["lat"].max())
    written_context = [] if (one_file and out.suffix.lower() == ".gml" and not as_zip) else sorted(context)
    sample = DistrictSample(path=result_path, truth=truth, files=files, bbox=w, local_crs=d["local"],
                            bytes_written=written, seed=int(seed), context_files=written_context)
    if relief or trees:
        _write_context(sample, d, out, seed=int(seed), relief=relief, trees=trees, one_file=one_file, as_zip=as_zip)
    return sample


# --------------------------------------------------------------------------------------------
# Terrain (dem) and street trees (veg), issue 11
# --------------------------------------------------------------------------------------------

#: The sample hill: height (m), radius of its top (m), width of its slope (m; logistic profile) and
#: the gap (m) between the southernmost building and the foot of the hill's top. Synthetic, chosen
#: so that it shades the southern row of roofs in winter while the buildings stand on nearly flat
#: ground (the slope adds under 1 m at the nearest building).
HILL_HEIGHT_M = 45.0
HILL_RADIUS_M = 120.0
HILL_SLOPE_WIDTH_M = 12.0
HILL_GAP_M = 25.0
#: DEM grid spacing (m) and margin around the buildings (m); coarser for very large districts.
DEM_SPACING_M = 25.0
DEM_MARGIN_M = 400.0
DEM_MAX_CELLS = 200
#: Street trees: share of buildings with a tree in front, heights (m) and crown radii (m).
TREE_SHARE = 0.2
TREE_HEIGHT_M = (6.0, 11.0)
TREE_CROWN_RADIUS_M = (1.8, 3.0)
TREE_CROWN_BASE_FRAC = 0.35  # crown starts at this share of the height


def _hill_parameters(x: np.ndarray, y: np.ndarray):
    return (float(np.mean(x)), float(np.min(y)) - HILL_GAP_M - HILL_RADIUS_M, HILL_HEIGHT_M, HILL_RADIUS_M,
            HILL_SLOPE_WIDTH_M)


def _hill_z(x, y, hill) -> np.ndarray:
    """Height (m) the hill adds: ``h / (1 + exp((r - R) / w))``, a round hill with a flat top."""
    if hill is None:
        return np.zeros(np.shape(x))
    hx, hy, h, radius, width = hill
    r = np.hypot(np.asarray(x, dtype=float) - hx, np.asarray(y, dtype=float) - hy)
    return h / (1.0 + np.exp(np.clip((r - radius) / width, -50.0, 50.0)))


def _ground_z(d: dict, x, y) -> np.ndarray:
    """Ground height (m above MSL) anywhere, by the same formula the buildings stand on."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    d_river = _polyline_distance(x, y, d["river"])
    d_shore = _polyline_distance(x, y, d["shore"])
    g = (1.8 + 0.0025 * np.minimum(d_shore, 6000.0) - 2.0 * np.exp(-d_river / 400.0)
         + 0.5 * np.sin(x / 230.0) * np.cos(y / 190.0))
    return g + _hill_z(x, y, d.get("hill"))


_CTX_HEADER = _HEADER  # declares the dem and veg namespaces too


def _fmt_latlon(d: dict, xyz: np.ndarray) -> list[str]:
    lon, lat = d["to_geo"].transform(xyz[:, 0], xyz[:, 1])
    return [f"{la:.9f} {lo:.9f} {z:.3f}" for la, lo, z in zip(np.asarray(lat), np.asarray(lon), xyz[:, 2])]


def _envelope_of(d: dict, xyz: np.ndarray) -> tuple[str, str]:
    lon, lat = d["to_geo"].transform(xyz[:, 0], xyz[:, 1])
    lo = f"{math.floor(np.min(lat) * 1e9) / 1e9:.9f} {math.floor(np.min(lon) * 1e9) / 1e9:.9f} {np.min(xyz[:, 2]):.3f}"
    hi = f"{math.ceil(np.max(lat) * 1e9) / 1e9:.9f} {math.ceil(np.max(lon) * 1e9) / 1e9:.9f} {np.max(xyz[:, 2]):.3f}"
    return lo, hi


def _dem_grid(d: dict):
    x0, x1 = float(d["x"].min()) - DEM_MARGIN_M, float(d["x"].max()) + DEM_MARGIN_M
    y0, y1 = float(d["y"].min()) - DEM_MARGIN_M, float(d["y"].max()) + DEM_MARGIN_M
    step = max(DEM_SPACING_M, max(x1 - x0, y1 - y0) / DEM_MAX_CELLS)
    xs = np.arange(x0, x1 + step, step)
    ys = np.arange(y0, y1 + step, step)
    gx, gy = np.meshgrid(xs, ys)
    gz = np.round(_ground_z(d, gx, gy), 3)
    v = np.stack([gx, gy, gz], axis=-1)
    a, b, c, e = v[:-1, :-1], v[:-1, 1:], v[1:, :-1], v[1:, 1:]
    tris = np.concatenate([np.stack([a, b, e], axis=2).reshape(-1, 3, 3), np.stack([a, e, c], axis=2).reshape(-1, 3, 3)])
    return tris


def _dem_xml(d: dict, tris: np.ndarray, seed: int) -> str:
    flat = tris.reshape(-1, 3)
    pos = _fmt_latlon(d, flat)
    lo, hi = _envelope_of(d, flat)
    rid = uuid.uuid5(uuid.NAMESPACE_URL, f"numazu-geo/sample/{seed}/dem")
    out = [_CTX_HEADER.replace("{lower}", lo).replace("{upper}", hi),
           f"\t<core:cityObjectMember>\n\t\t<dem:ReliefFeature gml:id=\"dem_{rid}\">\n",
           f"{_T3}<core:creationDate>{CREATION_DATE}</core:creationDate>\n{_T3}<dem:lod>1</dem:lod>\n",
           f"{_T3}<dem:reliefComponent>\n{_T4}<dem:TINRelief gml:id=\"tin_{rid}\">\n",
           f"{_T4}\t<dem:lod>1</dem:lod>\n{_T4}\t<dem:tin><gml:TriangulatedSurface><gml:trianglePatches>\n"]
    for k in range(len(tris)):
        p = pos[3 * k:3 * k + 3]
        out.append("<gml:Triangle><gml:exterior><gml:LinearRing><gml:posList>"
                   f"{p[0]} {p[1]} {p[2]} {p[0]}</gml:posList></gml:LinearRing></gml:exterior></gml:Triangle>\n")
    out += [f"{_T4}\t</gml:trianglePatches></gml:TriangulatedSurface></dem:tin>\n",
            f"{_T4}</dem:TINRelief>\n{_T3}</dem:reliefComponent>\n\t\t</dem:ReliefFeature>\n\t</core:cityObjectMember>\n",
            _FOOTER]
    return "".join(out)


def _tree_design(d: dict, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 11])  # own stream: buildings stay as without trees
    n = d["n"]
    u = rng.random((n, 3))
    pick = np.flatnonzero(u[:, 0] < TREE_SHARE)
    h = np.round(TREE_HEIGHT_M[0] + (TREE_HEIGHT_M[1] - TREE_HEIGHT_M[0]) * u[pick, 1], 1)
    r = np.round(TREE_CROWN_RADIUS_M[0] + (TREE_CROWN_RADIUS_M[1] - TREE_CROWN_RADIUS_M[0]) * u[pick, 2], 2)
    rot = d["rot"][pick]
    off = d["W"][pick] / 2.0 + r + 1.0  # in front of the -v facade, clear of the walls
    tx = d["x"][pick] + off * np.sin(rot)
    ty = d["y"][pick] - off * np.cos(rot)
    gz = np.round(_ground_z(d, tx, ty), 3)
    lon, lat = d["to_geo"].transform(tx, ty)
    ids = [f"veg_{uuid.uuid5(uuid.NAMESPACE_URL, f'numazu-geo/sample/{seed}/tree/{i}')}" for i in pick]
    return pd.DataFrame({"gml_id": ids, "building_gml_id": [d["gml_id"][i] for i in pick], "x_m": tx, "y_m": ty,
                         "lat": np.asarray(lat), "lon": np.asarray(lon), "ground_z_m": gz, "height_m": h,
                         "crown_radius_m": r})


def _crown_rings(t) -> list[np.ndarray]:
    """Closed rings (outward) of an octagonal prism crown from TREE_CROWN_BASE_FRAC * h to h."""
    ang = np.radians(np.arange(8) * 45.0 + 22.5)
    ring = np.column_stack([t.x_m + t.crown_radius_m * np.cos(ang), t.y_m + t.crown_radius_m * np.sin(ang)])
    z0 = t.ground_z_m + TREE_CROWN_BASE_FRAC * t.height_m
    z1 = t.ground_z_m + t.height_m
    bottom = [(px, py, z0) for px, py in ring[::-1]]
    top = [(px, py, z1) for px, py in ring]
    rings = [np.array(bottom + bottom[:1]), np.array(top + top[:1])]
    for k in range(8):
        a, b = ring[k], ring[(k + 1) % 8]
        rings.append(np.array([(a[0], a[1], z0), (b[0], b[1], z0), (b[0], b[1], z1), (a[0], a[1], z1), (a[0], a[1], z0)]))
    return rings


def _veg_xml(d: dict, trees: pd.DataFrame) -> str:
    parts, allxyz = [], []
    for t in trees.itertuples(index=False):
        rings = _crown_rings(t)
        allxyz += rings
        polys = "".join(f"<gml:surfaceMember>{_POLY.format(' '.join(_fmt_latlon(d, r)))}</gml:surfaceMember>" for r in rings)
        parts.append(
            f"\t<core:cityObjectMember>\n\t\t<veg:SolitaryVegetationObject gml:id=\"{t.gml_id}\">\n"
            f"{_T3}<core:creationDate>{CREATION_DATE}</core:creationDate>\n"
            f"{_T3}<veg:height uom=\"m\">{t.height_m}</veg:height>\n"
            f"{_T3}<veg:lod2Geometry><gml:MultiSurface srsName=\"http://www.opengis.net/def/crs/EPSG/0/6697\" "
            f"srsDimension=\"3\">{polys}</gml:MultiSurface></veg:lod2Geometry>\n"
            "\t\t</veg:SolitaryVegetationObject>\n\t</core:cityObjectMember>\n"
        )
    xyz = np.concatenate(allxyz) if allxyz else np.zeros((1, 3))
    lo, hi = _envelope_of(d, xyz)
    return _CTX_HEADER.replace("{lower}", lo).replace("{upper}", hi) + "".join(parts) + _FOOTER


def _write_context(sample: "DistrictSample", d: dict, out: Path, *, seed: int, relief: bool, trees: bool,
                   one_file: bool, as_zip: bool) -> None:
    """Write dem / veg files beside ``udx/bldg`` (folder or zip) and record them on ``sample``."""
    center2 = str(mesh_code(float(np.mean(d["lat"])), float(np.mean(d["lon"]))))[:6]
    docs = {}
    if relief:
        sample.terrain_file = f"udx/dem/{center2}_dem_6697_op.gml"
        docs[sample.terrain_file] = _dem_xml(d, _dem_grid(d), seed)
    if trees:
        tree_table = _tree_design(d, seed)
        sample.trees = tree_table
        sample.vegetation_file = f"udx/veg/{center2}_veg_6697_op.gml"
        docs[sample.vegetation_file] = _veg_xml(d, tree_table)
    if as_zip:
        target = Path(sample.path)
        with atomic_path(target, suffix=".zip") as tmp:
            with zipfile.ZipFile(target) as src, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as dst:
                for info in src.infolist():
                    dst.writestr(info, src.read(info.filename))
                for name, text in docs.items():
                    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    dst.writestr(info, text.encode("utf-8"))
        return
    root = out.parent if one_file and out.suffix.lower() == ".gml" else Path(out)
    for name, text in docs.items():
        with atomic_path(root / name, suffix=".gml") as tmp:
            tmp.write_text(text, encoding="utf-8")


def _truth(d: dict, meshes: np.ndarray, source_file: np.ndarray) -> pd.DataFrame:
    n = d["n"]
    top = np.round(d["ground"] + d["height"], 3)
    eave = np.round(top - d["rise"], 3)
    f2 = d["flood_l2"]
    rank = np.where(np.isnan(f2), 0, _rank(np.nan_to_num(f2)))
    year = pd.array(np.where(d["has_year"], d["year"], 0), dtype="Int64")
    year[~d["has_year"]] = pd.NA
    flood_rank = pd.array(rank, dtype="Int64")
    flood_rank[rank == 0] = pd.NA
    return pd.DataFrame({
        "gml_id": pd.array(d["gml_id"], dtype="string"),
        "building_id": pd.array(d["building_id"], dtype="string"),
        "name": pd.array([v or None for v in d["names"]], dtype="string"),
        "measured_height_m": d["height"].astype(float),
        "lod": d["lod"].astype(np.int64),
        "roof_type": pd.array(d["roof"], dtype="string"),
        "roof_pitch_deg": d["pitch"].astype(float),
        "ridge_azimuth_deg": d["ridge_az"],
        "roof_azimuth_deg": d["shed_az"],
        "usage_code": pd.array(d["usage"], dtype="string"),
        "storeys_above_ground": d["storeys"].astype(np.int64),
        "storeys_below_ground": np.asarray(d["below"], dtype=np.int64),
        "year_of_construction": year,
        "total_floor_area_m2": d["floor_area"],
        "structure_code": pd.array(d["struct"], dtype="string"),
        "footprint_area_m2": d["area"],
        "footprint_shape": pd.array(np.where(d["l_shape"], "L", "rect"), dtype="string"),
        "ground_z_m": d["ground"],
        "eave_z_m": eave,
        "roof_z_m": top,
        "flood_depth_m": f2,
        "flood_rank": flood_rank,
        "flood_depth_l1_m": d["flood_l1"],
        "tsunami_depth_m": d["tsunami"],
        "lat": d["lat"],
        "lon": d["lon"],
        "x_m": d["x"],
        "y_m": d["y"],
        "zone": pd.array(np.asarray(_ZONE_NAMES)[d["zone"]], dtype="string"),
        "mesh_code": pd.array(meshes, dtype="string"),
        "source_file": pd.array(source_file.astype(str), dtype="string"),
    }, index=pd.RangeIndex(n))
