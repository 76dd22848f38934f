"""Colours for map layers: perceptually uniform colour maps and categorical palettes, with legends.

Continuous values use matplotlib's ``viridis`` (default) or ``cividis``: both are perceptually
uniform and readable with the common forms of colour-vision deficiency (van der Walt & Smith,
"A better default colormap for Matplotlib", SciPy 2015; Nuñez et al., "Optimizing colormaps with
consideration for color vision deficiency", PLOS ONE 13(7), 2018 for cividis). Categories use
``tab10`` (Tableau 10), distinct in hue and lightness.

Every function returns RGBA as ``uint8`` rows, the form deck.gl's ``getFillColor`` wants, and a
:class:`Legend` that the saved HTML page (and matplotlib) can draw.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field as dc_field

import numpy as np
import pandas as pd

from numazu_geo.maps.labels import field, format_number

#: Colour of features whose value is missing (light grey, drawn under "no data" in the legend).
NA_RGBA = (190, 190, 190, 255)
#: Default percentiles clipping the colour range, so that a few extreme roofs do not wash out the rest.
CLIP_PERCENTILES = (2.0, 98.0)
DEFAULT_CMAP = "viridis"
CATEGORICAL_PALETTE = "tab10"
#: Categories beyond the palette's size are merged into "other".
MAX_CATEGORIES = 10

#: How the colour range was chosen, shown under the legend.
DOMAIN_NOTES = {
    "fixed": {"ja": "色の範囲は固定（どの地図でも同じ値は同じ色）",
              "en": "fixed colour range: the same value has the same colour on every map"},
    "data": {"ja": "色の範囲はこの地図のデータに合わせています（他の地図と色を比べられません）",
             "en": "colour range stretched to this map's data: colours do not compare between maps"},
}

_NO_DATA = {"ja": "データなし", "en": "no data"}
_OTHER = {"ja": "その他", "en": "other"}


@dataclass
class Legend:
    """What a legend shows: a colour ramp (``kind="continuous"``) or swatches (``"categorical"``)."""

    title: str
    kind: str  # "continuous" | "categorical"
    vmin: float | None = None
    vmax: float | None = None
    cmap: str | None = None
    stops: list[tuple[float, tuple[int, int, int, int]]] = dc_field(default_factory=list)  # (0..1, rgba)
    categories: list[tuple[str, tuple[int, int, int, int]]] = dc_field(default_factory=list)
    tick_labels: list[str] = dc_field(default_factory=list)  # continuous: labels at vmin, mid, vmax
    na_label: str | None = None  # shown when some values were missing
    na_color: tuple[int, int, int, int] = NA_RGBA
    note: str | None = None  # how the colour range was chosen (fixed or stretched to the data)

    def to_html(self) -> str:
        """An HTML fragment (no scripts, no external resources) drawing this legend."""
        parts = [f'<div class="ng-legend-block"><div class="ng-legend-title">{html.escape(self.title)}</div>']
        if self.kind == "continuous":
            css_stops = ", ".join(f"{_css(rgba)} {pos * 100:.0f}%" for pos, rgba in self.stops)
            parts.append(f'<div class="ng-legend-ramp" style="background: linear-gradient(to right, {css_stops});"></div>')
            ticks = "".join(f"<span>{html.escape(t)}</span>" for t in self.tick_labels)
            parts.append(f'<div class="ng-legend-ticks">{ticks}</div>')
        else:
            for label, rgba in self.categories:
                parts.append(
                    f'<div class="ng-legend-item"><span class="ng-swatch" style="background:{_css(rgba)}"></span>'
                    f"{html.escape(str(label))}</div>"
                )
        if self.na_label:
            parts.append(
                f'<div class="ng-legend-item"><span class="ng-swatch" style="background:{_css(self.na_color)}"></span>'
                f"{html.escape(self.na_label)}</div>"
            )
        if self.note:
            parts.append(f'<div class="ng-legend-note">{html.escape(self.note)}</div>')
        parts.append("</div>")
        return "".join(parts)


def _css(rgba) -> str:
    r, g, b, a = (list(rgba) + [255])[:4]
    return f"rgba({int(r)},{int(g)},{int(b)},{a / 255:.2f})"


def fixed_domains() -> dict[str, tuple[float, float]]:
    """{column: (vmin, vmax)}: the documented colour range of each quantity (``data/map_color_domains.csv``).

    Maps colour these columns over the same range every time, so two maps (two districts, two
    cities) can be compared by eye; ``stretch=True`` asks for the data's own range instead.
    """
    return dict(_fixed_domains_cached())


def _fixed_domains_cached(_cache={}):  # noqa: B006 - module-level memo of a small file
    if not _cache:
        from numazu_geo.paths import data_path

        table = pd.read_csv(data_path("map_color_domains.csv"))
        _cache.update({row.column: (float(row.vmin), float(row.vmax)) for row in table.itertuples()})
    return _cache


def _get_cmap(name: str):
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError:
        raise ValueError(f"unknown colour map {name!r} (try 'viridis' or 'cividis')") from None


def continuous_colors(
    values,
    *,
    cmap: str = DEFAULT_CMAP,
    vmin: float | None = None,
    vmax: float | None = None,
    clip_percentiles: tuple[float, float] | None = CLIP_PERCENTILES,
    column: str | None = None,
    lang: str = "ja",
    alpha: int = 255,
    stretch: bool = False,
) -> tuple[np.ndarray, Legend]:
    """Map numbers to RGBA ``uint8`` (N, 4) with a perceptually uniform colour map.

    The range is ``vmin``..``vmax`` when given; else, for a quantity with a documented range
    (:func:`fixed_domains`, e.g. ``kwh_m2_year`` 600-1,800) that fixed range unless ``stretch``;
    else the ``clip_percentiles`` of the finite values. Values outside the range take the end
    colours and the legend then reads "≤ low" / "≥ high"; the legend says whether the range is
    fixed or stretched. Missing values get :data:`NA_RGBA`.
    """
    label = field(column) if column else None
    domain_kind = None
    if vmin is None and vmax is None and not stretch and column in fixed_domains():
        vmin, vmax = fixed_domains()[column]
        domain_kind = "fixed"
    elif vmin is None or vmax is None:
        domain_kind = "data"
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(numbers)
    clipped_low = clipped_high = False
    if finite.any():
        lo, hi = (np.nanpercentile(numbers[finite], clip_percentiles) if clip_percentiles
                  else (numbers[finite].min(), numbers[finite].max()))
        data_min, data_max = numbers[finite].min(), numbers[finite].max()
        if vmin is None:
            vmin = float(lo)
        if vmax is None:
            vmax = float(hi)
        clipped_low = vmin > data_min
        clipped_high = vmax < data_max
    else:
        vmin = 0.0 if vmin is None else vmin
        vmax = 1.0 if vmax is None else vmax
    if not vmax > vmin:
        vmax = vmin + (abs(vmin) * 0.01 or 1.0)
    colormap = _get_cmap(cmap)
    t = np.clip((numbers - vmin) / (vmax - vmin), 0.0, 1.0)
    rgba = np.asarray(colormap(np.where(finite, t, 0.0)) * 255).round().astype(np.uint8)
    rgba[:, 3] = alpha
    rgba[~finite] = NA_RGBA
    if label is not None:
        fmt, scale, unit = label.fmt, label.scale, label.unit(lang)
        title = label.title(lang)
    else:
        fmt, scale, unit, title = "{:,.3g}", 1.0, "", column or ""
    if fmt == "{}":
        fmt = "{:,.3g}"
    mid = (vmin + vmax) / 2
    ticks = [format_number(vmin, fmt, scale), format_number(mid, fmt, scale), format_number(vmax, fmt, scale)]
    if clipped_low:
        ticks[0] = "≤ " + ticks[0]
    if clipped_high:
        ticks[2] = "≥ " + ticks[2]
    del unit  # the unit is in the title
    stops = [(float(p), tuple(int(c) for c in np.asarray(colormap(p)) * 255)) for p in np.linspace(0, 1, 9)]
    legend = Legend(
        title=title, kind="continuous", vmin=float(vmin), vmax=float(vmax), cmap=cmap, stops=stops,
        tick_labels=ticks, na_label=_NO_DATA[lang] if (~finite).any() else None,
        note=DOMAIN_NOTES[domain_kind][lang] if domain_kind else None,
    )
    return rgba, legend


def categorical_colors(
    values,
    *,
    palette: str = CATEGORICAL_PALETTE,
    column: str | None = None,
    lang: str = "ja",
    max_categories: int = MAX_CATEGORIES,
    alpha: int = 255,
) -> tuple[np.ndarray, Legend]:
    """Map labels to RGBA ``uint8`` (N, 4): the most frequent categories first, the rest as "other"."""
    series = pd.Series(values, dtype="object")
    missing = series.isna().to_numpy()
    counts = series[~missing].astype(str).value_counts()
    keep = list(counts.index[: max_categories - 1]) if len(counts) > max_categories else list(counts.index)
    colormap = _get_cmap(palette)
    n_colors = getattr(colormap, "N", max_categories)
    colors = {cat: tuple(int(c) for c in np.asarray(colormap(i % n_colors)) * 255) for i, cat in enumerate(keep)}
    other = tuple(int(c) for c in np.asarray(colormap((len(keep)) % n_colors)) * 255)
    rgba = np.empty((len(series), 4), dtype=np.uint8)
    has_other = False
    for i, (value, miss) in enumerate(zip(series, missing)):
        if miss:
            rgba[i] = NA_RGBA
            continue
        color = colors.get(str(value))
        if color is None:
            color, has_other = other, True
        rgba[i] = color
    rgba[~missing, 3] = alpha
    categories = [(cat, colors[cat]) for cat in keep]
    if has_other:
        categories.append((_OTHER[lang], other))
    title = field(column).title(lang) if column else ""
    legend = Legend(title=title, kind="categorical", categories=categories,
                    na_label=_NO_DATA[lang] if missing.any() else None)
    return rgba, legend


def colors_for(values, *, column: str | None = None, lang: str = "ja", cmap: str = DEFAULT_CMAP,
               vmin=None, vmax=None, alpha: int = 255, stretch: bool = False) -> tuple[np.ndarray, Legend]:
    """Continuous colours for numeric data (fixed documented range by default, see
    :func:`continuous_colors`), categorical colours otherwise."""
    series = pd.Series(values)
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return categorical_colors(series, column=column, lang=lang, alpha=alpha)
    return continuous_colors(series, cmap=cmap, vmin=vmin, vmax=vmax, column=column, lang=lang, alpha=alpha,
                             stretch=stretch)
