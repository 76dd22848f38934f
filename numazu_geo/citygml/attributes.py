"""Building attributes per PLATEAU spec version (v1 ... v5).

One pass over the direct children of a ``bldg:Building`` / ``bldg:BuildingPart`` fills a
:class:`Unit`: CityGML core attributes, i-UR (``uro``) identifiers and details, disaster-risk
records, and references to the geometry elements (which the reader parses only as needed).

Sentinels (PLATEAU 標準製品仕様書: "不明" values): ``measuredHeight`` and areas of -9999 become NaN,
storey counts of 9999 become NA, ``yearOfConstruction`` 0 or 9999 becomes NA.
"""

from __future__ import annotations

import math
import re

from numazu_geo.citygml.versions import (
    BLDG,
    CORE,
    GEN,
    GML,
    V1_BUILDING_ID_NAME,
    V1_DEPTH_NAME,
    V1_LANDSLIDE_KEYS,
    V1_RANK_NAME,
    V1_RIVER_FLOOD_KEYS,
    V1_TSUNAMI_KEYS,
    SpecVersion,
)

MISSING_NUMBER = -9999.0  # PLATEAU "unknown" for heights and areas
MISSING_COUNT = 9999  # PLATEAU "unknown" for storeys (and some years)
NAN = math.nan

_CITY_FROM_ID = re.compile(r"^([0-9]{5})-")

# Clark tags used below
T_BUILDING = f"{{{BLDG}}}Building"
T_PART = f"{{{BLDG}}}BuildingPart"
T_CONSISTS = f"{{{BLDG}}}consistsOfBuildingPart"
T_NAME = f"{{{GML}}}name"
T_ID = f"{{{GML}}}id"
T_USAGE = f"{{{BLDG}}}usage"
T_HEIGHT = f"{{{BLDG}}}measuredHeight"
T_ABOVE = f"{{{BLDG}}}storeysAboveGround"
T_BELOW = f"{{{BLDG}}}storeysBelowGround"
T_YEAR = f"{{{BLDG}}}yearOfConstruction"
T_LOD0FP = f"{{{BLDG}}}lod0FootPrint"
T_LOD0RE = f"{{{BLDG}}}lod0RoofEdge"
T_LOD1SOLID = f"{{{BLDG}}}lod1Solid"
T_LOD2SOLID = f"{{{BLDG}}}lod2Solid"
T_LOD3SOLID = f"{{{BLDG}}}lod3Solid"
T_LOD2MS = f"{{{BLDG}}}lod2MultiSurface"
T_LOD3MS = f"{{{BLDG}}}lod3MultiSurface"
T_BOUNDED = f"{{{BLDG}}}boundedBy"
T_BSTRUCT = f"{{{BLDG}}}buildingStructureType"  # not in CityGML core; some tools write it
T_GEN_STRING = f"{{{GEN}}}stringAttribute"
T_GEN_SET = f"{{{GEN}}}genericAttributeSet"
T_GEN_MEASURE = f"{{{GEN}}}measureAttribute"
T_GEN_VALUE = f"{{{GEN}}}value"
T_CORE_CREATION = f"{{{CORE}}}creationDate"

ROOF = "RoofSurface"
GROUND = "GroundSurface"


def to_float(text: str | None) -> float:
    """A measurement, NaN when absent, unparsable or the -9999 sentinel."""
    if text is None:
        return NAN
    try:
        value = float(text)
    except ValueError:
        return NAN
    if value <= MISSING_NUMBER + 0.5 or not math.isfinite(value):
        return NAN
    return value


def to_count(text: str | None) -> int | None:
    """A count (storeys), None when absent, unparsable, negative or the 9999 sentinel."""
    if text is None:
        return None
    try:
        value = int(float(text))
    except ValueError:
        return None
    if value < 0 or value >= MISSING_COUNT:
        return None
    return value


def to_year(text: str | None) -> int | None:
    value = to_count(text)
    return value if value is not None and value > 0 else None


def _text(el) -> str | None:
    t = el.text
    if t is None:
        return None
    t = t.strip()
    return t or None


class Unit:
    """Attributes and geometry references of one Building or BuildingPart."""

    __slots__ = (
        "gml_id", "building_id", "city_code", "name", "usage_code", "usage_cs", "measured_height_m",
        "storeys_above_ground", "storeys_below_ground", "year_of_construction", "total_floor_area_m2",
        "structure_code", "structure_cs", "flood_depth_m", "flood_rank_code", "flood_rank_cs",
        "_flood_key", "tsunami_depth_m", "landslide", "lod0", "lod1", "lod2solid", "lod3",
        "surfaces", "parts", "el",
    )  # fmt: skip

    def __init__(self, gml_id, el=None):
        self.gml_id = gml_id
        self.el = el
        self.building_id = self.city_code = self.name = None
        self.usage_code = self.usage_cs = None
        self.measured_height_m = NAN
        self.storeys_above_ground = self.storeys_below_ground = self.year_of_construction = None
        self.total_floor_area_m2 = NAN
        self.structure_code = self.structure_cs = None
        self.flood_depth_m = NAN
        self.flood_rank_code = self.flood_rank_cs = None
        self._flood_key = None
        self.tsunami_depth_m = NAN
        self.landslide = False
        self.lod0 = None  # lod0FootPrint (preferred) or lod0RoofEdge element
        self.lod1 = None  # lod1Solid element
        self.lod2solid = None
        self.lod3 = False
        self.surfaces: list = []  # (kind, surface element, lod) of boundedBy surfaces
        self.parts: list[Unit] = []

    # -- disaster risk -----------------------------------------------------------------------
    def add_river_flood(self, depth: float, rank: str | None, rank_cs: str | None) -> None:
        """Keep the deepest scenario (then the highest rank when depths are missing)."""
        try:
            rank_num = float(rank) if rank is not None else -1.0
        except ValueError:
            rank_num = -1.0
        key = (depth if depth == depth else -math.inf, rank_num)
        if self._flood_key is None or key > self._flood_key:
            self._flood_key = key
            self.flood_depth_m = depth
            self.flood_rank_code = rank
            self.flood_rank_cs = rank_cs

    @property
    def has_lod(self) -> int | None:
        if self.lod3:
            return 3
        if self.lod2solid is not None or any(s[2] == 2 for s in self.surfaces):
            return 2
        if self.lod1 is not None:
            return 1
        if self.lod0 is not None:
            return 0
        return None


class AttributeReader:
    """Fills :class:`Unit` objects from Building elements of one spec version."""

    def __init__(self, spec: SpecVersion | None):
        self.spec = spec
        d = {
            T_NAME: self._name,
            T_USAGE: self._usage,
            T_HEIGHT: self._height,
            T_ABOVE: self._above,
            T_BELOW: self._below,
            T_YEAR: self._year,
            T_LOD0FP: self._lod0fp,
            T_LOD0RE: self._lod0re,
            T_LOD1SOLID: self._lod1,
            T_LOD2SOLID: self._lod2solid,
            T_LOD3SOLID: self._lod3,
            T_BOUNDED: self._bounded,
            T_CONSISTS: self._consists,
            T_GEN_STRING: self._gen_string,
            T_GEN_SET: self._gen_set,
        }
        if spec is not None:
            u = spec.tag
            if spec.id_container:
                d[u(spec.id_container)] = self._id_attribute
            d[u(spec.detail_container)] = self._details
            for name in spec.risk_containers:
                d[u(name)] = self._risk
            self._river = {u(n) for n in spec.river_flood_risk}
            self._tsunami = {u(n) for n in spec.tsunami_risk}
            self._landslide = {u(n) for n in spec.landslide_risk}
            self._t_depth = u("depth")
            self._t_rank = u("rank")
            self._t_rank_org = u("rankOrg")
            self._detail_tags = {
                u("totalFloorArea"): "total_floor_area",
                u("buildingStructureType"): "structure",
                u("city"): "city",
            }
            self._id_tags = {u("buildingID"): "id", u("city"): "city"}
        if spec is not None and spec.name != "v1":  # generic attributes hold IDs/hazards only in v1
            d.pop(T_GEN_STRING)
            d.pop(T_GEN_SET)
        self._dispatch = d
        self._tags = tuple(d)
        self._tags_no_surfaces = tuple(t for t in d if t != T_BOUNDED)

    # -- entry point -------------------------------------------------------------------------
    def read(self, el, surfaces: bool = True) -> Unit:
        """Read one Building/BuildingPart. ``surfaces=False`` leaves ``boundedBy`` unvisited
        (the fast building path asks XPath for what it needs from there instead)."""
        unit = Unit(el.get(T_ID), el)
        dispatch = self._dispatch
        # the tag filter runs in C: children nobody reads never become Python objects
        for child in el.iterchildren(*(self._tags if surfaces else self._tags_no_surfaces)):
            handler = dispatch.get(child.tag)
            if handler is not None:
                handler(child, unit)
        if unit.city_code is None and unit.building_id:
            m = _CITY_FROM_ID.match(unit.building_id)
            if m:
                unit.city_code = m.group(1)
        return unit

    # -- CityGML core --------------------------------------------------------------------------
    @staticmethod
    def _name(el, unit):
        if unit.name is None:
            unit.name = _text(el)

    @staticmethod
    def _usage(el, unit):
        if unit.usage_code is None:
            unit.usage_code = _text(el)
            unit.usage_cs = el.get("codeSpace")

    @staticmethod
    def _height(el, unit):
        unit.measured_height_m = to_float(el.text)

    @staticmethod
    def _above(el, unit):
        unit.storeys_above_ground = to_count(el.text)

    @staticmethod
    def _below(el, unit):
        unit.storeys_below_ground = to_count(el.text)

    @staticmethod
    def _year(el, unit):
        unit.year_of_construction = to_year(el.text)

    @staticmethod
    def _lod0fp(el, unit):
        unit.lod0 = el  # a footprint wins over a roof edge

    @staticmethod
    def _lod0re(el, unit):
        if unit.lod0 is None or unit.lod0.tag != T_LOD0FP:
            unit.lod0 = el

    @staticmethod
    def _lod1(el, unit):
        unit.lod1 = el

    @staticmethod
    def _lod2solid(el, unit):
        unit.lod2solid = el

    @staticmethod
    def _lod3(el, unit):
        unit.lod3 = True

    @staticmethod
    def _bounded(el, unit):
        for surface in el:
            tag = surface.tag
            kind = tag[tag.rfind("}") + 1 :]
            for geom in surface:
                if geom.tag == T_LOD2MS:
                    unit.surfaces.append((kind, surface, 2))
                elif geom.tag == T_LOD3MS:
                    unit.lod3 = True
                    unit.surfaces.append((kind, surface, 3))

    def _consists(self, el, unit):
        for part in el:
            if part.tag == T_PART:
                unit.parts.append(self.read(part))

    # -- generic attributes (v1 IDs and hazards) -----------------------------------------------
    @staticmethod
    def _gen_string(el, unit):
        if el.get("name") == V1_BUILDING_ID_NAME and unit.building_id is None:
            unit.building_id = el.findtext(T_GEN_VALUE)

    def _gen_set(self, el, unit):
        name = el.get("name") or ""
        if any(k in name for k in V1_LANDSLIDE_KEYS):
            unit.landslide = True
            return
        river = any(k in name for k in V1_RIVER_FLOOD_KEYS)
        tsunami = any(k in name for k in V1_TSUNAMI_KEYS)
        if not (river or tsunami):
            return
        depth, rank = NAN, None
        for child in el:
            attr = child.get("name")
            if attr == V1_DEPTH_NAME:
                depth = to_float(child.findtext(T_GEN_VALUE))
            elif attr == V1_RANK_NAME:
                rank = child.findtext(T_GEN_VALUE)
        if river:
            unit.add_river_flood(depth, rank, None)
        elif depth == depth and not (unit.tsunami_depth_m >= depth):
            unit.tsunami_depth_m = depth

    # -- i-UR ------------------------------------------------------------------------------------
    def _id_attribute(self, el, unit):
        for record in el:
            for child in record.iterchildren(*self._id_tags):
                what = self._id_tags.get(child.tag)
                if what == "id":
                    if unit.building_id is None:
                        unit.building_id = _text(child)
                elif what == "city":
                    unit.city_code = _text(child)

    def _details(self, el, unit):
        for record in el:
            for child in record.iterchildren(*self._detail_tags):
                what = self._detail_tags.get(child.tag)
                if what == "total_floor_area":
                    unit.total_floor_area_m2 = to_float(child.text)
                elif what == "structure":
                    unit.structure_code = _text(child)
                    unit.structure_cs = child.get("codeSpace")
                elif what == "city" and unit.city_code is None:
                    unit.city_code = _text(child)

    def _risk(self, el, unit):
        for record in el:
            tag = record.tag
            if tag in self._river:
                depth, rank, rank_cs = NAN, None, None
                for child in record.iterchildren(self._t_depth, self._t_rank, self._t_rank_org):
                    ct = child.tag
                    if ct == self._t_depth:
                        depth = to_float(child.text)
                    elif ct == self._t_rank or (ct == self._t_rank_org and rank is None):
                        rank = _text(child)
                        rank_cs = child.get("codeSpace")
                unit.add_river_flood(depth, rank, rank_cs)
            elif tag in self._tsunami:
                for child in record.iterchildren(self._t_depth):
                    if child.tag == self._t_depth:
                        depth = to_float(child.text)
                        if depth == depth and not (unit.tsunami_depth_m >= depth):
                            unit.tsunami_depth_m = depth
            elif tag in self._landslide:
                unit.landslide = True


def merge_parts(unit: Unit) -> None:
    """Fill a Building's attributes from its BuildingParts (in place).

    Heights, storeys and LOD: maximum over the building and its parts. Total floor area: the
    building's, else the sum of the parts'. Flood and tsunami depth: the deepest. Landslide: any.
    Other attributes: the building's own value, else the first part that has one.
    """
    parts = unit.parts
    if not parts:
        return
    for attr in ("building_id", "city_code", "name", "usage_code", "year_of_construction", "structure_code"):
        if getattr(unit, attr) is None:
            for p in parts:
                value = getattr(p, attr)
                if value is not None:
                    setattr(unit, attr, value)
                    if attr == "usage_code":
                        unit.usage_cs = p.usage_cs
                    elif attr == "structure_code":
                        unit.structure_cs = p.structure_cs
                    break
    heights = [unit.measured_height_m] + [p.measured_height_m for p in parts]
    finite = [h for h in heights if h == h]
    unit.measured_height_m = max(finite) if finite else NAN
    for attr in ("storeys_above_ground", "storeys_below_ground"):
        values = [v for v in [getattr(unit, attr)] + [getattr(p, attr) for p in parts] if v is not None]
        setattr(unit, attr, max(values) if values else None)
    if unit.total_floor_area_m2 != unit.total_floor_area_m2:
        areas = [p.total_floor_area_m2 for p in parts if p.total_floor_area_m2 == p.total_floor_area_m2]
        unit.total_floor_area_m2 = sum(areas) if areas else NAN
    for p in parts:
        if p._flood_key is not None:
            unit.add_river_flood(p.flood_depth_m, p.flood_rank_code, p.flood_rank_cs)
        if p.tsunami_depth_m == p.tsunami_depth_m and not (unit.tsunami_depth_m >= p.tsunami_depth_m):
            unit.tsunami_depth_m = p.tsunami_depth_m
        unit.landslide = unit.landslide or p.landslide
