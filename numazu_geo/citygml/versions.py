"""PLATEAU specification versions and the XML namespaces that identify them.

The data year does not tell the version of a PLATEAU file; the i-UR (``uro``) namespace does
(PLATEAU "3D都市モデル標準製品仕様書" editions 1.0-5.0, MLIT 2020-2025):

=========  ===================================================================  ==========
spec       ``xmlns:uro``                                                        CityGML
=========  ===================================================================  ==========
v1         http://www.kantei.go.jp/jp/singi/tiiki/toshisaisei/itoshisaisei/iur/uro/1.4   2.0
v2         https://www.geospatial.jp/iur/uro/2.0                                2.0
v3         https://www.geospatial.jp/iur/uro/3.0                                2.0
v4         https://www.geospatial.jp/iur/uro/3.1                                2.0
v5         https://www.geospatial.jp/iur/uro/3.2                                2.0
=========  ===================================================================  ==========

All of these are CityGML 2.0 with GML 3.1.1. A CityGML 3.0 edition (core/bldg ``.../3.0``,
GML 3.2, uro 4.0) exists and is rejected with :class:`~numazu_geo.errors.UnsupportedCityGMLError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GML = "http://www.opengis.net/gml"
CORE = "http://www.opengis.net/citygml/2.0"
BLDG = "http://www.opengis.net/citygml/building/2.0"
GEN = "http://www.opengis.net/citygml/generics/2.0"
APP = "http://www.opengis.net/citygml/appearance/2.0"
XLINK = "http://www.w3.org/1999/xlink"

CITYGML3_CORE = "http://www.opengis.net/citygml/3.0"
GML32 = "http://www.opengis.net/gml/3.2"

URO_V1 = "http://www.kantei.go.jp/jp/singi/tiiki/toshisaisei/itoshisaisei/iur/uro/1.4"
URO_V2 = "https://www.geospatial.jp/iur/uro/2.0"
URO_V3 = "https://www.geospatial.jp/iur/uro/3.0"
URO_V4 = "https://www.geospatial.jp/iur/uro/3.1"
URO_V5 = "https://www.geospatial.jp/iur/uro/3.2"

_URO_RE = re.compile(rb"""xmlns:(\w+)\s*=\s*["']([^"']*iur/uro/([0-9.]+))["']""")
_CITYGML_RE = re.compile(rb"""["']http://www\.opengis\.net/citygml/(?:[a-z]+/)?([0-9]\.[0-9])["']""")


@dataclass(frozen=True)
class SpecVersion:
    """One PLATEAU specification edition and the i-UR element names it uses for buildings.

    ``risk_container`` is the child of ``bldg:Building`` holding one disaster-risk record; the
    ``*_risk`` names are the record types inside it (both the v2/v3 ``Building...`` names and the
    v4/v5 names are accepted for the version's namespace, since real files mix them).
    """

    name: str  # "v1" .. "v5"
    uro: str  # i-UR namespace URI
    uro_version: str  # "1.4", "2.0", ...
    id_container: str | None  # uro:buildingIDAttribute (v2+); v1 uses gen:stringAttribute 建物ID
    id_record: str | None
    detail_container: str  # uro:buildingDetails (v1) / uro:buildingDetailAttribute (v2+)
    detail_record: str
    risk_containers: tuple[str, ...]
    river_flood_risk: tuple[str, ...]
    tsunami_risk: tuple[str, ...]
    landslide_risk: tuple[str, ...]

    def tag(self, local: str) -> str:
        """Clark-notation tag ``{uro-ns}local``."""
        return f"{{{self.uro}}}{local}"

    @property
    def label(self) -> str:
        return f"PLATEAU {self.name} (i-UR {self.uro_version})"


_V2_RISK = dict(
    risk_containers=("buildingDisasterRiskAttribute", "bldgDisasterRiskAttribute"),
    river_flood_risk=("BuildingRiverFloodingRiskAttribute", "RiverFloodingRiskAttribute"),
    tsunami_risk=("BuildingTsunamiRiskAttribute", "TsunamiRiskAttribute"),
    landslide_risk=("BuildingLandSlideRiskAttribute", "LandSlideRiskAttribute"),
)
_V4_RISK = dict(
    risk_containers=("bldgDisasterRiskAttribute", "buildingDisasterRiskAttribute"),
    river_flood_risk=("RiverFloodingRiskAttribute", "BuildingRiverFloodingRiskAttribute"),
    tsunami_risk=("TsunamiRiskAttribute", "BuildingTsunamiRiskAttribute"),
    landslide_risk=("LandSlideRiskAttribute", "BuildingLandSlideRiskAttribute"),
)
_V2_IDS = dict(
    id_container="buildingIDAttribute",
    id_record="BuildingIDAttribute",
    detail_container="buildingDetailAttribute",
    detail_record="BuildingDetailAttribute",
)

VERSIONS: dict[str, SpecVersion] = {
    "1.4": SpecVersion(
        "v1", URO_V1, "1.4", None, None, "buildingDetails", "BuildingDetails", (), (), (), ()
    ),
    "2.0": SpecVersion("v2", URO_V2, "2.0", **_V2_IDS, **_V2_RISK),
    "3.0": SpecVersion("v3", URO_V3, "3.0", **_V2_IDS, **_V2_RISK),
    "3.1": SpecVersion("v4", URO_V4, "3.1", **_V2_IDS, **_V4_RISK),
    "3.2": SpecVersion("v5", URO_V5, "3.2", **_V2_IDS, **_V4_RISK),
}

#: v1 (i-UR 1.4) stores hazards as gen:genericAttributeSet named after the hazard map. Substrings
#: of those names (PLATEAU 標準製品仕様書 第1.0版, 2021, 4.2 建築物 汎用属性):
V1_RIVER_FLOOD_KEYS = ("洪水浸水想定区域",)
V1_TSUNAMI_KEYS = ("津波浸水想定",)
V1_LANDSLIDE_KEYS = ("土砂災害警戒区域", "土砂災害特別警戒区域")
V1_DEPTH_NAME = "浸水深"
V1_RANK_NAME = "浸水ランク"
V1_BUILDING_ID_NAME = "建物ID"

HEADER_BYTES = 1 << 16  # the root start tag (all namespace declarations) fits well inside this


@dataclass(frozen=True)
class DetectedVersion:
    spec: SpecVersion | None  # None: a CityGML 2.0 file without i-UR attributes
    citygml: str  # "2.0" or "3.0" (or "unknown")
    uro_found: str | None

    @property
    def label(self) -> str:
        if self.spec is not None:
            return self.spec.label
        return f"CityGML {self.citygml} without i-UR"


_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\xef\xbb\xbf", "utf-8"),
)  # fmt: skip
_NO_BOM = (  # "<?" in each encoding (XML 1.0, Appendix F.1)
    (b"\x00\x00\x00\x3c", "utf-32-be"), (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"), (b"\x3c\x00\x3f\x00", "utf-16-le"),
)  # fmt: skip
_DECL_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def sniff_encoding(header: bytes) -> str:
    """The character encoding of an XML document from its first bytes (XML 1.0 Appendix F.1).

    Byte order mark first, then the byte pattern of ``<?``/``<`` for UTF-16/32 without a BOM, then
    the ``encoding="..."`` of the XML declaration, else UTF-8.
    """
    for bom, enc in _BOMS:
        if header.startswith(bom):
            return enc
    for start, enc in _NO_BOM:
        if header.startswith(start):
            return enc
    m = _DECL_ENCODING_RE.match(header)
    if m:
        import codecs

        try:
            return codecs.lookup(m.group(1).decode("ascii")).name
        except LookupError:
            return "utf-8"
    return "utf-8"


def header_as_utf8(header: bytes) -> bytes:
    """The first bytes of a file re-encoded as UTF-8, whatever its encoding, for the checks on
    the prolog (DOCTYPE refusal, namespace detection) that look for ASCII byte patterns."""
    enc = sniff_encoding(header)
    if enc in ("utf-8", "ascii"):
        return header
    width = 4 if enc.startswith("utf-32") else 2 if enc.startswith("utf-16") else 1
    usable = header[: len(header) - len(header) % width]
    text = usable.decode(enc, errors="replace").lstrip("\ufeff")
    return text.encode("utf-8")


def root_start_tag(header: bytes) -> bytes:
    """The bytes up to the end of the root element's start tag (where namespaces are declared)."""
    pos = 0
    while True:
        lt = header.find(b"<", pos)
        if lt < 0 or lt + 1 >= len(header):
            return header
        nxt = header[lt + 1 : lt + 2]
        if nxt == b"?":
            pos = header.find(b"?>", lt) + 2
        elif header.startswith(b"<!--", lt):
            pos = header.find(b"-->", lt) + 3
        elif nxt == b"!":
            pos = header.find(b">", lt) + 1
        else:
            gt = header.find(b">", lt)
            return header if gt < 0 else header[: gt + 1]
        if pos <= 1:  # unterminated construct: search everything
            return header


def detect_version(header: bytes) -> DetectedVersion:
    """Detect the CityGML and PLATEAU spec version from the first bytes of a file.

    Raises ``ValueError`` (wrapped by the reader into ``UnsupportedCityGMLError``) for CityGML
    3.0 or an i-UR version this reader does not know, naming what was found.
    """
    header = root_start_tag(header)
    cg = {m.group(1).decode() for m in _CITYGML_RE.finditer(header)}
    uro = _URO_RE.search(header)
    uro_version = uro.group(3).decode() if uro else None
    if "3.0" in cg or GML32.encode() in header:
        found = "CityGML 3.0" + (f" (i-UR {uro_version})" if uro_version else "")
        raise ValueError(f"{found} is not supported; this reader handles CityGML 2.0 (PLATEAU spec v1-v5)")
    citygml = "2.0" if "2.0" in cg else "unknown"
    if uro_version is None:
        return DetectedVersion(None, citygml, None)
    spec = VERSIONS.get(uro_version)
    if spec is None:
        raise ValueError(
            f"i-UR (uro) namespace version {uro_version} is not supported "
            f"(known: {', '.join(sorted(VERSIONS))})"
        )
    if uro.group(2).decode() != spec.uro:
        # same version number but a different host (e.g. http vs https): use the file's URI
        spec = SpecVersion(**{**spec.__dict__, "uro": uro.group(2).decode()})
    return DetectedVersion(spec, citygml, uro_version)
