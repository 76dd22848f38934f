"""numazu_geo.maps.figures: report figures with Japanese labels, saved as PNG."""

from __future__ import annotations

import os
import shutil
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from numazu_geo.maps import figures

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def solar_table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    kwh_m2 = rng.normal(1150, 120, n)
    data = {
        "building_id": [f"22203-bldg-{i}" for i in range(n)],
        "usage": rng.choice(["住宅", "業務施設", "商業施設"], n),
        "usage_en": rng.choice(["Residential", "Office", "Commercial"], n),
        "kwh_m2_year": kwh_m2,
        "kwh_year": kwh_m2 * rng.uniform(10, 80, n),
        "usable_area_m2": rng.uniform(20, 200, n),
    }
    shape = 1 + 0.35 * np.sin((np.arange(1, 13) - 3.5) / 12 * 2 * np.pi)
    for m in range(1, 13):
        data[f"kwh_m2_month_{m:02d}"] = kwh_m2 * shape[m - 1] / shape.sum()
    return pd.DataFrame(data)


def png_ok(path, min_colors: int = 10) -> Image.Image:
    img = Image.open(path).convert("RGB")
    assert img.width > 500 and img.height > 300
    arr = np.asarray(img).reshape(-1, 3)
    assert len(np.unique(arr // 16, axis=0)) >= min_colors  # a real drawing, not a blank canvas
    return img


@pytest.fixture(scope="module")
def jp_font():
    name = figures.japanese_font()
    if name is None:
        if CI:
            pytest.fail("no Japanese font installed in CI (.ci/system-deps.sh installs fonts-noto-cjk)")
        pytest.skip("no Japanese font installed (install fonts-noto-cjk)")
    return name


def _no_missing_glyphs(record):
    missing = [str(w.message) for w in record if "missing from" in str(w.message)]
    assert not missing, missing[:3]


def test_font_selection_prefers_noto(jp_font):
    if shutil.which("fc-list") and "Noto Sans CJK JP" in os.popen("fc-list").read():
        assert jp_font == "Noto Sans CJK JP"
    assert figures.use_japanese_font() == jp_font
    assert matplotlib.rcParams["font.sans-serif"][0] == jp_font


def test_figures_render_japanese_and_save_png(tmp_path, jp_font, artifacts_dir):
    df = solar_table()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fig_h = figures.irradiation_histogram(df, lang="ja")
        fig_t = figures.top_roofs_bar(df, n=8, lang="ja")
        fig_m = figures.monthly_yield_curve(df, lang="ja")
        for fig in (fig_h, fig_t, fig_m):
            fig.canvas.draw()
    _no_missing_glyphs(record)
    assert fig_h.axes[0].get_title() == "屋根の年間日射量の分布"
    assert "中央値" in fig_h.axes[0].get_legend().get_texts()[0].get_text()
    labels = [t.get_text() for t in fig_t.axes[0].get_yticklabels()]
    top = df.nlargest(8, "kwh_year")
    by_y = dict(zip(fig_t.axes[0].get_yticks(), labels))
    assert by_y[max(by_y)].startswith(top["building_id"].iloc[0] + "（")  # largest at the top
    assert len(labels) == 8
    line = fig_m.axes[0].lines[0].get_ydata()
    assert line.sum() == pytest.approx(df["kwh_year"].sum() / 1000, rel=1e-9)  # monthly split keeps the annual total
    assert np.argmax(line) in (5, 6, 7)  # summer peak of the test data
    for name, fig in {"irradiation_hist": fig_h, "top_roofs": fig_t, "monthly_yield": fig_m}.items():
        path = figures.save_figure(fig, artifacts_dir / f"fig_{name}.png")
        png_ok(path)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_english_and_irradiation_kind(jp_font):
    df = solar_table().drop(columns="kwh_year")
    fig = figures.monthly_yield_curve(df, lang="en")
    ax = fig.axes[0]
    assert ax.get_title() == "Monthly roof irradiation (district mean)"
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "Jan"
    expected = np.average(df["kwh_m2_month_06"], weights=df["usable_area_m2"])
    assert ax.lines[0].get_ydata()[5] == pytest.approx(expected)


def test_gvi_histogram(tmp_path, jp_font, artifacts_dir):
    gvi = pd.DataFrame({"gvi": np.r_[np.linspace(2, 40, 30), np.nan]})
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fig = figures.gvi_histogram(gvi, lang="ja")
        fig.canvas.draw()
    _no_missing_glyphs(record)
    ax = fig.axes[0]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(25.0)
    counts = [p.get_height() for p in ax.patches]
    assert sum(counts) == 30
    png_ok(figures.save_figure(fig, artifacts_dir / "fig_gvi_hist.png"), min_colors=8)


def test_errors(tmp_path):
    df = solar_table(5)
    with pytest.raises(KeyError, match="no column 'nope'"):
        figures.irradiation_histogram(df, column="nope")
    with pytest.raises(KeyError, match="monthly"):
        figures.monthly_yield_curve(df.drop(columns="kwh_m2_month_03"))
    with pytest.raises(ValueError, match="PNG"):
        figures.save_figure(figures.irradiation_histogram(df), tmp_path / "x.jpg")
