"""Building attributes per PLATEAU spec version (v1 ... v5).

One pass over the direct children of a ``bldg:Building`` / ``bldg:BuildingPart`` fills a
:class:`Unit`: CityGML core attributes, i-UR (``uro``) identifiers and details, disaster-risk
records, and references to the geometry elements (which the reader parses only as needed).

Which attributes exist, their parsers and merge rules: :mod:`numazu_geo.citygml.columns`.
Sentinels (PLATEAU 標準製品仕様書: "不明" values): ``measuredHeight`` and areas of -9999 become NaN,
storey counts of 9999 become NA, ``yearOfConstruction`` 0 or 9999 becomes NA.
"""

from __future__ import annotations

import math
import re

from numazu_geo.citygml.columns import (
    ATTRIBUTE_COLUMNS,
    CODE_SPACE_FIELDS,
    text,
    to_float,
)
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

NAN = math.nan

_CITY_FROM_ID = re.compile(r"^([0-9]{5})-")

# Clark tags used below
T_BUILDING = f"{{{BLDG}}}Building"
T_PART = f"{{{BLDG}}}BuildingPart"
T_CONSISTS = f"{{{BLDG}}}consistsOfBuildingPart"
T_ID = f"{{{GML}}}id"
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


class Unit:
    """Attributes and geometry references of one Building or BuildingPart.

    Every attribute column of :data:`~numazu_geo.citygml.columns.BUILDING_COLUMNS` (and each
    codeSpace field) is an attribute; its class-level default stands until the reader sets it.
    """

    def __init__(self, gml_id, el=None):
        self.gml_id = gml_id
        self.el = el
        self._flood_key = None
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


for _col in ATTRIBUTE_COLUMNS:
    setattr(Unit, _col.name, _col.default)
for _cs in CODE_SPACE_FIELDS:
    setattr(Unit, _cs, None)
del _col, _cs


def _is_set(value) -> bool:
    return value is not None and value is not False and value == value


def _handler(col, primary: bool):
    """Handler (element, unit) storing one column's value from one of its paths."""
    name, parse, cs = col.name, col.parser, col.code_space
    from_element = col.element
    overwrite = primary and col.keep == "last"

    if overwrite and not from_element and cs is None:  # the common case, kept lean

        def handle(el, unit):
            setattr(unit, name, parse(el.text))

        return handle

    def handle(el, unit):
        if not overwrite:
            current = getattr(unit, name)
            if current is not None and current is not False and current == current:
                return  # keep the first value found
        setattr(unit, name, parse(el) if from_element else parse(el.text))
        if cs is not None:
            setattr(unit, cs, el.get("codeSpace"))

    return handle


def _chain(first, second):
    def handle(el, unit):
        first(el, unit)
        second(el, unit)

    return handle


class AttributeReader:
    """Fills :class:`Unit` objects from Building elements of one spec version."""

    def __init__(self, spec: SpecVersion | None):
        self.spec = spec
        d = {
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
        containers: dict[str, dict] = {"id": {}, "detail": {}}
        namespaces = {"gml": GML, "bldg": BLDG}
        for col in ATTRIBUTE_COLUMNS:
            for k, path in enumerate(col.paths):
                prefix, local = path.split(":", 1)
                handler = _handler(col, primary=k == 0)
                if prefix in namespaces:
                    target, tag = d, f"{{{namespaces[prefix]}}}{local}"
                elif spec is None:
                    continue  # no i-UR in this file
                else:
                    target, tag = containers[prefix], spec.tag(local)
                target[tag] = _chain(target[tag], handler) if tag in target else handler
        self._containers = {}
        if spec is not None:
            u = spec.tag
            if spec.id_container and containers["id"]:
                d[u(spec.id_container)] = self._container
                self._containers[u(spec.id_container)] = (containers["id"], tuple(containers["id"]))
            if containers["detail"]:
                d[u(spec.detail_container)] = self._container
                self._containers[u(spec.detail_container)] = (containers["detail"], tuple(containers["detail"]))
            for name in spec.risk_containers:
                d[u(name)] = self._risk
            self._river = {u(n) for n in spec.river_flood_risk}
            self._tsunami = {u(n) for n in spec.tsunami_risk}
            self._landslide = {u(n) for n in spec.landslide_risk}
            self._t_depth = u("depth")
            self._t_rank = u("rank")
            self._t_rank_org = u("rankOrg")
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

    # -- geometry references ----------------------------------------------------------------
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
    def _container(self, el, unit):
        """An i-UR ID / detail container: its records' children go to the spec's handlers."""
        handlers, tags = self._containers[el.tag]
        for record in el:
            for child in record.iterchildren(*tags):
                handlers[child.tag](child, unit)

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
                        rank = text(child.text)
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
    """Fill a Building's attributes from its BuildingParts (in place), by each column's ``merge``
    rule (:mod:`~numazu_geo.citygml.columns`): heights and storeys the maximum, floor area the
    building's else the parts' sum, flood the deepest scenario, tsunami the deepest, landslide
    any, other attributes the building's own value else the first part that has one.
    """
    parts = unit.parts
    if not parts:
        return
    for col in _MERGED:
        name, rule = col.name, col.merge
        own = getattr(unit, name)
        if rule == "first":
            if not _is_set(own):
                for p in parts:
                    value = getattr(p, name)
                    if _is_set(value):
                        setattr(unit, name, value)
                        if col.code_space:
                            setattr(unit, col.code_space, getattr(p, col.code_space))
                        break
        elif rule == "max":
            values = [v for v in [own] + [getattr(p, name) for p in parts] if v is not None and v == v]
            setattr(unit, name, max(values) if values else col.default)
        elif rule == "sum":
            if not _is_set(own):
                values = [v for v in (getattr(p, name) for p in parts) if v is not None and v == v]
                setattr(unit, name, sum(values) if values else col.default)
        elif rule == "any":
            setattr(unit, name, bool(own) or any(bool(getattr(p, name)) for p in parts))
    for p in parts:
        if p._flood_key is not None:
            unit.add_river_flood(p.flood_depth_m, p.flood_rank_code, p.flood_rank_cs)


_MERGED = tuple(c for c in ATTRIBUTE_COLUMNS if c.merge in ("first", "max", "sum", "any"))
