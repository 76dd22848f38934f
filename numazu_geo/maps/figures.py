"""Static figures for reports (matplotlib): roof irradiation, top roofs, monthly yield, green view.

Every function returns a ``matplotlib.figure.Figure`` (drawn on ``ax`` when given) with Japanese
(default) or English labels; :func:`save_figure` writes it as PNG atomically. Japanese text uses
Noto Sans CJK JP when installed (Debian ``fonts-noto-cjk``, installed by ``.ci/system-deps.sh``),
else another CJK font found on the system (IPAexGothic, Hiragino, Yu Gothic, Meiryo...).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from numazu_geo.io import atomic_path
from numazu_geo.maps.labels import check_lang, field

log = logging.getLogger(__name__)

#: CJK fonts tried in order for Japanese labels.
JAPANESE_FONTS = (
    "Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "Hiragino Sans", "Hiragino Kaku Gothic ProN",
    "Yu Gothic", "Meiryo", "TakaoGothic", "VL Gothic",
)
#: Green-view index that Japan's MLIT guidance cites as the level at which people start to feel a
#: street is green (緑視率 about 25 %; MLIT press release of 12 Aug 2005 on a survey of 22 Jul 2004,
#: 「都市の緑量と心理的効果の相関関係の社会実験調査」).
GVI_GREEN_THRESHOLD_PCT = 25.0
#: Main colour of single-series charts (viridis' middle; readable in grey print).
BAR_COLOR = "#21908c"
DPI = 150

_TXT = {
    "count": {"ja": "建物数", "en": "Buildings"},
    "points": {"ja": "地点数", "en": "Survey points"},
    "median": {"ja": "中央値", "en": "median"},
    "hist_title": {"ja": "屋根の年間日射量の分布", "en": "Distribution of roof irradiation"},
    "top_title": {"ja": "上位{n}棟", "en": "Top {n} buildings"},
    "month": {"ja": "月", "en": "Month"},
    "monthly_title": {"ja": "月別の発電量（地区合計）", "en": "Monthly PV yield (district total)"},
    "monthly_irr_title": {"ja": "月別の屋根日射量（地区平均）", "en": "Monthly roof irradiation (district mean)"},
    "monthly_yield": {"ja": "発電量 (MWh/月)", "en": "PV yield (MWh/month)"},
    "monthly_irr": {"ja": "日射量 (kWh/m²/月)", "en": "Irradiation (kWh/m²/month)"},
    "gvi_title": {"ja": "緑視率の分布", "en": "Distribution of the green view index"},
    "gvi_line": {"ja": "25 %（緑が多いと感じ始める目安）", "en": "25 % (streets start to feel green)"},
}
_MONTHS = {"ja": [f"{m}月" for m in range(1, 13)],
           "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]}
MONTH_COLUMNS = tuple(f"kwh_m2_month_{m:02d}" for m in range(1, 13))


def japanese_font() -> str | None:
    """Name of the first installed CJK font of :data:`JAPANESE_FONTS`, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in JAPANESE_FONTS:
        if name in installed:
            return name
    return None


def use_japanese_font() -> str | None:
    """Put a CJK font first in matplotlib's sans-serif list (so 日本語 renders); return its name.

    Logs a warning (once per call) when none is installed: Japanese labels then show as boxes.
    """
    import matplotlib as mpl

    name = japanese_font()
    if name is None:
        log.warning("no Japanese font found (install fonts-noto-cjk); Japanese labels may not render")
        return None
    sans = [name] + [f for f in mpl.rcParams["font.sans-serif"] if f != name]
    mpl.rcParams["font.sans-serif"] = sans
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["axes.unicode_minus"] = False
    return name


def _new_axes(ax, figsize):
    import matplotlib.pyplot as plt

    use_japanese_font()
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


#: Font size (pt) of the provenance caption at the foot of a figure.
CAPTION_FONTSIZE = 7


def add_caption(fig, text: str | None, *, fontsize: float = CAPTION_FONTSIZE):
    """Print ``text`` (data credit, climate, model, date) at the foot of ``fig``, wrapped to its width,
    and shrink the plot area so nothing overlaps. Returns ``fig``."""
    import textwrap

    if not text:
        return fig
    cjk = any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)
    width_chars = int(fig.get_figwidth() * 72 / (fontsize * (0.85 if cjk else 0.55)))
    wrapped = "\n".join(textwrap.wrap(text, width=max(20, width_chars)))
    lines = wrapped.count("\n") + 1
    frac = min(0.4, (lines * fontsize * 1.35 / 72 + 0.06) / fig.get_figheight())
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and "rect" in getattr(engine, "get", lambda: {})():
        engine.set(rect=(0, frac, 1, 1 - frac))
    else:
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, frac + 0.08))
    fig.text(0.01, 0.008, wrapped, fontsize=fontsize, color="#4a4a4a", ha="left", va="bottom")
    return fig


def _auto_caption(fig, df, lang: str, caption, ax_given: bool):
    """The figure's provenance line: ``caption="auto"`` builds it from ``df`` (its data credit and
    ``attrs``, see :func:`numazu_geo.maps.credits.caption`); None leaves it out."""
    if caption is None or (caption == "auto" and ax_given):
        return fig
    if caption == "auto":
        from numazu_geo.maps.credits import caption as make_caption

        try:
            caption = make_caption(df, lang)
        except Exception as exc:  # noqa: BLE001 - a caption must never stop a figure
            log.warning("figure caption: %s", exc)
            return fig
    return add_caption(fig, caption)


def _numbers(df: pd.DataFrame, column: str, what: str) -> np.ndarray:
    if column not in df.columns:
        raise KeyError(f"{what}: no column {column!r} (columns: {', '.join(map(str, df.columns))})")
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return values[np.isfinite(values)]


def _style(ax, *, integer_y: bool = False, thousands_x: bool = False):
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    if integer_y:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if thousands_x:
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def irradiation_histogram(df: pd.DataFrame, column: str = "kwh_m2_year", *, bins: int = 30, lang: str = "ja",
                          ax=None, title: str | None = None, caption="auto"):
    """Histogram of roof irradiation (or any numeric ``column``) with the median marked."""
    check_lang(lang)
    values = _numbers(df, column, "irradiation_histogram")
    if values.size == 0:
        raise ValueError(f"irradiation_histogram: column {column!r} has no finite values")
    ax_given = ax is not None
    fig, ax = _new_axes(ax, (7, 4))
    ax.hist(values, bins=bins, color=BAR_COLOR, edgecolor="white", linewidth=0.5)
    med = float(np.median(values))
    label = field(column)
    ax.axvline(med, color="#c0392b", linestyle="--", linewidth=1.5,
               label=f"{_TXT['median'][lang]} {label.format(med, lang)}")
    ax.set_xlabel(label.title(lang))
    ax.set_ylabel(_TXT["count"][lang])
    default_title = _TXT["hist_title"][lang] if column == "kwh_m2_year" else label.name(lang)
    ax.set_title(title or default_title)
    ax.legend(frameon=True, framealpha=0.9, edgecolor="none", loc="best")
    _style(ax, integer_y=True, thousands_x=True)
    _auto_caption(fig, df, lang, caption, ax_given)
    return fig


def top_roofs_bar(df: pd.DataFrame, column: str = "kwh_year", *, n: int = 10, label_column: str | None = None,
                  lang: str = "ja", ax=None, title: str | None = None, caption="auto"):
    """Horizontal bar chart of the ``n`` buildings (or faces) with the largest ``column``."""
    check_lang(lang)
    if column not in df.columns:
        raise KeyError(f"top_roofs_bar: no column {column!r}")
    frame = df.assign(_v=pd.to_numeric(df[column], errors="coerce")).dropna(subset=["_v"])
    frame = frame.nlargest(n, "_v")
    if frame.empty:
        raise ValueError(f"top_roofs_bar: column {column!r} has no finite values")
    if label_column is None:
        label_column = next((c for c in ("name", "building_id", "building_key", "gml_id", "face_id")
                             if c in frame.columns and frame[c].notna().any()), None)
    if label_column:
        labels = frame[label_column].astype("string")
        # unnamed buildings fall back to their ID
        for fallback in ("building_id", "building_key", "gml_id", "face_id"):
            if fallback in frame.columns and fallback != label_column:
                labels = labels.fillna(frame[fallback].astype("string"))
        labels = labels.fillna("-").tolist()
    else:
        labels = [str(i) for i in frame.index]
    if "usage" in frame.columns and lang == "ja":
        labels = [f"{lab}（{u}）" if isinstance(u, str) else lab for lab, u in zip(labels, frame["usage"])]
    elif "usage_en" in frame.columns and lang == "en":
        labels = [f"{lab} ({u})" if isinstance(u, str) else lab for lab, u in zip(labels, frame["usage_en"])]
    ax_given = ax is not None
    fig, ax = _new_axes(ax, (7, 0.9 + 0.38 * len(frame)))
    y = np.arange(len(frame))[::-1]
    ax.barh(y, frame["_v"], color=BAR_COLOR)
    ax.set_yticks(y, labels, fontsize=9)
    label = field(column)
    for yi, v in zip(y, frame["_v"]):
        ax.text(v, yi, " " + label.format(v, lang, with_unit=False), va="center", fontsize=8)
    ax.set_xlabel(label.title(lang))
    ax.set_title(title or f"{label.name(lang)}: " + _TXT["top_title"][lang].format(n=len(frame)))
    ax.spines[["top", "right"]].set_visible(False)
    from matplotlib.ticker import StrMethodFormatter

    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.margins(x=0.15)
    _auto_caption(fig, df, lang, caption, ax_given)
    return fig


def monthly_yield_curve(df: pd.DataFrame, *, kind: str = "auto", lang: str = "ja", ax=None, title: str | None = None,
                        caption="auto"):
    """Monthly curve from the ``kwh_m2_month_01..12`` columns.

    ``kind="yield"``: district total PV yield per month (MWh), each building's ``kwh_year`` split
    over the months in proportion to its roof irradiation; ``"irradiation"``: area-weighted mean
    roof irradiation per month (kWh/m²); ``"auto"``: yield when ``kwh_year`` exists.
    """
    check_lang(lang)
    missing = [c for c in MONTH_COLUMNS if c not in df.columns]
    if missing:
        raise KeyError(f"monthly_yield_curve: missing monthly columns {missing[:3]}... (expected kwh_m2_month_01..12)")
    months = df[list(MONTH_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if kind == "auto":
        kind = "yield" if "kwh_year" in df.columns else "irradiation"
    if kind not in {"yield", "irradiation"}:
        raise ValueError(f"kind must be 'yield', 'irradiation' or 'auto', got {kind!r}")
    annual = np.nansum(months, axis=1)
    ok = np.isfinite(months).all(axis=1) & (annual > 0)
    if kind == "yield":
        kwh_year = pd.to_numeric(df["kwh_year"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        ok &= np.isfinite(kwh_year)
        share = months[ok] / annual[ok, None]
        series = (share * kwh_year[ok, None]).sum(axis=0) / 1000.0
        ylabel, default_title = _TXT["monthly_yield"][lang], _TXT["monthly_title"][lang]
    else:
        weight = (pd.to_numeric(df["usable_area_m2"], errors="coerce").fillna(0).to_numpy(dtype="float64")
                  if "usable_area_m2" in df.columns else np.ones(len(df)))
        w = weight[ok]
        if w.sum() <= 0:
            w = np.ones_like(w)
        series = (months[ok] * w[:, None]).sum(axis=0) / w.sum()
        ylabel, default_title = _TXT["monthly_irr"][lang], _TXT["monthly_irr_title"][lang]
    if not ok.any():
        raise ValueError("monthly_yield_curve: no building has complete monthly values")
    ax_given = ax is not None
    fig, ax = _new_axes(ax, (7, 3.8))
    x = np.arange(1, 13)
    ax.plot(x, series, marker="o", color=BAR_COLOR, linewidth=2)
    ax.fill_between(x, series, color=BAR_COLOR, alpha=0.15)
    ax.set_xticks(x, _MONTHS[lang])
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    ax.set_title(title or default_title)
    _style(ax)
    _auto_caption(fig, df, lang, caption, ax_given)
    return fig


def gvi_histogram(df: pd.DataFrame, column: str = "gvi", *, bins: int = 20, lang: str = "ja", ax=None,
                  title: str | None = None, threshold_pct: float = GVI_GREEN_THRESHOLD_PCT, caption="auto"):
    """Histogram of the green view index (percent, as ``green_view_survey`` gives it) with the 25 % line."""
    check_lang(lang)
    values = _numbers(df, column, "gvi_histogram")
    if values.size == 0:
        raise ValueError(f"gvi_histogram: column {column!r} has no finite values")
    ax_given = ax is not None
    fig, ax = _new_axes(ax, (7, 4))
    upper = max(50.0, float(np.ceil(values.max() / 10) * 10))
    ax.hist(values, bins=np.linspace(0, upper, bins + 1), color="#3a9c5b", edgecolor="white", linewidth=0.5)
    ax.axvline(threshold_pct, color="#c0392b", linestyle="--", linewidth=1.5, label=_TXT["gvi_line"][lang])
    ax.set_xlabel(field(column).title(lang))
    ax.set_ylabel(_TXT["points"][lang])
    ax.set_title(title or _TXT["gvi_title"][lang])
    ax.set_ylim(top=ax.get_ylim()[1] * 1.2)  # room for the legend above the bars
    ax.legend(frameon=True, framealpha=0.9, edgecolor="none", loc="upper right")
    _style(ax, integer_y=True)
    _auto_caption(fig, df, lang, caption, ax_given)
    return fig


def save_figure(fig, path: str | os.PathLike, *, dpi: int = DPI) -> Path:
    """Save ``fig`` as PNG (atomically) and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{path}: figures are saved as PNG; use a .png file name")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    return path
