"""One call from analysis result to offline district map (used by ``make demo`` and the notebooks)."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd

from numazu_geo.maps.deck import PLATEAU_CITY, PLATEAU_YEAR, save_html, view
from numazu_geo.maps.layers import buildings_layer

_TITLES = {
    "kwh_m2_year": {"ja": "屋根の年間日射量（3D）", "en": "Rooftop solar irradiation (3D)"},
    "kwh_year": {"ja": "屋根の太陽光発電ポテンシャル（3D）", "en": "Rooftop PV potential (3D)"},
    "co2_avoided_kg_year": {"ja": "太陽光発電によるCO2削減量（3D）", "en": "CO2 avoided by rooftop PV (3D)"},
    "measured_height_m": {"ja": "建物の高さ（3D）", "en": "Building heights (3D)"},
    "usage": {"ja": "建物の用途（3D）", "en": "Building usage (3D)"},
    "co2_kg_m2_year": {"ja": "建物の床面積あたりCO2排出量（3D）", "en": "Building CO2 emissions per floor area (3D)"},
    "co2_kg_year": {"ja": "建物のCO2排出量（3D）", "en": "Building CO2 emissions (3D)"},
    "pv_coverage_frac": {"ja": "屋根の太陽光でまかなえる電力の割合（3D）", "en": "Share of use covered by own rooftop PV (3D)"},
}


def _buildings_of(result) -> gpd.GeoDataFrame:
    if isinstance(result, gpd.GeoDataFrame):
        return result
    if isinstance(result, (str, os.PathLike)):
        from numazu_geo.io import read_parquet

        return read_parquet(result)
    buildings = getattr(result, "buildings", None)
    if isinstance(buildings, gpd.GeoDataFrame):
        return buildings
    raise TypeError(
        "district_map expects a GeoDataFrame of buildings, a SolarResult (with .buildings) or a GeoParquet path, "
        f"got {type(result).__name__}"
    )


def district_map(
    result,
    path: str | os.PathLike,
    *,
    lang: str = "ja",
    title: str | None = None,
    subtitle: str | None = None,
    color_by: str | None = None,
    offline: bool = True,
    city: str = PLATEAU_CITY,
    year: int | str = PLATEAU_YEAR,
    attribution: str | None = None,
) -> Path:
    """Write the 3D district map of ``result`` (SolarResult, buildings GeoDataFrame or GeoParquet path).

    Buildings are extruded to their heights and coloured by ``color_by`` (default: roof
    irradiation ``kwh_m2_year`` when present, else height). Returns the path of the offline HTML.
    """
    buildings = _buildings_of(result)
    layer = buildings_layer(buildings, color_by=color_by, lang=lang)
    shown = color_by or next((c for c in ("kwh_m2_year", "measured_height_m", "usage") if c in buildings.columns), None)
    if title is None:
        title = _TITLES.get(shown, {}).get(lang) or ("3D都市モデル" if lang == "ja" else "3D city model")
    if subtitle is None:
        n = len(buildings)
        subtitle = f"{city} · 建物 {n:,} 棟" if lang == "ja" else f"{n:,} buildings"
    deck = view(layer, title=title, subtitle=subtitle, lang=lang, attribution=attribution, city=city, year=year,
                basemap="gsi")
    return save_html(deck, path, offline=offline)
