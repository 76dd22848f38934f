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

#: Colour of walls when the roofs carry the value (neutral light grey, so only roofs are read).
WALL_RGBA = (196, 198, 202, 255)
#: Columns that describe a roof: on a map of one of these, walls are neutral and roofs coloured.
ROOF_QUANTITIES = frozenset({
    "kwh_m2_year", "unshaded_kwh_m2_year", "kwh_year", "kw", "co2_avoided_kg_year", "shading_loss",
    "sky_view_factor", "usable_area_m2", "roof_area_m2", *(f"kwh_m2_month_{m:02d}" for m in range(1, 13)),
})
#: A roof cap sits this far above the top of its extruded building so the two never flicker (m).
ROOF_CAP_OFFSET_M = 0.15

BUILDING_TOOLTIP_COLUMNS = (
    "address", "usage", "measured_height_m", "storeys_above_ground", "year_of_construction", "kwh_m2_year",
    "kwh_year", "kw", "co2_avoided_kg_year", "shading_loss", "flood_depth_m",
)
ROOF_TOOLTIP_COLUMNS = ("kwh_m2_year", "area_m2", "tilt_deg", "azimuth_deg", "kwh_year", "reason")
GVI_TOOLTIP_COLUMNS = ("gvi", "sky_share", "building_view", "captured_at", "heading_deg")
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

    __slots__ = ("legend", "bounds_lonlat", "kind", "legends", "companions", "credits", "source_frame")

    def __init__(self, type, data, *, legend: Legend | None = None, bounds_lonlat=None, kind: str = "",
                 legends: dict | None = None, companions=None, credits=None, source_frame=None, **kwargs):
        super().__init__(type, data, **kwargs)
        self.legend = legend
        self.bounds_lonlat = bounds_lonlat
        self.kind = kind
        #: the legend in each language ({"ja": Legend, "en": Legend}) for the page's language switch
        self.legends = legends or ({} if legend is None else {"": legend})
        #: further layers drawn right after this one (e.g. roof caps over neutral walls)
        self.companions = list(companions or [])
        #: data credit lines of the features drawn (numazu_geo.maps.credits.data_credits)
        self.credits = list(credits or [])
        #: the GeoDataFrame the layer was made from (for titles and provenance; not serialised)
        self.source_frame = source_frame


# ---------------------------------------------------------------------------------------------
# helpers


def mercator_y(lat_deg: float) -> float:
    """Web-Mercator northing of a latitude on the unit sphere, ln(tan(pi/4 + lat/2)) (radians), with the
    latitude clamped to +-85 degrees as web maps do."""
    import math

    lat = max(min(float(lat_deg), 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


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


def _colors(gdf: pd.DataFrame, column: str | None, lang: str, cmap: str, vmin, vmax, alpha: int, default_rgba,
            stretch: bool = False):
    if column is None:
        return np.tile(np.asarray(default_rgba, dtype=np.uint8), (len(gdf), 1)), None
    shown = _display_column(gdf, column, lang)
    return colors_for(gdf[shown], column=shown, lang=lang, cmap=cmap, vmin=vmin, vmax=vmax, alpha=alpha,
                      stretch=stretch)


def _other(lang: str) -> str:
    return "en" if lang == "ja" else "ja"


def _legends(gdf, column, lang, cmap, vmin, vmax, stretch, default_rgba):
    """Colours (from ``lang``) and the legend in both languages."""
    rgba, legend = _colors(gdf, column, lang, cmap, vmin, vmax, 255, default_rgba, stretch)
    if legend is None:
        return rgba, None, {}
    other = _other(lang)
    _, legend_other = _colors(gdf, column, other, cmap, vmin, vmax, 255, default_rgba, stretch)
    return rgba, legend, {lang: legend, other: legend_other}


def _credits_of(gdf) -> list[str]:
    try:
        from numazu_geo.maps.credits import data_credits

        return data_credits(gdf)
    except Exception as exc:  # noqa: BLE001 - a credit lookup must never stop a map
        log.warning("could not work out the data credit: %s", exc)
        return []


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
    stretch: bool = False,
    walls: str = "auto",
    roof_faces: gpd.GeoDataFrame | None = None,
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
        (``cmap``, default viridis) over the quantity's documented fixed range
        (:func:`~numazu_geo.maps.colormaps.fixed_domains`), so maps compare; text columns (e.g.
        ``usage``) a categorical palette. Default: ``kwh_m2_year`` if present, else ``measured_height_m``.
    stretch : colour over this data's own range (2-98 %) instead of the fixed one (the legend says so).
    walls : ``"neutral"`` (grey walls, the value on a roof cap), ``"colored"`` (the whole block in the
        value's colour) or ``"auto"``: neutral for roof quantities (:data:`ROOF_QUANTITIES`).
    roof_faces : 3D roof faces (``SolarResult.faces``, ``read_roof_surfaces``): buildings with LOD2
        faces (``roof_source == "lod2"``) show their real roof faces, coloured by the same column,
        on walls that stop at the eaves; the others get a flat coloured cap.
    color : one RGB(A) colour for every building instead (no legend), e.g. as context under
        other layers.
    height_by : column of heights in metres (missing values are estimated, see :func:`building_heights_m`).
    lang : ``"ja"`` or ``"en"`` for the tooltip and legend (both are kept for the page's language switch).
    base_z : ``"zero"`` (stand on the map) or ``"ground"`` (stand on ``ground_z_m``, above Tokyo Bay MSL).
    """
    check_lang(lang)
    other = _other(lang)
    data = _to_lonlat(gdf, "buildings_layer")
    if color is not None:
        column = None
        rgba = np.tile(np.asarray((list(color) + [255])[:4], dtype=np.uint8), (len(data), 1))
        legend, legends = None, {}
    else:
        column = _pick_column(data, color_by, ("kwh_m2_year", "measured_height_m", "usage"), "buildings_layer")
        rgba, legend, legends = _legends(data, column, lang, cmap, vmin, vmax, stretch, (160, 170, 190, 255))
    if walls not in {"auto", "neutral", "colored"}:
        raise ValueError(f"walls must be 'auto', 'neutral' or 'colored', got {walls!r}")
    neutral = column is not None and (walls == "neutral" or (walls == "auto" and column in ROOF_QUANTITIES))
    heights, estimated = building_heights_m(data, height_by)
    if base_z not in {"zero", "ground"}:
        raise ValueError(f"base_z must be 'zero' or 'ground', got {base_z!r}")
    ground = (pd.to_numeric(data["ground_z_m"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
              if "ground_z_m" in data.columns else np.full(len(data), np.nan))
    base = np.zeros(len(data))
    if base_z == "ground":
        base = np.nan_to_num(ground, nan=0.0)
    # LOD2 roof faces replace the cap: walls stop at the lowest roof edge
    face_layer, has_faces = None, np.zeros(len(data), dtype=bool)
    if roof_faces is not None and len(roof_faces) and column is not None and extruded:
        face_layer, has_faces, eave = _roof_faces_for(data, roof_faces, column, lang, cmap, vmin, vmax, stretch,
                                                      ground, base_z)
        heights = np.where(has_faces & np.isfinite(eave) & (eave > 0.5), eave, heights)
    tips = {}
    for lg in (lang, other):
        columns = _present(data, tooltip_columns or BUILDING_TOOLTIP_COLUMNS, lg)
        if column and _display_column(data, column, lg) not in columns:
            columns.insert(0, _display_column(data, column, lg))
        tips[lg] = columns
    rows = _records(data, sorted({c for cols in tips.values() for c in cols}))
    heights_shown, _ = building_heights_m(data, height_by)
    records, caps = [], []
    wall_rgba = list(WALL_RGBA)
    for i, (geom, row, colour) in enumerate(zip(data.geometry, rows, rgba.tolist())):
        h, est, z0 = heights[i], estimated[i], base[i]
        shown = dict(row)
        notes = {lg: None for lg in (lang, other)}
        if height_by not in shown or is_missing(shown.get(height_by)) or est:
            shown[height_by] = float(heights_shown[i])
            notes = {lg: {height_by: _ESTIMATED[lg]} for lg in (lang, other)}
        text = {}
        for lg in (lang, other):
            cols = tips[lg] if height_by in tips[lg] else [height_by, *tips[lg]]
            text[lg] = _tooltip_html(shown, cols, lg, heading=_heading(row, lg, "建物" if lg == "ja" else "Building"),
                                     notes=notes[lg])
        for rings in _polygon_rings(geom):
            if z0:
                rings = [[[x, y, round(float(z0), 2)] for x, y in ring] for ring in rings]
            records.append({"polygon": rings, "height": round(float(h), 2),
                            "color": wall_rgba if neutral else colour,
                            "tooltip": text[lang], f"tooltip_{other}": text[other]})
            if neutral and not has_faces[i]:
                top = round(float(z0 + h + ROOF_CAP_OFFSET_M), 2)
                caps.append({"polygon": [[[x, y, top] for x, y, *_ in ring] for ring in rings], "color": colour})
    companions = []
    if neutral and caps:
        companions.append(AnalysisLayer(
            "PolygonLayer", caps, id=f"roofcaps-{id or uuid.uuid4().hex[:8]}", kind="roof_caps",
            get_polygon="polygon", get_fill_color="color", stroked=False, filled=True, extruded=False,
            pickable=False, opacity=1.0,
        ))
    if face_layer is not None:
        companions.append(face_layer)
    return AnalysisLayer(
        "PolygonLayer", records, id=id or f"buildings-{uuid.uuid4().hex[:8]}",
        legend=legend, legends=legends, bounds_lonlat=_bounds(data), kind="buildings", companions=companions,
        credits=_credits_of(data), source_frame=gdf,
        get_polygon="polygon", get_elevation="height", get_fill_color="color",
        get_line_color=[40, 40, 40, 160], line_width_min_pixels=0.5, stroked=not extruded,
        extruded=extruded, wireframe=wireframe, filled=True, pickable=True, auto_highlight=True,
        highlight_color=[255, 80, 80, 220], opacity=opacity,
        material={"ambient": 0.45, "diffuse": 0.6, "shininess": 24, "specularColor": [60, 64, 70]},
    )


def _building_keys(frame: pd.DataFrame) -> pd.Series | None:
    for key in ("building_key", "gml_id", "building_id"):
        if key in frame.columns:
            return frame[key].astype("string")
    return None


def _roof_faces_for(buildings, faces, column, lang, cmap, vmin, vmax, stretch, ground, base_z):
    """The LOD2 roof-face layer for ``buildings`` (lon/lat), which buildings it covers, and their eave heights."""
    n = len(buildings)
    keys_b = _building_keys(buildings)
    faces = faces[faces.geometry.notna()]
    if "roof_source" in faces.columns:
        faces = faces[faces["roof_source"].astype(str) == "lod2"]
    if keys_b is None or len(faces) == 0 or column not in faces.columns:
        return None, np.zeros(n, dtype=bool), np.full(n, np.nan)
    key_col = next((k for k in ("building_key", "gml_id", "building_id")
                    if k in faces.columns and k in buildings.columns), None)
    if key_col is None:
        return None, np.zeros(n, dtype=bool), np.full(n, np.nan)
    faces = faces[faces[key_col].astype("string").isin(set(buildings[key_col].astype("string").dropna()))]
    if len(faces) == 0:
        return None, np.zeros(n, dtype=bool), np.full(n, np.nan)
    ground_by_key = pd.Series(ground, index=buildings[key_col].astype("string").to_numpy())
    ground_by_key = ground_by_key[~ground_by_key.index.duplicated()]
    fkeys = faces[key_col].astype("string")
    face_ground = fkeys.map(ground_by_key).to_numpy(dtype="float64", na_value=np.nan)
    zmin = np.array([np.nanmin(shapely.get_coordinates(g, include_z=True)[:, 2]) if g.has_z else np.nan
                     for g in faces.geometry], dtype=float)
    eave_face = zmin - face_ground
    eave_by_key = pd.Series(eave_face, index=fkeys.to_numpy()).groupby(level=0).min()
    has = buildings[key_col].astype("string").isin(set(fkeys.dropna())).to_numpy()
    eave = buildings[key_col].astype("string").map(eave_by_key).to_numpy(dtype="float64", na_value=np.nan)
    offset = np.zeros(len(faces)) if base_z == "ground" else np.nan_to_num(face_ground, nan=0.0)
    layer = roofs_layer(faces, color_by=column, lang=lang, cmap=cmap, vmin=vmin, vmax=vmax, stretch=stretch,
                        z_offset_m=offset - ROOF_CAP_OFFSET_M)
    layer.legend, layer.legends = None, {}  # the buildings' legend already says it
    return layer, has, eave


def roofs_layer(
    faces: gpd.GeoDataFrame,
    color_by: str | None = "kwh_m2_year",
    *,
    lang: str = "ja",
    cmap: str = DEFAULT_CMAP,
    vmin: float | None = None,
    vmax: float | None = None,
    stretch: bool = False,
    z_offset_m=0.0,
    tooltip_columns=None,
    opacity: float = 1.0,
    id: str | None = None,
) -> AnalysisLayer:
    """3D roof polygons (Polygon Z, e.g. ``SolarResult.faces`` or ``read_roof_surfaces``) coloured by a column.

    Vertices keep their heights (above Tokyo Bay MSL) minus ``z_offset_m`` (one number, or one per
    face, e.g. each building's ground height so roofs sit on buildings standing at z = 0); polygons
    without Z are drawn at ``-z_offset_m``. ``color_by`` defaults to ``kwh_m2_year`` (irradiation)
    when present, over its fixed documented range unless ``stretch``.
    """
    check_lang(lang)
    other = _other(lang)
    data = _to_lonlat(faces, "roofs_layer")
    offsets = np.broadcast_to(np.asarray(z_offset_m, dtype=float), (len(faces),))
    if len(data) != len(faces):
        keep = ~(faces.geometry.isna() | faces.geometry.is_empty).to_numpy()
        offsets = offsets[keep]
    if color_by is not None and color_by not in data.columns:
        if color_by == "kwh_m2_year":
            color_by = None  # plain roof surfaces (no solar result yet): one colour
        else:
            raise KeyError(f"roofs_layer: no column {color_by!r} to colour by")
    rgba, legend, legends = _legends(data, color_by, lang, cmap, vmin, vmax, stretch, (200, 120, 80, 255))
    cols = {lg: _present(data, tooltip_columns or ROOF_TOOLTIP_COLUMNS, lg) for lg in (lang, other)}
    rows = _records(data, sorted({c for v in cols.values() for c in v}))
    records = []
    for geom, row, color, off in zip(data.geometry, rows, rgba.tolist(), offsets):
        text = {lg: _tooltip_html(row, cols[lg], lg, heading=_heading(row, lg, "屋根面" if lg == "ja" else "Roof face"))
                for lg in (lang, other)}
        for rings in _polygon_rings(geom, with_z=True):
            rings = [[[p[0], p[1], round((p[2] if len(p) > 2 else 0.0) - float(off), 2)] for p in ring]
                     for ring in rings]
            records.append({"polygon": rings, "color": color, "tooltip": text[lang], f"tooltip_{other}": text[other]})
    return AnalysisLayer(
        "PolygonLayer", records, id=id or f"roofs-{uuid.uuid4().hex[:8]}",
        legend=legend, legends=legends, bounds_lonlat=_bounds(data), kind="roofs", credits=_credits_of(data),
        source_frame=faces,
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
    vmin: float | None = None,
    vmax: float | None = None,
    stretch: bool = False,
    radius_m: float = GVI_POINT_RADIUS_M,
    height_per_pct_m: float = GVI_HEIGHT_PER_PCT_M,
    tooltip_columns=None,
    id: str | None = None,
) -> AnalysisLayer:
    """Green-view survey points (``green_view_survey`` output) as short columns coloured by GVI.

    Each point is a cylinder (``ColumnLayer``) of ``radius_m`` whose colour and height both show
    the value (height = :data:`GVI_MIN_HEIGHT_M` + value x ``height_per_pct_m``), so a 3D view
    reads it from any angle. Colours use the fixed 0-50 % range of ``gvi`` (twice MLIT's 25 %
    level; ``data/map_color_domains.csv``) so surveys compare; ``stretch=True`` or ``vmin``/``vmax``
    override it. GVI, sky and building shares are percentages (0-100) as ``green_view_survey``
    returns them. Points whose photo failed (value missing) are low grey columns; rows without a
    position are left out. (deck.gl's ScatterplotLayer draws wrongly under software WebGL, common
    on school PCs; columns do not.)
    """
    check_lang(lang)
    other = _other(lang)
    data = _to_lonlat(points, "green_view_layer")
    if color_by not in data.columns:
        raise KeyError(f"green_view_layer: no column {color_by!r} to colour by")
    rgba, legend, legends = _legends(data, color_by, lang, cmap, vmin, vmax, stretch, (160, 170, 190, 255))
    values = pd.to_numeric(data[color_by], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    heights = GVI_MIN_HEIGHT_M + np.where(np.isfinite(values), np.clip(values, 0, None), 0.0) * height_per_pct_m
    cols = {}
    for lg in (lang, other):
        cols[lg] = _present(data, tooltip_columns or GVI_TOOLTIP_COLUMNS, lg)
        if "error" in data.columns:
            cols[lg].append("error")
    rows = _records(data, sorted({c for v in cols.values() for c in v}))
    records = []
    for geom, row, color, h in zip(data.geometry, rows, rgba.tolist(), heights):
        if geom.geom_type != "Point":
            geom = geom.representative_point()
        text = {lg: _tooltip_html(row, cols[lg], lg, heading=_heading(row, lg, "調査地点" if lg == "ja" else "Survey point"))
                for lg in (lang, other)}
        records.append({"position": [round(geom.x, LONLAT_DECIMALS), round(geom.y, LONLAT_DECIMALS)],
                        "height": round(float(h), 2), "color": color, "tooltip": text[lang],
                        f"tooltip_{other}": text[other]})
    return AnalysisLayer(
        "ColumnLayer", records, id=id or f"greenview-{uuid.uuid4().hex[:8]}",
        legend=legend, legends=legends, bounds_lonlat=_bounds(data), kind="green_view", source_frame=points,
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
    other = _other(lang)
    if color_by == "mode" and data["mode"].isin(list(MODE_RGBA)).all():
        rgba, legend = _mode_colors(data["mode"], lang)
        legends = {lang: legend, other: _mode_colors(data["mode"], other)[1]}
    else:
        rgba, legend, legends = _legends(data, color_by, lang, cmap, None, None, False, (255, 140, 0, 255))
    cols = {lg: _present(data, tooltip_columns or TRIP_TOOLTIP_COLUMNS, lg) for lg in (lang, other)}
    rows = _records(data, sorted({c for v in cols.values() for c in v}))
    records = []
    for geom, row, color in zip(data.geometry, rows, rgba.tolist()):
        text = {}
        for lg in (lang, other):
            shown = dict(row, mode=mode_name(row["mode"], lg)) if row.get("mode") is not None else row
            text[lg] = _tooltip_html(shown, cols[lg], lg, heading=_heading(row, lg, "移動" if lg == "ja" else "Trip"))
        for rings in _polygon_rings(geom):
            records.append({"polygon": rings, "color": color, "tooltip": text[lang], f"tooltip_{other}": text[other]})
    return AnalysisLayer(
        "PolygonLayer", records, id=id or f"trips-{uuid.uuid4().hex[:8]}",
        legend=legend, legends=legends, bounds_lonlat=_bounds(data), kind="trips",
        get_polygon="polygon", get_fill_color="color", get_elevation=TRIP_RIBBON_HEIGHT_M, extruded=True,
        filled=True, stroked=False, pickable=True, auto_highlight=True, highlight_color=[255, 80, 80, 220],
    )


# ---------------------------------------------------------------------------------------------
# place context: roads, water, land use, hazard areas, names

#: Flat context colours (RGBA), drawn under the buildings: muted so the analysis stays in front.
CONTEXT_RGBA = {
    "tran": (112, 118, 130, 255),   # roads: asphalt grey, lighter than the ground plane
    "wtr": (64, 120, 170, 255),     # rivers, sea: blue
    "luse": (74, 84, 96, 255),      # land use without a class: a shade off the ground
    "veg": (64, 110, 70, 255),      # vegetation cover: green
}
#: Height (m) each context kind is drawn at, so flat layers never flicker against the ground or each other.
CONTEXT_Z_M = {"luse": 0.05, "veg": 0.1, "wtr": 0.15, "tran": 0.2, "fld": 0.3, "tnm": 0.35, "htd": 0.35, "ifld": 0.3}
#: Opacity of hazard (inundation) areas: the streets and buildings stay visible through them.
HAZARD_ALPHA = 150
#: Height above a building's top at which its name label floats (m).
LABEL_LIFT_M = 4.0
#: Background padding of a label (left, top, right, bottom), px.
LABEL_PADDING_PX = (4, 2, 4, 2)

_KIND_NAMES = {
    "tran": {"ja": "道路", "en": "Road"}, "wtr": {"ja": "水部", "en": "Water"}, "luse": {"ja": "土地利用", "en": "Land use"},
    "veg": {"ja": "植生", "en": "Vegetation"}, "fld": {"ja": "洪水浸水想定区域", "en": "River flood area"},
    "tnm": {"ja": "津波浸水想定", "en": "Tsunami inundation area"}, "htd": {"ja": "高潮浸水想定", "en": "Storm surge area"},
    "ifld": {"ja": "内水浸水想定", "en": "Inland flood area"},
}
#: Colour map per hazard kind (depth bands: darker is deeper), so overlapping areas stay apart.
_HAZARD_CMAP = {"fld": "Blues", "tnm": "Purples", "htd": "Greens", "ifld": "Oranges"}


def _flat_records(data, z: float, colours, tooltips=None) -> list[dict]:
    records = []
    for i, geom in enumerate(data.geometry):
        for rings in _polygon_rings(geom):
            rec = {"polygon": [[[x, y, z] for x, y in ring] for ring in rings], "color": colours[i]}
            if tooltips is not None:
                rec.update(tooltips[i])
            records.append(rec)
    return records


def context_layer(features: gpd.GeoDataFrame, kind: str | None = None, *, lang: str = "ja",
                  color=None, id: str | None = None) -> AnalysisLayer | None:
    """Roads, water, land use or vegetation (``read_features`` output) drawn flat under the buildings.

    Not pickable and without a legend; the camera is not fitted to it (context may reach beyond
    the analysis). Land use is shaded by its class, one muted tone per class. Returns None when
    there is nothing to draw.
    """
    check_lang(lang)
    if features is None or len(features) == 0:
        return None
    kind = kind or str(features["kind"].iloc[0] if "kind" in features.columns else "luse")
    polys = features[features.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(polys) == 0:
        return None
    data = _to_lonlat(polys, "context_layer")
    base = np.asarray(color or CONTEXT_RGBA.get(kind, CONTEXT_RGBA["luse"]), dtype=float)
    if kind == "luse" and color is None and "class_code" in data.columns:
        codes = data["class_code"].astype(str)
        order = {c: k for k, c in enumerate(sorted(codes.unique()))}
        shade = np.array([0.8 + 0.7 * ((order[c] * 7) % 10) / 10 for c in codes])  # muted tones per class
        colours = np.clip(base[None, :3] * shade[:, None], 0, 255).round().astype(int)
        colours = np.column_stack([colours, np.full(len(data), 255)]).tolist()
    else:
        colours = [[int(v) for v in (list(base) + [255])[:4]]] * len(data)
    records = _flat_records(data, CONTEXT_Z_M.get(kind, 0.1), colours)
    return AnalysisLayer(
        "PolygonLayer", records, id=id or f"context-{kind}-{uuid.uuid4().hex[:6]}", kind=f"context_{kind}",
        bounds_lonlat=None, credits=_credits_of(data), source_frame=features,
        get_polygon="polygon", get_fill_color="color", stroked=False, filled=True, extruded=False, pickable=False,
    )


def hazard_layer(areas: gpd.GeoDataFrame, *, lang: str = "ja", alpha: int = HAZARD_ALPHA,
                 id: str | None = None) -> AnalysisLayer | None:
    """Flood or tsunami inundation areas (``read_features(..., "fld" | "tnm")``) coloured by depth band.

    Bands (``rank_code``, PLATEAU's depth rank) get darker blues for deeper water; the legend lists
    the band labels from the dataset's code list (else the codes); hovering shows the area's name
    (e.g. the river and scenario) and band. For disaster-awareness lessons: these are the
    *assumed* areas of the official hazard maps, not forecasts.
    """
    check_lang(lang)
    if areas is None or len(areas) == 0:
        return None
    other = _other(lang)
    kind = str(areas["kind"].iloc[0]) if "kind" in areas.columns else "fld"
    data = _to_lonlat(areas, "hazard_layer")
    ranks = (pd.to_numeric(data["rank_code"], errors="coerce") if "rank_code" in data.columns
             else pd.Series(np.nan, index=data.index))
    import matplotlib

    cmap = matplotlib.colormaps[_HAZARD_CMAP.get(kind, "Blues")]
    t = np.clip(0.35 + 0.12 * np.nan_to_num(ranks.to_numpy(dtype=float), nan=1.0), 0, 1)
    colours = [[int(round(c * 255)) for c in cmap(v)[:3]] + [int(alpha)] for v in t]
    labels = {}
    for code, label in zip(ranks, data["rank"] if "rank" in data.columns else [None] * len(data)):
        if np.isfinite(code):
            labels.setdefault(int(code), label if isinstance(label, str) and label else f"rank {int(code)}")
    legends = {}
    for lg in (lang, other):
        cats = [(labels[c], tuple(colours[list(ranks).index(c)])) for c in sorted(labels)]
        legends[lg] = Legend(title=_KIND_NAMES.get(kind, _KIND_NAMES["fld"])[lg], kind="categorical",
                             categories=cats or [(_KIND_NAMES.get(kind, _KIND_NAMES["fld"])[lg], tuple(colours[0]))])
    tips = []
    for _, row in data.iterrows():
        entry = {}
        for lg in (lang, other):
            head = (row.get("name") if isinstance(row.get("name"), str)
                    else _KIND_NAMES.get(kind, _KIND_NAMES["fld"])[lg])
            band = row.get("rank") if isinstance(row.get("rank"), str) else (row.get("rank_code") or "")
            key = "浸水深" if lg == "ja" else "Depth band"
            entry["tooltip" if lg == lang else f"tooltip_{other}"] = (
                f"<div class='ng-tt-head'>{html.escape(str(head))}</div>"
                + (f"<div><span class='ng-tt-key'>{key}</span> {html.escape(str(band))}</div>" if band else ""))
        tips.append(entry)
    records = _flat_records(data, CONTEXT_Z_M.get(kind, 0.3), colours, tips)
    return AnalysisLayer(
        "PolygonLayer", records, id=id or f"hazard-{kind}-{uuid.uuid4().hex[:6]}", kind=f"hazard_{kind}",
        legend=legends[lang], legends=legends, bounds_lonlat=_bounds(data), credits=_credits_of(data),
        source_frame=areas, get_polygon="polygon", get_fill_color="color", stroked=False, filled=True,
        extruded=False, pickable=True, auto_highlight=True, highlight_color=[255, 200, 60, 160],
    )


def labels_layer(features: gpd.GeoDataFrame, column: str = "name", *, height_by: str | None = "measured_height_m",
                 size_px: int = 15, max_labels: int = 60, near=None, id: str | None = None) -> AnalysisLayer | None:
    """Names (``gml:name``: stations, schools, rivers...) as text labels, floating above buildings.

    Labels sit at each feature's representative point, :data:`LABEL_LIFT_M` above its height
    (``height_by``) when it has one. Fonts are the reader's own Japanese fonts (deck.gl draws a
    font atlas from the characters used), so nothing is downloaded. At most ``max_labels``,
    the largest features first. ``near`` (lon, lat): put each label at the feature's point
    nearest to it (a long river is then named where the map looks). Returns None when no feature
    has a name.
    """
    if features is None or len(features) == 0 or column not in features.columns:
        return None
    named = features[features[column].notna() & (features[column].astype(str).str.strip() != "")]
    if len(named) == 0:
        return None
    metric = named if named.crs is not None and named.crs.is_projected else None
    if metric is not None:
        named = named.assign(_area=metric.geometry.area).sort_values("_area", ascending=False)
    named = named.head(max_labels)
    data = _to_lonlat(named, "labels_layer")
    heights = (building_heights_m(data, height_by)[0] if height_by and height_by in data.columns
               else np.zeros(len(data)))
    records = []
    for geom, text, h in zip(data.geometry, data[column].astype(str), heights):
        pt = geom.representative_point() if geom.geom_type != "Point" else geom
        if near is not None and geom.geom_type != "Point":
            from shapely.ops import nearest_points

            target = shapely.Point(near)
            if not geom.contains(target):
                # the part of the feature nearest the view (about 400 m across), labelled inside itself
                piece = geom.intersection(target.buffer(geom.distance(target) + 0.004))
                pt = piece.representative_point() if not piece.is_empty else nearest_points(geom, target)[0]
            else:
                pt = target
        records.append({"position": [round(pt.x, LONLAT_DECIMALS), round(pt.y, LONLAT_DECIMALS),
                                     round(float(h) + LABEL_LIFT_M, 1)], "text": text})
    return AnalysisLayer(
        "TextLayer", records, id=id or f"labels-{uuid.uuid4().hex[:6]}", kind="labels", bounds_lonlat=None,
        get_position="position", get_text="text", get_size=size_px, size_units="'pixels'",
        get_color=[255, 255, 255, 255], get_text_anchor="'middle'", get_alignment_baseline="'bottom'",
        # pydeck turns plain strings into expressions: literal strings are quoted
        character_set="'auto'",
        font_family="'Noto Sans CJK JP, Noto Sans JP, Hiragino Sans, Yu Gothic, Meiryo, sans-serif'",
        font_weight=700, background=True, get_background_color=[20, 24, 32, 200], background_padding=list(LABEL_PADDING_PX),
        billboard=True, pickable=False, parameters={"depthTest": False, "depthCompare": "always"},
    )


def _label_box_px(text: str, size_px: float) -> tuple[float, float]:
    """Approximate on-screen width and height of a label: full-width (CJK) glyphs are about one
    font size wide, others about 0.6 of it; plus the background padding of :func:`labels_layer`."""
    wide = sum(1 for ch in text if ord(ch) > 0x2E7F)
    left, top, right, bottom = LABEL_PADDING_PX
    return (wide + 0.6 * (len(text) - wide)) * size_px + left + right, size_px + top + bottom


def declutter_labels(layers, zoom: float, *, pitch_deg: float = 0.0, bearing_deg: float = 0.0) -> list:
    """Label layers without the labels that would overlap an earlier one in the opening view.

    deck.gl draws every label of a ``TextLayer``; names of neighbouring buildings then print over
    each other. Each label's box is placed on screen for the opening camera (Web-Mercator pixels at
    ``zoom`` in deck.gl's 512-pixel world, turned by ``bearing_deg``; with ``pitch_deg`` the ground
    foreshortens and a label's height lifts it; perspective is ignored), and a label is kept when
    its box meets no kept box. Earlier layers and, within a layer, earlier rows (the largest
    features, :func:`labels_layer`) win. Returns new layers; the count left out is logged.
    """
    import copy
    import math

    world_px = 512.0 * 2.0 ** float(zoom)
    pitch, bearing = math.radians(pitch_deg), math.radians(bearing_deg)
    kept_boxes: list[tuple[float, float, float, float]] = []
    out, dropped = [], 0
    for layer in layers:
        size = float(getattr(layer, "get_size", 15) or 15)
        keep = []
        for rec in layer.data:
            lon, lat = rec["position"][0], rec["position"][1]
            z_m = rec["position"][2] if len(rec["position"]) > 2 else 0.0
            gx = (lon + 180.0) / 360.0 * world_px
            gy = (1.0 - mercator_y(lat) / math.pi) / 2.0 * world_px
            # the map turns anticlockwise by the bearing (the camera's heading is up on screen)
            x = gx * math.cos(bearing) + gy * math.sin(bearing)
            y = -gx * math.sin(bearing) + gy * math.cos(bearing)
            px_per_m = world_px / (40075016.686 * math.cos(math.radians(lat)))
            y = y * math.cos(pitch) - z_m * px_per_m * math.sin(pitch)
            w, h = _label_box_px(str(rec["text"]), size)
            box = (x - w / 2, y - h, x + w / 2, y)  # anchored at the middle of the bottom edge
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in kept_boxes):
                dropped += 1
                continue
            kept_boxes.append(box)
            keep.append(rec)
        new = copy.copy(layer)
        new.data = keep
        out.append(new)
    if dropped:
        log.info("labels: %d left out where they would overlap others at zoom %.1f", dropped, zoom)
    return out


#: Context kinds drawn under an analysis by default (hazard areas are asked for: :data:`HAZARD_KINDS`).
PLACE_KINDS = ("luse", "wtr", "tran")
#: Inundation areas (river flood, tsunami, storm surge, inland flood) for disaster-awareness maps.
HAZARD_KINDS = ("fld", "tnm", "htd", "ifld")


def hazard_layers(source=None, *, features: dict | None = None, lang: str = "ja", bbox=None) -> list[AnalysisLayer]:
    """The dataset's flood, tsunami, storm-surge and inland-flood areas, one layer each (see :func:`hazard_layer`)."""
    return place_layers(source, features=features, lang=lang, bbox=bbox, kinds=HAZARD_KINDS, labels=False)


def place_layers(source=None, *, features: dict | None = None, lang: str = "ja", bbox=None,
                 kinds=PLACE_KINDS, labels: bool = True) -> list[AnalysisLayer]:
    """The place context of a dataset as layers, bottom to top: land use, water, roads (and flood or
    tsunami areas when ``kinds`` names them, e.g. ``PLACE_KINDS + HAZARD_KINDS``); plus labels of
    named roads, squares and water bodies (``labels``).

    ``features``: ``{kind: GeoDataFrame}`` already read, else they are read from ``source`` (a
    PLATEAU folder or zip, or a building file inside one) with
    :func:`numazu_geo.citygml.features.read_features`, limited to ``bbox`` (lon/lat degrees) when
    given. Kinds the dataset lacks are left out; an unreadable context file is logged and skipped,
    never stopping the map.
    """
    if features is None:
        features = {}
        if source is not None:
            from numazu_geo.citygml.features import read_features

            for kind in kinds:
                try:
                    gdf = read_features(source, kind, bbox=bbox)
                except Exception as exc:  # noqa: BLE001 - context is optional: log it, keep the map
                    log.warning("place context %s from %s not drawn: %s", kind, source, exc)
                    continue
                if len(gdf):
                    features[kind] = gdf
    layers: list[AnalysisLayer] = []
    for kind in kinds:
        gdf = features.get(kind)
        if gdf is None or len(gdf) == 0:
            continue
        if kind in {"fld", "tnm", "htd", "ifld"}:
            layer = hazard_layer(gdf, lang=lang)
        else:
            layer = context_layer(gdf, kind, lang=lang)
        if layer is not None:
            layers.append(layer)
    named = [g for k, g in features.items() if k in {"tran", "wtr"} and k in kinds and "name" in g.columns
             and g["name"].notna().any()]
    if named and labels:
        frame = pd.concat([g[["name", g.geometry.name]].rename_geometry("geometry") if g.geometry.name != "geometry"
                           else g[["name", "geometry"]] for g in [n.to_crs(named[0].crs) for n in named]])
        near = None if bbox is None else ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        label = labels_layer(gpd.GeoDataFrame(frame, geometry="geometry", crs=named[0].crs), height_by=None, size_px=14,
                             near=near)
        if label is not None:
            layers.append(label)
    return layers
