"""Compose layers into a 3D map and save it as ONE self-contained HTML file.

``pydeck.Deck.to_html(offline=True)`` embeds deck.gl but its page still loads mapbox-gl,
Bootstrap, Font Awesome and MapLibre CSS from CDNs, so a classroom without internet sees failing
requests. :func:`save_html` instead renders the deck's JSON into the project's own template
(``templates/map.html``): the deck.gl bundle shipped inside the pydeck wheel is inlined, fonts are
the reader's local ones (Noto Sans CJK JP, Hiragino, Yu Gothic, Meiryo), and a Content Security
Policy forbids every network request in offline mode. The page carries the title, the legends and
the PLATEAU attribution, and opens from a USB stick.

Online mode (``offline=False``) may add a GSI base map (地理院タイル, pale map) drawn by deck.gl's
``TileLayer``, with the attribution GSI asks for.

References: deck.gl JSON API and TileLayer docs (https://deck.gl); GSI tiles terms of use
(https://maps.gsi.go.jp/development/ichiran.html); PLATEAU open data licence and credit line
(https://www.mlit.go.jp/plateau/site-policy/).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pydeck as pdk

from numazu_geo.io import write_text_atomic
from numazu_geo.maps.credits import SAMPLE_ATTRIBUTION  # noqa: F401 - kept importable from maps.deck
from numazu_geo.maps.credits import caption as provenance_caption, place_name
from numazu_geo.maps.credits import plateau_attribution as _plateau_attribution
from numazu_geo.maps.labels import check_lang
from numazu_geo.maps.layers import declutter_labels, mercator_y

log = logging.getLogger(__name__)

#: Camera pitch (degrees from vertical) of the default 3D view: steep enough to read heights,
#: flat enough to see the street layout.
DEFAULT_PITCH_DEG = 50.0
DEFAULT_BEARING_DEG = -20.0
#: Viewport size assumed when fitting the camera to the data (pixels; a laptop browser window).
FIT_VIEWPORT_PX = (1200, 800)
#: Background of the offline page (no base map): dark slate, so viridis' yellow end stands out.
BACKGROUND = "#1e2430"
#: Ground plane drawn under the data when there is no base map (RGBA).
GROUND_RGBA = [52, 60, 74, 255]

#: Kept for callers of the first API: the city and year are now read from the data
#: (numazu_geo.maps.credits); these are used only when a caller passes them explicitly.
PLATEAU_CITY = "沼津市"
PLATEAU_YEAR = 2023


@dataclass(frozen=True)
class Basemap:
    url: str
    attribution_html: str
    min_zoom: int = 2
    max_zoom: int = 18
    opacity: float = 1.0


#: GSI pale map (淡色地図). Attribution required by the GSI terms of use: 「地理院タイル」 with a link.
GSI_PALE = Basemap(
    url="https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
    attribution_html='<a href="https://maps.gsi.go.jp/development/ichiran.html" target="_blank" rel="noopener">地理院タイル</a>',
    min_zoom=2, max_zoom=18,
)
#: GSI standard map (標準地図).
GSI_STD = Basemap(
    url="https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png",
    attribution_html=GSI_PALE.attribution_html, min_zoom=2, max_zoom=18,
)
BASEMAPS = {"gsi": GSI_PALE, "gsi-pale": GSI_PALE, "gsi-std": GSI_STD}

_HELP = {
    "ja": "ドラッグで移動・Ctrl+ドラッグ（右ドラッグ）で回転・ホイールで拡大縮小・建物にマウスを重ねると数値",
    "en": "Drag to pan, Ctrl+drag (right-drag) to rotate, scroll to zoom, hover a building for its figures",
}
_WEBGL_ERROR = {
    "ja": "3D表示を開始できませんでした（WebGLが無効の可能性があります）。",
    "en": "The 3D view could not start (WebGL may be disabled).",
}
_DEFAULT_TITLE = {"ja": "3D環境マップ", "en": "3D environmental map"}
_NO_CREDIT = "3D都市モデル（Project PLATEAU）, 国土交通省"


def plateau_attribution(city: str, year: int | str | None = None) -> str:
    """The PLATEAU credit line, e.g. 「3D都市モデル（Project PLATEAU）沼津市（2023年度）, 国土交通省」.

    Maps work the city and year out from the data (:func:`numazu_geo.maps.credits.data_credits`);
    this builds the line for a city given by hand.
    """
    return _plateau_attribution(city, year)


class MapDeck(pdk.Deck):
    """A ``pydeck.Deck`` that remembers the title, language, legends and credit lines of the page.

    These live in slots, outside what pydeck serialises, and are used by :func:`save_html`.
    """

    __slots__ = ("title", "subtitle", "lang", "legends", "attributions", "basemap", "texts", "legends_by_lang",
                 "caption")


def _layer_bounds(layers) -> tuple[float, float, float, float] | None:
    boxes = [getattr(layer, "bounds_lonlat", None) for layer in layers]
    boxes = [b for b in boxes if b and all(math.isfinite(v) for v in b)]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def fit_zoom(bounds, viewport_px=FIT_VIEWPORT_PX, *, padding: float = 0.08) -> float:
    """Web-Mercator zoom at which ``bounds`` (W, S, E, N degrees) fills the viewport with some margin.

    deck.gl's MapView uses 512-pixel tiles: the world is ``512 * 2**zoom`` pixels wide.
    """
    west, south, east, north = bounds
    width, height = viewport_px
    usable_w, usable_h = width * (1 - 2 * padding), height * (1 - 2 * padding)

    span_x = max(east - west, 1e-6) / 360.0
    span_y = max(mercator_y(north) - mercator_y(south), 1e-8) / (2 * math.pi)
    zoom = min(math.log2(usable_w / (512 * span_x)), math.log2(usable_h / (512 * span_y)))
    return float(max(2.0, min(zoom, 19.0)))


def ground_layer(bounds, *, margin: float = 0.25) -> pdk.Layer:
    """A flat plane under the data (drawn when there is no base map) so buildings stand on something."""
    west, south, east, north = bounds
    dx, dy = (east - west) * margin + 1e-4, (north - south) * margin + 1e-4
    ring = [[west - dx, south - dy], [east + dx, south - dy], [east + dx, north + dy], [west - dx, north + dy]]
    return pdk.Layer("PolygonLayer", [{"polygon": ring}], id="numazu-ground", get_polygon="polygon",
                     get_fill_color=GROUND_RGBA, stroked=False, filled=True, extruded=False, pickable=False)


def _analysis_name(layers, lang: str) -> str | None:
    """The quantity the first legend shows, without its unit (e.g. 屋根の年間日射量)."""
    for layer in layers:
        legend = (getattr(layer, "legends", None) or {}).get(lang) or getattr(layer, "legend", None)
        if legend is not None and legend.title:
            return legend.title.split(" (")[0]
    return None


def default_title(layers, lang: str) -> str:
    """「<place> <quantity>」 from the layers' data, e.g. 「大田区 屋根の年間日射量」; a generic title when unknown."""
    frame = next((getattr(lay, "source_frame", None) for lay in layers
                  if getattr(lay, "source_frame", None) is not None and getattr(lay, "kind", "") in
                  {"buildings", "roofs", "green_view", "trips"}), None)
    place = None
    if frame is not None:
        try:
            place = place_name(frame, lang)
        except Exception as exc:  # noqa: BLE001 - a title must never stop a map
            log.warning("could not name the place: %s", exc)
    what = _analysis_name(layers, lang)
    parts = [p for p in (place, what) if p]
    return " ".join(parts) if parts else _DEFAULT_TITLE[lang]


def _expand(layers) -> list:
    out = []
    for layer in layers:
        out.append(layer)
        out.extend(getattr(layer, "companions", None) or [])
    return out


def view(
    *layers,
    title: str | None = None,
    subtitle: str | None = None,
    lang: str = "ja",
    pitch_deg: float = DEFAULT_PITCH_DEG,
    bearing_deg: float = DEFAULT_BEARING_DEG,
    zoom: float | None = None,
    center_lonlat: tuple[float, float] | None = None,
    basemap: str | None = None,
    ground: bool = True,
    attribution: str | list[str] | None = None,
    city: str | None = None,
    year: int | str | None = None,
    provenance=None,
    caption: str | dict | None = None,
    context=None,
) -> MapDeck:
    """Compose layers into a 3D map (a :class:`MapDeck`) centred on their data.

    Parameters
    ----------
    *layers : layers from :mod:`numazu_geo.maps.layers` (or plain ``pydeck.Layer``; those need
        ``center_lonlat``/``zoom`` and have no legend). Layers' companions (roof caps, LOD2 roof
        faces) are drawn right after them.
    title, subtitle : page heading; default 「<place> <quantity>」 from the data (e.g. 「大田区
        屋根の年間日射量」). The page carries both languages; ``title`` is used for ``lang``, the
        other language gets the default title unless ``title`` is a dict ``{"ja": ..., "en": ...}``.
    lang : ``"ja"`` or ``"en"``: the language the page opens in (a button switches).
    pitch_deg, bearing_deg : camera tilt from vertical and heading; zoom fits the data when None.
    basemap : None, or ``"gsi"``/``"gsi-pale"``/``"gsi-std"``: GSI tiles, drawn only when the page is
        saved with ``offline=False``.
    ground : draw a plain ground plane under the data when there is no base map.
    attribution : data credit line(s); default: worked out from the layers' data (every city and
        year found, or the synthetic sample's line), or the line for ``city``/``year`` when given.
    provenance : a result (SolarResult, GeoDataFrame with ``attrs``, or dict) whose data credit,
        climate source, model and date are printed on the page (:func:`numazu_geo.maps.credits.caption`);
        default: the first layer's data.
    caption : the provenance line itself (str, or ``{"ja": ..., "en": ...}``) instead.
    context : place-context layers (roads, water, hazard areas, labels; see
        :func:`numazu_geo.maps.layers.place_layers`) drawn under the analysis layers.
    """
    check_lang(lang)
    if not layers:
        raise ValueError("view() needs at least one layer")
    if basemap is not None and basemap not in BASEMAPS:
        raise ValueError(f"unknown basemap {basemap!r}; choose from {sorted(BASEMAPS)}")
    bounds = _layer_bounds(layers)
    if center_lonlat is None:
        if bounds is None:
            raise ValueError("view(): cannot centre the camera; pass center_lonlat=(lon, lat) for plain pydeck layers")
        center_lonlat = ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    if zoom is None:
        zoom = fit_zoom(bounds) if bounds else 15.0
    context = list(context or [])
    labels = [lay for lay in context if getattr(lay, "kind", "") == "labels"]
    flat = [lay for lay in context if lay not in labels]
    all_layers = flat + _expand(layers) + declutter_labels(labels, zoom, pitch_deg=pitch_deg, bearing_deg=bearing_deg)
    if ground and bounds is not None:
        all_layers.insert(0, ground_layer(bounds))
    deck = MapDeck(
        layers=all_layers,
        views=[pdk.View(type="MapView", controller=True)],
        map_provider=None,
        map_style=None,
        initial_view_state=pdk.ViewState(
            longitude=round(center_lonlat[0], 6), latitude=round(center_lonlat[1], 6), zoom=round(zoom, 2),
            pitch=pitch_deg, bearing=bearing_deg, max_pitch=85, min_zoom=2, max_zoom=20,
        ),
        tooltip={"html": "{tooltip}", "style": {"backgroundColor": "rgba(20, 24, 32, 0.92)", "color": "#ffffff",
                                                 "padding": "8px 10px", "borderRadius": "4px", "maxWidth": "340px"}},
    )
    other = "en" if lang == "ja" else "ja"
    shown = list(layers) + [lay for lay in context if getattr(lay, "legend", None) is not None]
    titles = dict(title) if isinstance(title, dict) else {lang: title}
    subtitles = dict(subtitle) if isinstance(subtitle, dict) else {lang: subtitle}
    texts = {}
    for lg in (lang, other):
        texts[lg] = {"title": titles.get(lg) or default_title(layers, lg),
                     "subtitle": subtitles.get(lg), "help": _HELP[lg]}
    # credits: given, else from the data
    if attribution is not None:
        credits = [attribution] if isinstance(attribution, str) else list(attribution)
    elif city is not None:
        credits = [plateau_attribution(city, year)]
    else:
        credits = list(dict.fromkeys(c for lay in [*layers, *context] for c in (getattr(lay, "credits", None) or [])))
        if not credits:
            credits = [_NO_CREDIT]
    if isinstance(caption, dict):
        captions = caption
    elif isinstance(caption, str):
        captions = {lang: caption, other: caption}
    else:
        source = provenance
        if source is None:
            source = next((getattr(lay, "source_frame", None) for lay in layers
                           if getattr(lay, "source_frame", None) is not None), None)
        captions = {lg: provenance_caption(source, lg, credits=credits) for lg in (lang, other)}
    for lg in (lang, other):
        texts[lg]["caption"] = captions.get(lg)
    deck.texts = texts
    deck.title = texts[lang]["title"]
    deck.subtitle = texts[lang]["subtitle"]
    deck.caption = captions.get(lang)
    deck.lang = lang
    deck.legends = [layer.legend for layer in shown if getattr(layer, "legend", None) is not None]
    deck.legends_by_lang = {
        lg: [((getattr(layer, "legends", None) or {}).get(lg) or layer.legend) for layer in shown
             if getattr(layer, "legend", None) is not None] for lg in (lang, other)}
    deck.attributions = credits
    deck.basemap = basemap
    return deck


def _bundle_path() -> Path:
    path = Path(pdk.__file__).resolve().parent / "nbextension" / "static" / "index.js"
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: deck.gl bundle missing from the pydeck installation (reinstall pydeck>=0.9 from its wheel)"
        )
    return path


def _deckgl_bundle() -> str:
    text = _bundle_path().read_text(encoding="utf-8")
    # an inline <script> ends at the first "</script": make sure the bundle cannot close it early
    return text.replace("</script", "<\\/script")


def _script_json(obj) -> str:
    """JSON that is safe inside an inline <script> (no "</", no HTML comment openers)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def _csp(basemap: Basemap | None) -> str:
    # offline: nothing may leave the page; inline scripts/styles, data: and blob: only
    origins = ""
    if basemap is not None:
        scheme_host = "/".join(basemap.url.split("/")[:3])
        origins = f" {scheme_host}"
    return (
        "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' blob:; style-src 'unsafe-inline'; "
        f"img-src data: blob:{origins}; connect-src data: blob:{origins}; worker-src blob:; font-src data:"
    )


def to_html(deck: pdk.Deck, *, offline: bool = True, title: str | None = None, lang: str | None = None) -> str:
    """The self-contained HTML page for ``deck`` as a string (see :func:`save_html`)."""
    import html as _html

    import jinja2

    from numazu_geo import __version__
    from pydeck.frontend_semver import DECKGL_SEMVER

    lang = check_lang(lang or getattr(deck, "lang", None) or "ja")
    other = "en" if lang == "ja" else "ja"
    texts = dict(getattr(deck, "texts", None) or {})
    for lg in (lang, other):
        texts.setdefault(lg, {"title": getattr(deck, "title", None) or _DEFAULT_TITLE[lg],
                              "subtitle": getattr(deck, "subtitle", None), "help": _HELP[lg],
                              "caption": getattr(deck, "caption", None)})
    if title:
        texts[lang] = {**texts[lang], "title": title}
    legends_by_lang = getattr(deck, "legends_by_lang", None)
    if not legends_by_lang:
        legends = getattr(deck, "legends", None)
        if legends is None:
            legends = [lay.legend for lay in (deck.layers or []) if getattr(lay, "legend", None) is not None]
        legends_by_lang = {lang: legends}
    attributions = list(getattr(deck, "attributions", None) or [_NO_CREDIT])
    basemap = None
    basemap_name = getattr(deck, "basemap", None)
    if not offline:
        basemap = BASEMAPS[basemap_name or "gsi"]
    deck_json = json.loads(deck.to_json())
    if basemap is not None:  # the base map replaces the plain ground plane
        deck_json["layers"] = [lay for lay in deck_json.get("layers", []) if lay.get("id") != "numazu-ground"]
    attribution_html = " | ".join(_html.escape(a) for a in attributions)
    if basemap is not None:
        attribution_html = basemap.attribution_html + " | " + attribution_html
    legends_html = "".join(
        f'<div data-lang="{lg}">' + "".join(legend.to_html() for legend in legends_by_lang[lg]) + "</div>"
        for lg in (lang, other) if legends_by_lang.get(lg))
    if len(legends_by_lang) == 1:  # a deck built by hand: one legend set for both languages
        legends_html = "".join(legend.to_html() for legend in legends_by_lang[lang])
    env = jinja2.Environment(loader=jinja2.PackageLoader("numazu_geo.maps", "templates"), autoescape=True)
    template = env.get_template("map.html")
    return template.render(
        lang=lang,
        langs=(lang, other),
        texts=texts,
        title=texts[lang]["title"],
        webgl_error=_WEBGL_ERROR[lang],
        version=__version__,
        deckgl_version=DECKGL_SEMVER,
        csp=_csp(basemap),
        background=BACKGROUND,
        legends_html=legends_html,
        attribution_html=attribution_html,
        bundle=_deckgl_bundle(),
        deck_json=_script_json(deck_json),
        tooltip_json=_script_json(getattr(deck, "_tooltip", None) or True),
        lang_json=_script_json(lang),
        basemap_json=_script_json(
            None if basemap is None else
            {"url": basemap.url, "minZoom": basemap.min_zoom, "maxZoom": basemap.max_zoom, "opacity": basemap.opacity}
        ),
    )


def save_html(deck: pdk.Deck, path: str | os.PathLike, offline: bool = True, *, title: str | None = None,
              lang: str | None = None) -> Path:
    """Write ``deck`` as one self-contained HTML file (atomically) and return its path.

    ``offline=True`` (default): deck.gl is inlined, no base map, and the page's Content Security
    Policy blocks every network request, so it behaves the same from a USB stick without internet.
    ``offline=False``: adds the GSI base map (the deck's ``basemap``, default the pale map) with
    its attribution; everything else is still inlined.
    """
    path = Path(path)
    if path.suffix.lower() not in {".html", ".htm"}:
        raise ValueError(f"{path}: the map is written as HTML; use a .html file name")
    page = to_html(deck, offline=offline, title=title, lang=lang)
    write_text_atomic(path, page)
    log.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


#: Browser window used for PNG export (pixels); the page fits the camera to it.
PNG_SIZE_PX = (1600, 1000)
#: Virtual time the headless browser gives the page to draw before the screenshot (ms; software
#: WebGL on a 2-core machine draws a district in well under this).
PNG_RENDER_BUDGET_MS = 15000


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``NUMAZU_GEO_CHROMIUM`` first), or None."""
    import shutil

    env = os.environ.get("NUMAZU_GEO_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def save_png(deck_or_html, path: str | os.PathLike, *, size_px: tuple[int, int] = PNG_SIZE_PX,
             lang: str | None = None, chromium: str | None = None, timeout_s: float = 120.0) -> Path:
    """Render a map (a deck from :func:`view`, or a saved ``.html`` page) to a PNG of the whole view.

    The page is opened offline in headless Chromium (``--virtual-time-budget`` lets deck.gl finish
    drawing) at ``size_px`` and the screenshot keeps every panel: title, caption, legend, north
    arrow, scale bar and credits. ``lang`` switches the page's language first. Needs Chromium
    (Debian package ``chromium``; or ``NUMAZU_GEO_CHROMIUM``); raises ``RuntimeError`` naming what
    is missing otherwise. The PNG is replaced only when the browser produced one.
    """
    import subprocess
    import tempfile

    from numazu_geo.io import atomic_path

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: save_png writes PNG; use a .png file name")
    browser = chromium or find_chromium()
    if browser is None:
        raise RuntimeError(f"{path}: PNG export needs Chromium (apt install chromium, or set NUMAZU_GEO_CHROMIUM)")
    width, height = (int(v) for v in size_px)
    with tempfile.TemporaryDirectory(prefix="numazu-geo-png-") as tmp:
        tmp = Path(tmp)
        if isinstance(deck_or_html, (str, os.PathLike)):
            page = Path(deck_or_html).resolve()
            if not page.is_file():
                raise FileNotFoundError(f"{page}: no such map page")
        else:
            page = save_html(deck_or_html, tmp / "map.html")
        url = page.as_uri() + (f"#lang={check_lang(lang)}" if lang else "")
        shot = tmp / "shot.png"
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", "--disable-default-apps", "--disable-extensions", "--disable-sync",
               "--disable-component-update", "--mute-audio", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
               f"--window-size={width},{height}", f"--virtual-time-budget={PNG_RENDER_BUDGET_MS}",
               f"--screenshot={shot}", url]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{path}: Chromium did not finish within {timeout_s:.0f} s") from None
        if not shot.is_file() or shot.stat().st_size == 0:
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise RuntimeError(f"{path}: Chromium wrote no screenshot (exit {proc.returncode}): {' / '.join(tail)}")
        with atomic_path(path) as out:
            out.write_bytes(shot.read_bytes())
    log.info("wrote %s (%dx%d)", path, width, height)
    return path
