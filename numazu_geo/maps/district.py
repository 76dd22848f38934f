"""One call from analysis result to offline district map (used by ``make demo`` and the notebooks)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import shapely.ops  # noqa: F401 - nearest_points

from numazu_geo.maps.deck import save_html, view
from numazu_geo.maps.layers import buildings_layer, labels_layer, place_layers

log = logging.getLogger(__name__)

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


def context_source(buildings: gpd.GeoDataFrame):
    """Where the buildings' dataset lies (a zip, or a building file inside ``udx/bldg``), from ``source_file``."""
    if "source_file" not in buildings.columns:
        return None
    from numazu_geo.maps.credits import zip_parts

    for label in buildings["source_file"].dropna().astype(str).unique()[:1]:
        parts = zip_parts(label)
        if parts is not None:
            return parts[0] if Path(parts[0]).is_file() else None
        return label if Path(label).is_file() else None
    return None


#: Context is read this far around the buildings (degrees; 0.015 deg is about 1.4 km), plus the
#: district's own size: a tilted 3D view shows that much beyond the buildings (display choice).
CONTEXT_MARGIN_DEG = 0.015


def context_bbox(bounds) -> tuple[float, float, float, float]:
    """The (west, south, east, north) box of place context drawn around ``bounds`` of the buildings."""
    west, south, east, north = bounds
    pad = max(east - west, north - south) + CONTEXT_MARGIN_DEG
    return (west - pad, south - pad, east + pad, north + pad)


#: A river or the sea this close to the buildings (m) is brought into the first view (display choice:
#: a pupil recognises the place by its water).
NEAR_WATER_M = 1200.0


def _bounds_with_near_water(bounds, context) -> tuple | None:
    """``bounds`` grown to the nearest point of water (wtr context) within :data:`NEAR_WATER_M`, else None."""
    import shapely

    water = [lay.source_frame for lay in context if getattr(lay, "kind", "") == "context_wtr"
             and getattr(lay, "source_frame", None) is not None and len(lay.source_frame)]
    if not water:
        return None
    frame = water[0]
    west, south, east, north = bounds
    centre = gpd.GeoSeries([shapely.Point((west + east) / 2, (south + north) / 2)], crs=4326).to_crs(frame.crs).iloc[0]
    union = frame.geometry.union_all()
    if union.distance(centre) > NEAR_WATER_M + max(east - west, north - south) * 111_000 / 2:
        return None
    near = shapely.ops.nearest_points(union, centre)[0]
    lon, lat = gpd.GeoSeries([near], crs=frame.crs).to_crs(4326).iloc[0].coords[0]
    return (min(west, lon), min(south, lat), max(east, lon), max(north, lat))


def district_title(column: str | None, place: str | None, lang: str) -> str:
    """「<place> <analysis>」, e.g. 「大田区 屋根の年間日射量（3D）」."""
    what = _TITLES.get(column, {}).get(lang) or ("3D都市モデル" if lang == "ja" else "3D city model")
    if not place:
        return what
    return f"{place} {what}" if lang == "ja" else f"{place[:1].upper() + place[1:]}: {what}"


def district_map(
    result,
    path: str | os.PathLike,
    *,
    lang: str = "ja",
    title: str | None = None,
    subtitle: str | None = None,
    color_by: str | None = None,
    stretch: bool = False,
    offline: bool = True,
    context=True,
    city: str | None = None,
    year: int | str | None = None,
    attribution: str | None = None,
) -> Path:
    """Write the 3D district map of ``result`` (SolarResult, buildings GeoDataFrame or GeoParquet path).

    Buildings are extruded to their heights and coloured by ``color_by`` (default: roof
    irradiation ``kwh_m2_year`` when present, else height) over the quantity's fixed range
    (``stretch=True`` for this data's range). For roof quantities, walls are neutral and roofs
    coloured: a SolarResult's LOD2 roof faces where the data has them, flat caps elsewhere.
    ``context=True`` draws the dataset's roads, water, land use and flood/tsunami areas (when its
    folder or zip has them) under the buildings, and labels named buildings and places; pass a
    PLATEAU folder/zip to read context from elsewhere, or False for none. Title and credits come
    from the data (city and year); ``attribution`` or ``city``/``year`` override the credit.
    Returns the path of the offline HTML.
    """
    from numazu_geo.maps.credits import place_name

    buildings = _buildings_of(result)
    faces = getattr(result, "faces", None)
    layer = buildings_layer(buildings, color_by=color_by, lang=lang, stretch=stretch,
                            roof_faces=faces if isinstance(faces, gpd.GeoDataFrame) else None)
    shown = color_by or next((c for c in ("kwh_m2_year", "measured_height_m", "usage") if c in buildings.columns), None)
    titles = {lg: title if (title and lg == lang) else district_title(shown, place_name(buildings, lg), lg)
              for lg in ("ja", "en")}
    n = len(buildings)
    subtitles = {"ja": f"建物 {n:,} 棟", "en": f"{n:,} buildings"}
    if subtitle is not None:
        subtitles[lang] = subtitle
    ctx = []
    if context is not False and context is not None:
        source = context_source(buildings) if context is True else context
        if source is not None:
            west, south, east, north = layer.bounds_lonlat
            ctx = place_layers(source, lang=lang, bbox=context_bbox(layer.bounds_lonlat))
    names = labels_layer(buildings)
    if names is not None:
        ctx.append(names)
    camera = {}
    grown = _bounds_with_near_water(layer.bounds_lonlat, ctx) if ctx else None
    if grown is not None:
        from numazu_geo.maps.deck import fit_zoom

        camera = {"zoom": fit_zoom(grown), "center_lonlat": ((grown[0] + grown[2]) / 2, (grown[1] + grown[3]) / 2)}
    deck = view(layer, title=titles, subtitle=subtitles, lang=lang, attribution=attribution, city=city, year=year,
                basemap="gsi", provenance=result, context=ctx, **camera)
    return save_html(deck, path, offline=offline)
