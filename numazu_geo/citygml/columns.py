"""The columns of :func:`~numazu_geo.citygml.read_buildings`: one specification per column.

Each :class:`Column` says where the value comes from in a ``bldg:Building`` (``paths``), how its
text becomes a value (``parser``), its pandas dtype, and how a Building takes it from its
BuildingParts (``merge``). The attribute reader (:mod:`.attributes`), the reader's rows
(:mod:`.reader`) and the GeoDataFrame (:mod:`.api`) are all built from :data:`BUILDING_COLUMNS`,
so adding a PLATEAU attribute is one entry here, for example::


Paths
-----
``"gml:name"``, ``"bldg:<element>"``: a direct child of the Building. ``"id:<element>"`` and
``"detail:<element>"``: a child of the i-UR building ID record (``uro:buildingIDAttribute``, v2+)
or building detail record (``uro:buildingDetails`` v1, ``uro:buildingDetailAttribute`` v2+) in the
file's i-UR namespace. With several paths, the first path's value wins wherever it appears; the
others only fill a value still missing. ``keep`` says which of repeated elements counts.

Columns without paths are filled by dedicated code: the disaster-risk records and v1 generic
attributes (:mod:`.attributes`), and the geometry the reader derives (``kind="reader"``).

Merge rules (a Building with BuildingParts)
-------------------------------------------
``"first"`` the building's own value, else the first part's that has one; ``"max"`` the largest
over the building and its parts (NaN/NA ignored); ``"sum"`` the building's own value, else the sum
of the parts'; ``"any"`` true if any is; ``"flood"`` the deepest river-flood scenario with its rank
(:meth:`.attributes.Unit.add_river_flood`); None: not merged.

References
----------
MLIT, 3D都市モデル標準製品仕様書 (PLATEAU product specification) editions 1.0-5.0, 2020-2025.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from numazu_geo.citygml.address import xal_address

MISSING_NUMBER = -9999.0  # PLATEAU "unknown" for heights and areas
MISSING_COUNT = 9999  # PLATEAU "unknown" for storeys (and some years)


# --------------------------------------------------------------------------------------------
# parsers: element text -> value (None / NaN when absent or unknown)


def text(value: str | None) -> str | None:
    """Stripped text, None when absent or blank."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def to_float(value: str | None) -> float:
    """A measurement, NaN when absent, unparsable or the -9999 sentinel."""
    if value is None:
        return math.nan
    try:
        number = float(value)
    except ValueError:
        return math.nan
    if number <= MISSING_NUMBER + 0.5 or not math.isfinite(number):
        return math.nan
    return number


def to_count(value: str | None) -> int | None:
    """A count (storeys), None when absent, unparsable, negative or the 9999 sentinel."""
    if value is None:
        return None
    try:
        number = int(float(value))
    except ValueError:
        return None
    if number < 0 or number >= MISSING_COUNT:
        return None
    return number


def to_year(value: str | None) -> int | None:
    """A year, None when absent, 0 or the 9999 sentinel."""
    number = to_count(value)
    return number if number is not None and number > 0 else None


# --------------------------------------------------------------------------------------------
# the specification


@dataclass(frozen=True)
class Column:
    """One column of :func:`read_buildings`.

    name : column name (and the attribute of :class:`~numazu_geo.citygml.attributes.Unit`).
    dtype : pandas dtype of the GeoDataFrame column: ``"string"``, ``"float64"``, ``"Int64"``,
        ``"boolean"``.
    paths : where the reader finds it in a Building (see the module docstring).
    parser : element text -> value (:func:`text`, :func:`to_float`, :func:`to_count`,
        :func:`to_year`, or your own); with ``element=True`` it receives the lxml element instead
        (for values spread over child elements).
    merge : BuildingPart merge rule: ``"first"``, ``"max"``, ``"sum"``, ``"any"``, ``"flood"``, None.
    code_space : name of a hidden row field that keeps the element's ``codeSpace`` (code lists).
    keep : ``"first"`` or ``"last"`` of repeated elements at the first path.
    kind : ``"attribute"`` (read from the Building), ``"reader"`` (derived by the reader from
        geometry), ``"label"`` / ``"label_en"`` (the code list label of column ``label_of``),
        ``"source"`` (the file's address).
    label_of, codelist : for labels: the code column, and the code list file used when the
        element gives no codeSpace (``label_en``: the built-in table kind).
    parts_only : only with ``read_buildings(parts=True)``.
    """

    name: str
    dtype: str
    paths: tuple[str, ...] = ()
    parser: Callable | None = None
    merge: str | None = "first"
    code_space: str | None = None
    keep: str = "first"
    kind: str = "attribute"
    element: bool = False
    label_of: str | None = None
    codelist: str | None = None
    parts_only: bool = False

    @property
    def default(self):
        """The value of a Building without the element."""
        if self.dtype == "float64":
            return math.nan
        if self.dtype == "boolean":
            return False
        return None


#: The columns of :func:`read_buildings`, in output order (``geometry`` follows).
BUILDING_COLUMNS: tuple[Column, ...] = (
    Column("gml_id", "string", merge=None),  # the element's gml:id attribute
    Column("building_id", "string", paths=("id:buildingID",), parser=text),  # v1: gen 建物ID
    Column("city_code", "string", paths=("id:city", "detail:city"), parser=text, keep="last"),
    Column("name", "string", paths=("gml:name",), parser=text),
    # xAL address text, e.g. 東京都大田区南六郷三丁目 (issue 12)
    Column("address", "string", paths=("bldg:address",), parser=xal_address, element=True),
    Column("usage_code", "string", paths=("bldg:usage",), parser=text, code_space="usage_cs"),
    Column("usage", "string", kind="label", label_of="usage_code", codelist="Building_usage.xml"),
    Column("usage_en", "string", kind="label_en", label_of="usage_code", codelist="usage"),
    Column("measured_height_m", "float64", paths=("bldg:measuredHeight",), parser=to_float, merge="max", keep="last"),
    Column("storeys_above_ground", "Int64", paths=("bldg:storeysAboveGround",), parser=to_count, merge="max", keep="last"),
    Column("storeys_below_ground", "Int64", paths=("bldg:storeysBelowGround",), parser=to_count, merge="max", keep="last"),
    Column("year_of_construction", "Int64", paths=("bldg:yearOfConstruction",), parser=to_year, keep="last"),
    Column("total_floor_area_m2", "float64", paths=("detail:totalFloorArea",), parser=to_float, merge="sum", keep="last"),
    Column("structure", "string", kind="label", label_of="structure_code"),
    Column("flood_depth_m", "float64", merge="flood"),  # deepest river-flood scenario (risk records)
    Column("flood_rank", "string", kind="label", label_of="flood_rank_code"),
    Column("tsunami_depth_m", "float64", merge="max"),  # risk records
    Column("landslide", "boolean", merge="any"),  # risk records
    Column("lod", "Int64", merge=None, kind="reader"),
    Column("ground_z_m", "float64", merge=None, kind="reader"),
    Column("roof_z_m", "float64", merge=None, kind="reader"),
    Column("source_file", "string", merge=None, kind="source"),
    Column("geometry_issue", "string", merge=None, kind="reader"),
    Column("structure_code", "string", paths=("detail:buildingStructureType",), parser=text,
           code_space="structure_cs", keep="last"),  # fmt: skip
    Column("flood_rank_code", "string", merge="flood", code_space="flood_rank_cs"),  # risk records
    Column("footprint_from", "string", merge=None, kind="reader"),
    Column("roof_type_code", "string", paths=("bldg:roofType",), parser=text, code_space="roof_type_cs"),
    Column("parent_id", "string", merge=None, kind="reader", parts_only=True),
)  # fmt: skip

#: Columns read from the Building element (and kept on its ``Unit``), in spec order.
ATTRIBUTE_COLUMNS = tuple(c for c in BUILDING_COLUMNS if c.kind == "attribute")
#: Hidden row fields holding codeSpace attributes (for the code list labels).
CODE_SPACE_FIELDS = tuple(c.code_space for c in ATTRIBUTE_COLUMNS if c.code_space)
#: What the reader derives itself, in the order of the tail of every row.
READER_FIELDS = ("lod", "ground_z_m", "roof_z_m", "geometry_issue", "parent_id", "footprint_from")
#: Fields the reader takes from a Building's Unit: attribute columns, then codeSpaces.
UNIT_FIELDS = tuple(c.name for c in ATTRIBUTE_COLUMNS) + CODE_SPACE_FIELDS
#: Fields of a reader row: the unit's fields, then the reader's own.
ROW_FIELDS = UNIT_FIELDS + READER_FIELDS
#: Position of each field in a reader row.
ROW_INDEX = {name: i for i, name in enumerate(ROW_FIELDS)}
#: Output columns of read_buildings (``parent_id`` only with ``parts=True``), before ``geometry``.
OUTPUT_COLUMNS = [c.name for c in BUILDING_COLUMNS if not c.parts_only]
BY_NAME = {c.name: c for c in BUILDING_COLUMNS}


def _check(columns) -> None:
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate column names in the building specification: {names}")
    reader = {c.name for c in columns if c.kind == "reader"}
    if reader != set(READER_FIELDS):
        raise ValueError(f"reader columns {sorted(reader)} differ from READER_FIELDS {READER_FIELDS}")
    for c in columns:
        if c.kind in ("label", "label_en") and c.label_of not in {a.name for a in columns}:
            raise ValueError(f"label column {c.name!r} refers to unknown column {c.label_of!r}")
        if c.merge not in ("first", "max", "sum", "any", "flood", None):
            raise ValueError(f"column {c.name!r}: unknown merge rule {c.merge!r}")
        for path in c.paths:
            prefix = path.split(":", 1)[0]
            if prefix not in ("gml", "bldg", "id", "detail") or ":" not in path:
                raise ValueError(f"column {c.name!r}: path {path!r} must start with gml:, bldg:, id: or detail:")


_check(BUILDING_COLUMNS)
