"""pydeck layers that carry the analysis: buildings, roofs, green-view points, trips.

Every function takes a GeoDataFrame in any CRS (it must have one), reprojects to WGS 84
(EPSG:4326, what deck.gl's ``MapView`` expects), colours the features with
:mod:`numazu_geo.maps.colormaps` and writes a ready-made tooltip (Japanese or English) per
feature. The result is an :class:`AnalysisLayer`: a ``pydeck.Layer`` that also knows its legend
and the bounds of its data, which :func:`numazu_geo.maps.view` uses for the camera and
:func:`numazu_geo.maps.save_html` for the legend panel.

Heights follow the project convention (metres; absolute heights above Tokyo Bay mean sea level
for 3D roof polygons). Extruded buildings stand on z = 0 by default, so that they sit on a flat
base map; ``base_z="ground"`` puts them on ``ground_z_m`` instead.
"""

from __future__ import annotations

import html
import logging
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import pydeck as pdk
import shapely

from numazu_geo.maps.colormaps import DEFAULT_CMAP, Legend, colors_for
from numazu_geo.maps.labels import TITLE_COLUMNS, check_lang, field, is_missing, mode_name

log = logging.getLogger(__name__)

#: Floor-to-floor height used to estimate a building's height from its storeys when PLATEAU has no
#: measured height (project assumption, a common rule of thumb for Japanese houses and offices;
#: such heights are marked "推定 / estimated" in the tooltip).
STOREY_HEIGHT_M = 3.0
#: Height drawn for a building with neither measured height, storeys nor LOD1 solid (project
#: assumption: two storeys); marked "推定 / estimated" in the tooltip.
DEFAULT_HEIGHT_M = 6.0
#: Decimal places kept for longitude/latitude (1e-6 degree is about 0.1 m in Japan).
LONLAT_DECIMALS = 6
#: Radius of a green-view survey point on the map (metres).
GVI_POINT_RADIUS_M = 6.0
#: Height of a green-view column per percentage point of GVI (m): a 25 % street is a 2 + 10 m
#: column, next to buildings of 5-40 m (display choice).
GVI_HEIGHT_PER_PCT_M = 0.4
#: Height of a green-view column at GVI 0 or without a value (m), so every point stays visible.
GVI_MIN_HEIGHT_M = 2.0
#: Width of a trip ribbon on the map (metres).
TRIP_WIDTH_M = 4.0
#: Height of a trip ribbon (m): just above the ground plane so it never flickers against it.
TRIP_RIBBON_HEIGHT_M = 0.5

_ESTIMATED = {"ja": "推定", "en": "estimated"}

BUILDING_TOOLTIP_COLUMNS = (
    "usage", "measured_height_m", "storeys_above_ground", "year_of_construction", "kwh_m2_year",
    "kwh_year", "kw", "co2_avoided_kg_year", "shading_loss", "flood_depth_m",
)
ROOF_TOOLTIP_COLUMNS = ("kwh_m2_year", "area_m2", "tilt_deg", "azimuth_deg", "kwh_year", "reason")
GVI_TOOLTIP_COLUMNS = ("gvi", "sky_view", "building_view", "captured_at", "heading_deg")
TRIP_TOOLTIP_COLUMNS = ("mode", "distance_km", "co2_kg", "distance_m", "speed_kmh_median", "co2_credit_g")
#: Fixed colours per travel mode (Okabe & Ito 2008, Color Universal Design palette: told apart with
#: colour-vision differences), so every map shows walking in the same colour.
MODE_RGBA = {"walk": (0, 158, 115, 255), "bicycle": (86, 180, 233, 255), "car": (213, 94, 0, 255),
             "bus": (230, 159, 0, 255), "train": (204, 121, 167, 255)}


class AnalysisLayer(pdk.Layer):
    """A ``pydeck.Layer`` with its legend and data bounds attached (not sent to deck.gl).

    ``legend`` (:class:`~numazu_geo.maps.colormaps.Legend` or None), ``bounds_lonlat``
    (west, south, east, north in degrees) and ``kind`` ("buildings", "roofs", ...) live in slots,
    outside the attributes pydeck serialises.
    """

    __slots__ = ("legend", "bounds_lonlat", "kind")

    def __init__(self, type, data, *, legend: Legend | None = None, bounds_lonlat=None, kind: str = "", **kwargs):
        super().__init__(type, data, **kwargs)
        self.legend = legend
        self.bounds_lonlat = bounds_lonlat
        self.kind = kind


# ---------------------------------------------------------------------------------------------
# helpers


def _to_lonlat(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise ValueError(f"{what}: the GeoDataFrame has no CRS; set one (e.g. gdf.set_crs(6676)) before mapping")
    keep = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
    if not keep.all():
        log.info("%s: %d rows without geometry are not drawn", what, int((~keep).sum()))
    out = gdf[keep]
    if len(out) == 0:
        raise ValueError(f"{what}: no rows with geometry to draw")
    return out.to_crs(4326) if not out.crs.equals("EPSG:4326") else out


def _bounds(gdf_lonlat: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in gdf_lonlat.total_bounds)
    return west, south, east, north


def _ring(coords: np.ndarray, with_z: bool) -> list:
    xy = np.round(coords[:, :2], LONLAT_DECIMALS)
    if with_z and coords.shape[1] > 2:
        return np.column_stack([xy, np.round(coords[:, 2], 2)]).tolist()
    return xy.tolist()


def _polygon_rings(geom, with_z: bool = False) -> list[list]:
    """[[outer, hole, ...], ...] for a Polygon or MultiPolygon (one entry per part)."""
    parts = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    out = []
    for part in parts:
        if part.is_empty or part.geom_type != "Polygon":
            continue
        rings = [_ring(shapely.get_coordinates(part.exterior, include_z=with_z), with_z)]
        rings += [_ring(shapely.get_coordinates(r, include_z=with_z), with_z) for r in part.interiors]
        out.append(rings)
    return out


def _line_paths(geom) -> list[list]:
    parts = geom.geoms if geom.geom_type == "MultiLineString" else [geom]
    return [_ring(shapely.get_coordinates(p), False) for p in parts if p.geom_type == "LineString" and not p.is_empty]


def _display_column(gdf: pd.DataFrame, column: str, lang: str) -> str:
    """``usage`` is shown from ``usage_en`` in English when that column exists."""
    if column == "usage" and lang == "en" and "usage_en" in gdf.columns:
        return "usage_en"
    return column


def _tooltip_html(row: dict, columns, lang: str, *, heading: str | None = None, notes: dict | None = None) -> str:
    lines = []
    if heading:
        lines.append(f"<div class='ng-tt-head'>{html.escape(heading)}</div>")
    for column in columns:
        value = row.get(column)
        if is_missing(value) or (isinstance(value, str) and value == ""):
            continue
        label = field(column)
        text = label.format(value, lang)
        if notes and column in notes:
            text += f" ({notes[column]})"
        lines.append(f"<div><span class='ng-tt-key'>{html.escape(label.name(lang))}</span> {html.escape(text)}</div>")
    return "".join(lines)


def _heading(row: dict, lang: str, kind: str) -> str:
    for column in TITLE_COLUMNS:
        value = row.get(column)
        if not is_missing(value) and str(value) != "":
            text = str(value)
            if column == "path":
                text = text.replace("\\", "/").rsplit("/", 1)[-1]
            return text
    return kind


def _pick_column(gdf: pd.DataFrame, requested: str | None, candidates: tuple[str, ...], what: str) -> str | None:
    if requested is not None:
        if requested not in gdf.columns:
            raise KeyError(f"{what}: no column {requested!r} to colour by (columns: {', '.join(map(str, gdf.columns))})")
        return requested
    for column in candidates:
        if column in gdf.columns and gdf[column].notna().any():
            return column
    return None


def _colors(gdf: pd.DataFrame, column: str | None, lang: str, cmap: str, vmin, vmax, alpha: int, default_rgba):
    if column is None:
        return np.tile(np.asarray(default_rgba, dtype=np.uint8), (len(gdf), 1)), None
    shown = _display_column(gdf, column, lang)
    return colors_for(gdf[shown], column=shown, lang=lang, cmap=cmap, vmin=vmin, vmax=vmax, alpha=alpha)


def _present(gdf: pd.DataFrame, columns, lang: str) -> list[str]:
    out = []
    for column in columns:
        shown = _display_column(gdf, column, lang)
        if shown in gdf.columns and shown not in out:
            out.append(shown)
    return out


def _records(gdf: pd.DataFrame, columns: list[str]) -> list[dict]:
    cols = [c for c in dict.fromkeys([*columns, *TITLE_COLUMNS]) if c in gdf.columns]
    frame = gdf[cols].astype(object).where(gdf[cols].notna(), None) if cols else pd.DataFrame(index=gdf.index)
    return frame.to_dict("records") if cols else [{} for _ in range(len(gdf))]


# ---------------------------------------------------------------------------------------------
# layers


def building_heights_m(gdf: pd.DataFrame, height_by: str = "measured_height_m") -> tuple[np.ndarray, np.ndarray]:
    """Heights to extrude (m) and a flag for estimated ones.

    ``height_by`` when positive, else storeys x :data:`STOREY_HEIGHT_M`, else ``roof_z_m - ground_z_m``,
    else :data:`DEFAULT_HEIGHT_M`.
    """
    n = len(gdf)

    def num(column):
        if column in gdf.columns:
            return pd.to_numeric(gdf[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return np.full(n, np.nan)

    height = num(height_by)
    good = np.isfinite(height) & (height > 0)
    estimated = ~good
    storeys = num("storeys_above_ground") * STOREY_HEIGHT_M
    from_solid = num("roof_z_m") - num("ground_z_m")
    for candidate in (storeys, from_solid):
        fill = ~good & np.isfinite(candidate) & (candidate > 0)
        height = np.where(fill, candidate, height)
        good |= fill
    height = np.where(good, height, DEFAULT_HEIGHT_M)
    return height, estimated


def buildings_layer(
    gdf: gpd.GeoDataFrame,
    color_by: str | None = None,
    height_by: str = "measured_height_m",
    *,
    color=None,
    lang: str = "ja",
    cmap: str = DEFAULT_CMAP,
    vmin: float | None = None,
    vmax: float | None = None,
    tooltip_columns=None,
    opacity: float = 0.95,
    base_z: str = "zero",
    extruded: bool = True,
    wireframe: bool = False,
    id: str | None = None,
) -> AnalysisLayer:
    """Extruded building footprints coloured by a column (``PolygonLayer``).

    Parameters
    ----------
    gdf : GeoDataFrame of footprints (``read_buildings`` output or ``SolarResult.buildings``), any CRS.
    color_by : column to colour by; numeric columns use a perceptually uniform colour map
        (``cmap``, default viridis), text columns (e.g. ``usage``) a categorical palette. Default:
        ``kwh_m2_year`` if present, else ``measured_height_m``.
    color : one RGB(A) colour for every building instead (no legend), e.g. as context under
        other layers.
    height_by : column of heights in metres (missing values are estimated, see :func:`building_heights_m`).
    lang : ``"ja"`` or ``"en"`` for the tooltip and legend.
    base_z : ``"zero"`` (stand on the map) or ``"ground"`` (stand on ``ground_z_m``, above Tokyo Bay MSL).
    """
    check_lang(lang)
    data = _to_lonlat(gdf, "buildings_layer")
    if color is not None:
        column = None
        rgba = np.tile(np.asarray((list(color) + [255])[:4], dtype=np.uint8), (len(data), 1))
        legend = None
    else:
        column = _pick_column(data, color_by, ("kwh_m2_year", "measured_height_m", "usage"), "buildings_layer")
        rgba, legend = _colors(data, column, lang, cmap, vmin, vmax, 255, (160, 170, 190, 255))
    heights, estimated = building_heights_m(data, height_by)
    if base_z not in {"zero", "ground"}:
        raise ValueError(f"base_z must be 'zero' or 'ground', got {base_z!r}")
    base = np.zeros(len(data))
    if base_z == "ground" and "ground_z_m" in data.columns:
        base = pd.to_numeric(data["ground_z_m"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
    columns = _present(data, tooltip_columns or BUILDING_TOOLTIP_COLUMNS, lang)
    if column and _display_column(data, column, lang) not in columns:
        columns.insert(0, _display_column(data, column, lang))
    rows = _records(data, columns)
    records = []
    for geom, row, color, h, est, z0 in zip(data.geometry, rows, rgba.tolist(), heights, estimated, base):
        shown = dict(row)
        notes = None
        if height_by not in shown or is_missing(shown.get(height_by)) or est:
            shown[height_by] = float(h)
            notes = {height_by: _ESTIMATED[lang]}
        if height_by not in columns:
            columns_here = [height_by, *columns]
        else:
            columns_here = columns
        tip = _tooltip_html(shown, columns_here, lang, heading=_heading(row, lang, "建物" if lang == "ja" else "Building"),
                            notes=notes)
        for rings in _polygon_rings(geom):
            if z0:
                rings = [[[x, y, round(float(z0), 2)] for x, y in ring] for ring in rings]
            records.append({"polygon": rings, "height": round(float(h), 2), "color": color, "tooltip": tip})
    return AnalysisLayer(
        "PolygonLayer", records, id=id or f"buildings-{uuid.uuid4().hex[:8]}",
        legend=legend, bounds_lonlat=_bounds(data), kind="buildings",
        get_polygon="polygon", get_elevation="height", get_fill_color="color",
        get_line_color=[40, 40, 40, 160], line_width_min_pixels=0.5, stroked=not extruded,
        extruded=extruded, wireframe=wireframe, filled=True, pickable=True, auto_highlight=True,
        highlight_color=[255, 80, 80, 220], opacity=opacity,
        material={"ambient": 0.45, "diffuse": 0.6, "shininess": 24, "specularColor": [60, 64, 70]},
    )


def roofs_layer(
    faces: gpd.GeoDataFrame,
    color_by: str | None = "kwh_m2_year",
    *,
    lang: str = "ja",
    cmap: str = DEFAULT_CMAP,
    vmin: float | None = None,
    vmax: float | None = None,
    z_offset_m: float = 0.0,
    tooltip_columns=None,
    opacity: float = 1.0,
    id: str | None = None,
) -> AnalysisLayer:
    """3D roof polygons (Polygon Z, e.g. ``SolarResult.faces`` or ``read_roof_surfaces``) coloured by a column.

    Vertices keep their heights (above Tokyo Bay MSL) minus ``z_offset_m``; polygons without Z are
    drawn at ``-z_offset_m``. ``color_by`` defaults to ``kwh_m2_year`` (irradiation) when present.
    """
    check_lang(lang)
    data = _to_lonlat(faces, "roofs_layer")
    if color_by is not None and color_by not in data.columns:
        if color_by == "kwh_m2_year":
            color_by = None  # plain roof surfaces (no solar result yet): one colour
        else:
            raise KeyError(f"roofs_layer: no column {color_by!r} to colour by")
    rgba, legend = _colors(data, color_by, lang, cmap, vmin, vmax, 255, (200, 120, 80, 255))
    columns = _present(data, tooltip_columns or ROOF_TOOLTIP_COLUMNS, lang)
    rows = _records(data, columns)
    records = []
    for geom, row, color in zip(data.geometry, rows, rgba.tolist()):
        tip = _tooltip_html(row, columns, lang, heading=_heading(row, lang, "屋根面" if lang == "ja" else "Roof face"))
        for rings in _polygon_rings(geom, with_z=True):
            rings = [[[p[0], p[1], round((p[2] if len(p) > 2 else 0.0) - z_offset_m, 2)] for p in ring] for ring in rings]
            records.append({"polygon": rings, "color": color, "tooltip": tip})
    return AnalysisLayer(
        "PolygonLayer", records, id=id or f"roofs-{uuid.uuid4().hex[:8]}",
        legend=legend, bounds_lonlat=_bounds(data), kind="roofs",
        get_polygon="polygon", get_fill_color="color", get_line_color=[30, 30, 30, 200],
        line_width_min_pixels=0.5, stroked=True, filled=True, extruded=False, pickable=True,
        auto_highlight=True, highlight_color=[255, 80, 80, 220], opacity=opacity,
    )


def green_view_layer(
    points: gpd.GeoDataFrame,
    color_by: str = "gvi",
    *,
    lang: str = "ja",
    cmap: str = DEFAULT_CMAP,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    radius_m: float = GVI_POINT_RADIUS_M,
    height_per_pct_m: float = GVI_HEIGHT_PER_PCT_M,
    tooltip_columns=None,
    id: str | None = None,
) -> AnalysisLayer:
    """Green-view survey points (``green_view_survey`` output) as short columns coloured by GVI.

    Each point is a cylinder (``ColumnLayer``) of ``radius_m`` whose colour and height both show
    the value (height = :data:`GVI_MIN_HEIGHT_M` + value x ``height_per_pct_m``), so a 3D view
    reads it from any angle. ``vmin``/``vmax`` default to 0 and the 98th percentile. GVI, sky and
    building shares are percentages (0-100) as ``green_view_survey`` returns them. Points whose
    photo failed (value missing) are low grey columns; rows without a position are left out.
    (deck.gl's ScatterplotLayer draws wrongly under software WebGL, common on school PCs; columns
    do not.)
    """
    check_lang(lang)
    data = _to_lonlat(points, "green_view_layer")
    if color_by not in data.columns:
        raise KeyError(f"green_view_layer: no column {color_by!r} to colour by")
    rgba, legend = colors_for(data[color_by], column=color_by, lang=lang, cmap=cmap, vmin=vmin, vmax=vmax)
    values = pd.to_numeric(data[color_by], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    heights = GVI_MIN_HEIGHT_M + np.where(np.isfinite(values), np.clip(values, 0, None), 0.0) * height_per_pct_m
    columns = _present(data, tooltip_columns or GVI_TOOLTIP_COLUMNS, lang)
    if "error" in data.columns:
        columns.append("error")
    rows = _records(data, columns)
    records = []
    for geom, row, color, h in zip(data.geometry, rows, rgba.tolist(), heights):
        if geom.geom_type != "Point":
            geom = geom.representative_point()
        tip = _tooltip_html(row, columns, lang, heading=_heading(row, lang, "調査地点" if lang == "ja" else "Survey point"))
        records.append({"position": [round(geom.x, LONLAT_DECIMALS), round(geom.y, LONLAT_DECIMALS)],
                        "height": round(float(h), 2), "color": color, "tooltip": tip})
    return AnalysisLayer(
        "ColumnLayer", records, id=id or f"greenview-{uuid.uuid4().hex[:8]}",
        legend=legend, bounds_lonlat=_bounds(data), kind="green_view",
        get_position="position", get_fill_color="color", get_elevation="height", radius=radius_m,
        disk_resolution=20, extruded=True, pickable=True, auto_highlight=True,
        highlight_color=[255, 80, 80, 220],
    )


def _mode_colors(modes: pd.Series, lang: str):
    """Fixed :data:`MODE_RGBA` colours and a legend of the modes present, in a fixed order."""
    from numazu_geo.maps.colormaps import Legend

    rgba = np.array([MODE_RGBA[m] for m in modes], dtype=np.uint8).reshape(-1, 4)
    present = [m for m in MODE_RGBA if (modes == m).any()]
    legend = Legend(title=field("mode").title(lang), kind="categorical",
                    categories=[(mode_name(m, lang), MODE_RGBA[m]) for m in present])
    return rgba, legend


def trips_layer(
    lines: gpd.GeoDataFrame,
    color_by: str | None = None,
    *,
    lang: str = "ja",
    cmap: str = DEFAULT_CMAP,
    width_m: float = TRIP_WIDTH_M,
    tooltip_columns=None,
    id: str | None = None,
) -> AnalysisLayer:
    """Trips or routes (LineString / MultiLineString) as ribbons ``width_m`` wide, optionally coloured by a column.

    Lines are buffered in a metric CRS (the input's when projected, else its UTM zone) and drawn
    as thin extruded polygons (:data:`TRIP_RIBBON_HEIGHT_M`): deck.gl's PathLayer draws wrongly
    under software WebGL, which school PCs often use, while polygons are exact. ``color_by="mode"``
    on trips from :mod:`numazu_geo.mobility` uses fixed colours per mode (:data:`MODE_RGBA`); the
    tooltip names the mode in ``lang`` and shows the leg's CO2 credit where present.
    """
    check_lang(lang)
    if not isinstance(lines, gpd.GeoDataFrame) or lines.crs is None:
        _to_lonlat(lines, "trips_layer")  # raises the usual clear error
    if color_by is not None and color_by not in lines.columns:
        raise KeyError(f"trips_layer: no column {color_by!r} to colour by")
    metric = lines if lines.crs.is_projected else lines.to_crs(lines.estimate_utm_crs())
    ribbons = metric.set_geometry(metric.geometry.buffer(width_m / 2, cap_style="flat", join_style="round"))
    data = _to_lonlat(ribbons, "trips_layer")
    if color_by == "mode" and data["mode"].isin(list(MODE_RGBA)).all():
        rgba, legend = _mode_colors(data["mode"], lang)
    else:
        rgba, legend = _colors(data, color_by, lang, cmap, None, None, 255, (255, 140, 0, 255))
    columns = _present(data, tooltip_columns or TRIP_TOOLTIP_COLUMNS, lang)
    rows = _records(data, columns)
    records = []
    for geom, row, color in zip(data.geometry, rows, rgba.tolist()):
        if row.get("mode") is not None:
            row["mode"] = mode_name(row["mode"], lang)
        tip = _tooltip_html(row, columns, lang, heading=_heading(row, lang, "移動" if lang == "ja" else "Trip"))
        for rings in _polygon_rings(geom):
            records.append({"polygon": rings, "color": color, "tooltip": tip})
    return AnalysisLayer(
        "PolygonLayer", records, id=id or f"trips-{uuid.uuid4().hex[:8]}",
        legend=legend, bounds_lonlat=_bounds(data), kind="trips",
        get_polygon="polygon", get_fill_color="color", get_elevation=TRIP_RIBBON_HEIGHT_M, extruded=True,
        filled=True, stroked=False, pickable=True, auto_highlight=True, highlight_color=[255, 80, 80, 220],
    )
