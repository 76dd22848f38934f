"""PLATEAU code lists: code -> label tables (``gml:Dictionary`` files in a dataset's ``codelists/``).

Attributes such as ``bldg:usage`` hold a code and a ``codeSpace`` naming the list, e.g.
``codeSpace="../../codelists/Building_usage.xml"``. The reader looks the code up in the dataset's
own list (next to ``udx/`` on disk or inside the zip) and, when the dataset has none, in the
built-in tables ``data/codelists/*.csv`` (Japanese label, English translation, source, year).
List file names differ between spec versions (v2 ``Building*RiskAttribute_*.xml`` and
``Building_buildingStructureType.xml``, v3+ ``RiverFloodingRiskAttribute_*.xml`` and
``BuildingDetailAttribute_buildingStructureType.xml``); the fallback matches both.
"""

from __future__ import annotations

import functools
import logging
import zipfile
from pathlib import Path, PurePosixPath

import pandas as pd
from lxml import etree

from numazu_geo.citygml.versions import GML

log = logging.getLogger(__name__)

#: built-in table file in data/codelists/ for a code-list file name (case-insensitive suffix match)
_FALLBACKS = (
    ("building_usage.xml", "building_usage.csv"),
    ("buildingstructuretype.xml", "building_structure_type.csv"),
    ("riverfloodingriskattribute_rank.xml", "river_flooding_rank.csv"),
    ("common_localpublicauthorities.xml", "local_public_authorities.csv"),
)
#: code list of prefectures and municipalities (全国地方公共団体コード as PLATEAU lists them)
LOCAL_AUTHORITIES_LIST = "Common_localPublicAuthorities.xml"


def secure_parser() -> etree.XMLParser:
    """An XML parser that never loads DTDs, expands entities or touches the network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )


def parse_dictionary(data: bytes, where: str = "<codelist>") -> dict[str, str]:
    """Parse a ``gml:Dictionary`` code list into {code: label}."""
    root = etree.fromstring(data, secure_parser())
    out: dict[str, str] = {}
    for definition in root.iter(f"{{{GML}}}Definition"):
        code = definition.findtext(f"{{{GML}}}name")
        label = definition.findtext(f"{{{GML}}}description")
        if code is not None and label is not None:
            out[code.strip()] = label.strip()
    if not out:
        log.warning("%s: code list has no gml:Definition entries", where)
    return out


@functools.lru_cache(maxsize=256)
def _load_list(location: str, filename: str) -> dict[str, str] | None:
    """Load ``filename`` from a codelists folder (``/path`` or ``zip:<zip>!<prefix>``); None if absent."""
    try:
        if location.startswith("zip:"):
            zip_path, prefix = location[4:].split("!", 1)
            with zipfile.ZipFile(zip_path) as zf:
                try:
                    data = zf.read(prefix + filename)
                except KeyError:
                    return None
            return parse_dictionary(data, f"{zip_path}!{prefix}{filename}")
        path = Path(location) / filename
        if not path.is_file():
            return None
        return parse_dictionary(path.read_bytes(), str(path))
    except etree.XMLSyntaxError as exc:
        log.warning("%s/%s: unreadable code list (%s); using built-in labels", location, filename, exc)
        return None


@functools.lru_cache(maxsize=None)
def builtin_table(csv_name: str) -> pd.DataFrame:
    """A built-in code table (columns code, label_ja, label_en, source, year) from data/codelists/."""
    from numazu_geo.paths import data_path

    return pd.read_csv(data_path("codelists", csv_name), dtype=str, keep_default_na=False)


def _fallback_csv(filename: str) -> str | None:
    low = filename.lower()
    for suffix, csv_name in _FALLBACKS:
        if low.endswith(suffix):
            return csv_name
    return None


@functools.lru_cache(maxsize=256)
def builtin_labels(filename: str, lang: str = "ja") -> dict[str, str]:
    csv_name = _fallback_csv(filename)
    if csv_name is None:
        return {}
    table = builtin_table(csv_name)
    return dict(zip(table["code"], table["label_ja" if lang == "ja" else "label_en"]))


class CodeLists:
    """Code-list lookup for one dataset.

    ``locations``: codelists folders to search, nearest first (paths, or ``zip:<zip>!<prefix>``).
    A user-supplied folder (``codelists=`` of the readers) comes first.
    """

    def __init__(self, locations: list[str] | tuple[str, ...] = ()):
        self.locations = tuple(locations)

    def table(self, filename: str) -> tuple[dict[str, str], str]:
        """{code: label} for a code-list file name and where it came from ("dataset"/"builtin"/"none")."""
        filename = PurePosixPath(filename.replace("\\", "/")).name
        for loc in self.locations:
            table = _load_list(loc, filename)
            if table is not None:
                return table, "dataset"
        labels = builtin_labels(filename)
        return labels, ("builtin" if labels else "none")

    def label(self, filename: str | None, code: str | None) -> str | None:
        if filename is None or code is None:
            return None
        return self.table(filename)[0].get(code)


def english_labels(kind: str) -> dict[str, str]:
    """English labels by code for ``kind`` in {"usage", "structure", "flood_rank"} (built-in tables)."""
    csv_name = {
        "usage": "building_usage.csv",
        "structure": "building_structure_type.csv",
        "flood_rank": "river_flooding_rank.csv",
    }[kind]
    table = builtin_table(csv_name)
    return dict(zip(table["code"], table["label_en"]))


def municipality_names(codes, locations=()) -> dict[str, str]:
    """{code: name} for municipality codes (``uro:city``, e.g. ``"22203"`` -> ``"静岡県沼津市"``).

    Looks in the dataset's own ``Common_localPublicAuthorities.xml`` (``locations``: codelists
    folders, nearest first) and then in the built-in copy ``data/codelists/local_public_authorities.csv``
    (all prefectures and municipalities as PLATEAU lists them, MLIT, 2024). Codes found in neither
    are left out.
    """
    wanted = {str(c) for c in codes if c is not None and str(c) not in {"", "nan", "<NA>"}}
    out: dict[str, str] = {}
    for table in [_load_list(str(loc), LOCAL_AUTHORITIES_LIST) for loc in locations] + [
        builtin_labels(LOCAL_AUTHORITIES_LIST)
    ]:
        for code in wanted - set(out):
            if table and code in table:
                out[code] = table[code]
    return out


def short_municipality_name(code: str, full_name: str, locations=()) -> str:
    """``"静岡県沼津市"`` -> ``"沼津市"``: the name without its prefecture (the prefecture's own entry is kept)."""
    code = str(code)
    if len(code) <= 2:
        return full_name
    pref = municipality_names([code[:2]], locations).get(code[:2])
    if pref and full_name.startswith(pref) and len(full_name) > len(pref):
        return full_name[len(pref):]
    return full_name
