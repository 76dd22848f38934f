"""Tables for people: CSV and Excel exports with coordinates, rounded values with units, and the credit.

A planner opening the building table in Excel needs to find each building (longitude/latitude of
its footprint centre, name, address), read the numbers (rounded as the maps show them, units in
the header) and know where they come from (the PLATEAU credit line and the provenance caption).

>>> write_csv(result.buildings, "solar_buildings.csv", lang="ja")     # doctest: +SKIP
>>> write_xlsx(result.buildings, "solar_buildings.xlsx")               # doctest: +SKIP

CSV layout: line 1 is the credit (one quoted cell), line 2 the column headers with units, then the
data; read it back with ``pandas.read_csv(path, skiprows=1)``. UTF-8 with BOM so Excel in Japan
reads the Japanese text. Excel layout: row 1 credit, row 2 headers, row 3 units, data from row 4
(panes frozen under the headers). Machine-readable full-precision tables stay the job of
GeoParquet (:func:`numazu_geo.io.to_parquet`).
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from numazu_geo.io import atomic_path
from numazu_geo.maps.labels import FIELDS, check_lang, field

#: Columns that lead the table (identification and place), in order, when present.
LEAD_COLUMNS = ("building_id", "gml_id", "face_id", "name", "address", "usage", "lon", "lat")
#: Columns left out of the people's table (internal, geometry-derived or duplicated).
SKIP_COLUMNS = ("geometry", "building_key", "usage_en", "usage_code", "structure_code", "flood_rank_code",
                "source_file", "footprint_from", "geometry_issue", "normal_x", "normal_y", "normal_z")
#: Decimal places of longitude/latitude (1e-6 degree is about 0.1 m in Japan).
LONLAT_DECIMALS = 6
_LONLAT = {"lon": ("経度", "Longitude", "°"), "lat": ("緯度", "Latitude", "°")}
_CREDIT = {"ja": "出典", "en": "Source"}


def _decimals(fmt: str) -> int | None:
    match = re.search(r"\.(\d+)f", fmt)
    return int(match.group(1)) if match else None


def lonlat_columns(gdf: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """``{"lon": ..., "lat": ...}``: WGS 84 degrees (6 decimals) of a point inside each geometry."""
    lonlat = gdf.geometry.representative_point().to_crs(4326)
    return {"lon": np.round(lonlat.x.to_numpy(), LONLAT_DECIMALS), "lat": np.round(lonlat.y.to_numpy(), LONLAT_DECIMALS)}


def people_table(gdf: pd.DataFrame, *, columns=None) -> tuple[pd.DataFrame, dict]:
    """(table, {column: unit}) with ``lon``/``lat`` of each footprint's centre (WGS 84) and values
    rounded as the maps show them (percent columns stay fractions, rounded to 3 places)."""
    frame = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name]) if isinstance(gdf, gpd.GeoDataFrame) else gdf).copy()
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.crs is not None:
        for key, values in lonlat_columns(gdf).items():
            frame[key] = values
    if columns is None:
        rest = [c for c in frame.columns if c not in LEAD_COLUMNS and c not in SKIP_COLUMNS]
        columns = [c for c in LEAD_COLUMNS if c in frame.columns] + rest
    frame = frame[list(columns)]
    units = {}
    for col in frame.columns:
        if col in _LONLAT:
            units[col] = _LONLAT[col][2]
            continue
        label = FIELDS.get(col)
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        if label is None and numeric and pd.api.types.is_float_dtype(frame[col]):
            # unlabelled measures: kWh columns to 0.1 kWh, heights and the rest to 1 mm / 0.001
            unit = "kWh/m2" if col.startswith("kwh_m2_month_") or col.endswith("kwh_m2_year") else ""
            if unit:
                units[col] = unit
            frame[col] = frame[col].round(1 if unit else 3)
            continue
        if label is None or not numeric:
            continue
        units[col] = "-" if label.scale != 1.0 else label.unit_en
        places = _decimals(label.fmt)
        if label.scale != 1.0:
            places = 3
        if places is not None:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").round(places)
    return frame, units


def headers(columns, units: dict, lang: str = "en", *, with_units: bool = True) -> list[str]:
    """Column headers: the column names (``lang="en"``, machine-friendly, ``kwh_m2_year [kWh/m²/yr]``)
    or the Japanese labels (``"ja"``, ``屋根の年間日射量 (kWh/m²/年)``)."""
    check_lang(lang)
    out = []
    for col in columns:
        if lang == "ja":
            if col in _LONLAT:
                name, unit = _LONLAT[col][0], _LONLAT[col][2]
            else:
                label = field(col)
                name, unit = label.ja, (label.unit_ja if label.scale == 1.0 else "")
            out.append(f"{name} ({unit})" if with_units and unit else name)
        else:
            unit = units.get(col, "")
            out.append(f"{col} [{unit}]" if with_units and unit and unit != "-" else str(col))
    return out


def _credit_line(gdf, lang: str, credit: str | None) -> str:
    if credit is not None:
        return credit
    from numazu_geo.maps.credits import caption

    return caption(gdf, lang)


def write_csv(gdf: pd.DataFrame, path: str | os.PathLike, *, lang: str = "en", columns=None,
              credit: str | None = None, credit_row: bool = True) -> Path:
    """Write the people's table (see module docs) as CSV: credit line, headers with units, data.

    ``lang="ja"`` gives Japanese headers; the values are the same. ``credit_row=False`` leaves the
    credit line out (a plain table for other programs).
    """
    check_lang(lang)
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: write_csv writes .csv files")
    table, units = people_table(gdf, columns=columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if credit_row:
        writer.writerow([_credit_line(gdf, lang, credit)])
    writer.writerow(headers(table.columns, units, lang))
    table.to_csv(buf, index=False, header=False, lineterminator="\n")
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8-sig")
    return path


def write_xlsx(gdf: pd.DataFrame, path: str | os.PathLike, *, lang: str = "ja", columns=None,
               credit: str | None = None, sheet_name: str | None = None) -> Path:
    """Write the people's table as an Excel workbook: row 1 credit, row 2 headers, row 3 units, data below.

    Needs ``openpyxl`` (in the ``[notebooks]`` and ``[dev]`` extras).
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"{path}: write_xlsx writes .xlsx files")
    wb = workbook(gdf, lang=lang, columns=columns, credit=credit, sheet_name=sheet_name)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def workbook(gdf: pd.DataFrame, *, lang: str = "ja", columns=None, credit: str | None = None,
             sheet_name: str | None = None):
    """The ``openpyxl.Workbook`` that :func:`write_xlsx` saves."""
    check_lang(lang)
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("Excel export needs openpyxl: pip install 'numazu-geo[notebooks]'") from exc
    table, units = people_table(gdf, columns=columns)
    wb = Workbook()
    ws = wb.active
    ws.title = (sheet_name or ("建物" if lang == "ja" else "buildings"))[:31]
    ws.append([_credit_line(gdf, lang, credit)])
    ws.append(headers(table.columns, units, lang, with_units=False))
    unit_row = []
    for col in table.columns:
        if lang == "ja" and col not in _LONLAT and col in FIELDS:
            label = FIELDS[col]
            unit_row.append(label.unit_ja if label.scale == 1.0 else ("0-1" if units.get(col) == "-" else ""))
        else:
            unit = units.get(col, "")
            unit_row.append("0-1" if unit == "-" else unit)
    ws.append(unit_row)
    for row in table.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is None else
                   (v.item() if hasattr(v, "item") else v) for v in row])
    ws["A1"].font = Font(italic=True, size=9)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for cell in ws[3]:
        cell.font = Font(italic=True, size=9)
    ws.freeze_panes = "A4"
    for i, col in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, min(40, len(str(col)) + 4))
    return wb
