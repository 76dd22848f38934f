"""Real-browser test of the offline map: headless Debian Chromium opens the exported HTML file.

Checks that deck.gl draws the buildings (non-blank canvas, several colours), that no request
leaves the page (only file:, data: and blob: URLs), that the console has no errors, and that
the map still shows buildings with networking blocked. Screenshots go to ``artifacts/``.

Chromium comes from the project's setup (``.ci/system-deps.sh``, Debian package ``chromium``);
playwright's Python driver controls it (no browser download). Without Chromium the test skips on
a user's machine and fails in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from numazu_geo import maps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_maps import make_buildings, make_points  # noqa: E402

pytestmark = pytest.mark.browser

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("NUMAZU_GEO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
    "--disable-default-apps", "--disable-extensions", "--disable-sync", "--disable-component-update",
    "--mute-audio", "--hide-scrollbars",
]
VIEWPORT = {"width": 1200, "height": 800}
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
BACKGROUND_RGB = (0x1E, 0x24, 0x30)
GROUND_RGB = tuple(maps.deck.GROUND_RGBA[:3])
# console messages that are not errors of the page (software WebGL performance notes)
HARMLESS = ("GPU stall due to ReadPixels",)


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        if CI:
            pytest.fail("chromium is not installed: CI must run .ci/system-deps.sh (make system-deps)")
        pytest.skip("chromium is not installed (run .ci/system-deps.sh)")
    return CHROMIUM


@pytest.fixture(scope="module")
def offline_map(tmp_path_factory) -> Path:
    gdf = make_buildings(80, seed=4)
    deck = maps.view(
        maps.buildings_layer(gdf, color_by="kwh_m2_year", lang="ja", stretch=True),  # both ends of the ramp
        maps.green_view_layer(make_points(), lang="ja"),
        title="沼津駅周辺 屋根の日射量", subtitle="ブラウザ試験 / browser test",
    )
    return maps.save_html(deck, tmp_path_factory.mktemp("map") / "map_offline.html")


def drawn_pixels(png: Path) -> dict:
    """Pixels of the map area (panels masked) that are neither background nor ground."""
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    h, w, _ = img.shape
    area = img[int(h * 0.12): int(h * 0.85), int(w * 0.25): int(w * 0.95)]  # away from header, legend, credits
    flat = area.reshape(-1, 3)
    far_bg = np.abs(flat - BACKGROUND_RGB).sum(axis=1) > 45
    far_ground = np.abs(flat - GROUND_RGB).sum(axis=1) > 45
    drawn = flat[far_bg & far_ground]
    return {"share": len(drawn) / len(flat), "colors": len(np.unique(drawn // 24, axis=0)),
            "yellow": int(((drawn[:, 0] > 180) & (drawn[:, 1] > 180) & (drawn[:, 2] < 120)).sum()),
            "purple": int(((drawn[:, 2] > drawn[:, 1] + 20) & (drawn[:, 0] > 40)).sum())}


def _sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright


def open_and_shoot(chromium: str, url: str, png: Path, *, block_network: bool = False) -> dict:
    """Open ``url`` in headless Chromium via playwright; return requests, console errors, legend text."""
    sync_playwright = _sync_playwright()
    if sync_playwright is None:  # pragma: no cover - fallback when the driver is unavailable
        return chromium_cli_shot(chromium, url, png)
    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, offline=block_network)
            if block_network:
                context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(LOCAL_SCHEMES)
                              else route.abort("internetdisconnected"))
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith(HARMLESS) else None)
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.goto(url, wait_until="load", timeout=60_000)
            page.wait_for_selector("#deck-container canvas", timeout=30_000)
            page.wait_for_function("window.numazuFrames >= 1 && window.numazuDeck && window.numazuDeck.isInitialized",
                                   timeout=60_000)
            page.wait_for_timeout(800)  # let the second (picking-buffer, highlight) pass settle
            page.screenshot(path=str(png))
            info = page.evaluate(
                """() => ({legend: (document.getElementById('ng-legend') || {}).innerText || '',
                           header: document.getElementById('ng-header').innerText,
                           credit: document.getElementById('ng-attribution').innerText,
                           layers: window.numazuDeck.props.layers.map(l => l.id),
                           font: getComputedStyle(document.body).fontFamily})"""
            )
            # hover the centre of the screen: a tooltip must appear for some building nearby
            tooltip = ""
            for dx, dy in [(0, 0), (40, 0), (-40, 0), (0, 40), (0, -40), (80, 30), (-80, -30)]:
                page.mouse.move(VIEWPORT["width"] / 2 + dx, VIEWPORT["height"] / 2 + dy)
                page.wait_for_timeout(250)
                tooltip = page.evaluate("() => { const t = document.querySelector('.deck-tooltip'); "
                                        "return t && t.style.display !== 'none' ? t.innerText : ''; }")
                if tooltip:
                    break
            info["tooltip"] = tooltip
            context.close()
        finally:
            browser.close()
    info.update(requests=requests, errors=errors)
    return info


def chromium_cli_shot(chromium: str, url: str, png: Path) -> dict:  # pragma: no cover - fallback only
    """Screenshot with Chromium's own ``--screenshot`` (console from ``--enable-logging=stderr``)."""
    user_dir = png.parent / ".chromium-profile"
    cmd = [chromium, *CHROMIUM_ARGS, f"--user-data-dir={user_dir}", "--window-size=1200,800",
           "--virtual-time-budget=8000", "--enable-logging=stderr", "--v=0", f"--screenshot={png}", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    errors = [line for line in proc.stderr.splitlines()
              if "CONSOLE" in line and ("ERROR" in line or ":ERROR:" in line) and not any(h in line for h in HARMLESS)]
    return {"requests": [url], "errors": errors, "legend": "", "header": "", "credit": "", "layers": [],
            "tooltip": "", "font": ""}


def test_offline_map_renders_in_chromium(chromium, offline_map, artifacts_dir):
    png = artifacts_dir / "map_offline.png"
    info = open_and_shoot(chromium, offline_map.as_uri(), png)
    leaving = [u for u in info["requests"] if not u.startswith(LOCAL_SCHEMES)]
    assert not leaving, f"requests left the page: {leaving[:5]}"
    assert not info["errors"], f"console errors: {info['errors'][:5]}"
    pixels = drawn_pixels(png)
    assert pixels["share"] > 0.03, pixels  # buildings cover part of the map area
    assert pixels["colors"] >= 8, pixels  # a colour ramp, not one flat colour
    assert pixels["yellow"] > 50 and pixels["purple"] > 50, pixels  # both ends of viridis are visible
    if _sync_playwright() is not None:
        assert "屋根の年間日射量" in info["legend"] and "kWh/m²/年" in info["legend"]
        assert "緑視率" in info["legend"]
        assert "沼津駅周辺 屋根の日射量" in info["header"]
        assert "3D都市モデル（Project PLATEAU）沼津市" in info["credit"]
        assert "Noto Sans CJK JP" in info["font"]
        assert info["layers"][0] == "numazu-ground" and len(info["layers"]) == 4  # + the buildings' roof caps
        assert "屋根の年間日射量" in info["tooltip"] or "緑視率" in info["tooltip"], "no tooltip on hover"


def test_map_shows_buildings_with_network_blocked(chromium, offline_map, artifacts_dir):
    if _sync_playwright() is None:  # pragma: no cover
        pytest.skip("needs playwright to block the network")
    png = artifacts_dir / "map_offline_no_network.png"
    info = open_and_shoot(chromium, offline_map.as_uri(), png, block_network=True)
    assert not info["errors"], f"console errors: {info['errors'][:5]}"
    pixels = drawn_pixels(png)
    assert pixels["share"] > 0.03 and pixels["colors"] >= 8, pixels


def test_online_map_only_asks_gsi(chromium, tmp_path, artifacts_dir):
    """The online page adds GSI tiles and nothing else; with tiles unreachable the buildings still draw."""
    if _sync_playwright() is None:  # pragma: no cover
        pytest.skip("needs playwright to record requests")
    deck = maps.view(maps.buildings_layer(make_buildings(40, seed=5), lang="en"), lang="en", basemap="gsi")
    path = maps.save_html(deck, tmp_path / "map_online.html", offline=False)
    png = artifacts_dir / "map_online_tiles_blocked.png"
    info = open_and_shoot(chromium, path.as_uri(), png, block_network=True)
    remote = [u for u in info["requests"] if not u.startswith(LOCAL_SCHEMES)]
    assert remote, "the online page requested no base-map tiles"
    assert all(u.startswith("https://cyberjapandata.gsi.go.jp/xyz/pale/") for u in remote), remote[:5]
    assert "地理院タイル" in info["credit"]
    assert "numazu-basemap" in info["layers"]
    assert drawn_pixels(png)["share"] > 0.02


# ------------------------------------------------------------------------------------------ issue 12


@pytest.fixture(scope="module")
def sample_map(tmp_path_factory) -> Path:
    """The sample district's map: streets, river, station square and named landmarks under the buildings."""
    from numazu_geo.citygml import read_buildings
    from numazu_geo.sample import make_district

    district = make_district(tmp_path_factory.mktemp("district") / "d", n_buildings=120, seed=3, progress=False)
    buildings = read_buildings(district.path, progress=False)
    return maps.district_map(buildings, tmp_path_factory.mktemp("map") / "district.html", color_by="measured_height_m")


def test_sample_map_is_a_place_and_switches_language(chromium, sample_map, artifacts_dir):
    """Roads and names are drawn, nothing leaves the page, and the 日本語/English buttons switch every text."""
    if _sync_playwright() is None:  # pragma: no cover
        pytest.skip("needs playwright to click the language switch")
    requests, errors = [], []
    with _sync_playwright()() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, offline=True)
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith(HARMLESS) else None)
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.goto(sample_map.as_uri(), wait_until="load", timeout=60_000)
            page.wait_for_function("window.numazuFrames >= 2 && window.numazuDeck && window.numazuDeck.isInitialized",
                                   timeout=60_000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(artifacts_dir / "sample_district_ja.png"))
            visible = "() => [...document.querySelectorAll('#ng-header, #ng-legend, #ng-compass')].map(e => e.innerText).join(' | ')"
            ja = page.evaluate(visible)
            layers = page.evaluate("() => window.numazuDeck.props.layers.map(l => l.id)")
            page.click("#ng-lang-en")
            page.wait_for_timeout(300)
            en = page.evaluate(visible)
            lang = page.evaluate("() => document.documentElement.lang")
            scale = page.evaluate("() => document.getElementById('ng-scale-label').textContent")
            page.screenshot(path=str(artifacts_dir / "sample_district_en.png"))
        finally:
            browser.close()
    assert not [u for u in requests if not u.startswith(LOCAL_SCHEMES)]
    assert not errors, errors[:5]
    assert any(i.startswith("context-tran") for i in layers) and any(i.startswith("context-wtr") for i in layers)
    assert sum(i.startswith("labels") for i in layers) == 2
    assert "合成サンプル地区 建物の高さ" in ja and "北" in ja and "Building heights" not in ja
    assert lang == "en" and "Building heights" in en and "Height (m)" in en and "建物の高さ" not in en
    assert re.fullmatch(r"\d+ k?m", scale)
    img = np.asarray(Image.open(artifacts_dir / "sample_district_ja.png").convert("RGB")).astype(int)
    road = np.abs(img - np.array(maps.layers.CONTEXT_RGBA["tran"][:3])).sum(axis=2) < 20
    assert road.mean() > 0.03, road.mean()  # streets cover part of the picture
    white = (img > 235).all(axis=2)[int(img.shape[0] * 0.15):, :]
    assert white.sum() > 200  # label text (white on dark) is drawn over the map


def test_save_png_keeps_the_whole_view(chromium, tmp_path, artifacts_dir):
    deck = maps.view(maps.buildings_layer(make_buildings(60, seed=8), lang="ja"), lang="ja")
    png = maps.save_png(deck, tmp_path / "map.png", size_px=(1000, 700), chromium=chromium, lang="en")
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    (artifacts_dir / "save_png.png").write_bytes(png.read_bytes())
    assert img.shape == (700, 1000, 3)
    panel = img[20:60, 20:200]  # the header panel (white, top left) with the title
    assert (panel > 200).all(axis=2).mean() > 0.5 and (panel < 100).all(axis=2).any()
    compass = img[60:110, 950:990]
    assert ((compass[..., 0] > 150) & (compass[..., 1] < 90)).any()  # the red north arrow
    assert drawn_pixels(png)["share"] > 0.03
    with pytest.raises(ValueError, match="png"):
        maps.save_png(deck, tmp_path / "map.jpg", chromium=chromium)


def test_print_keeps_the_whole_view(chromium, sample_map, artifacts_dir):
    """Printing copies the 3D view into an image (a WebGL canvas alone prints blank) beside title and legend."""
    if _sync_playwright() is None:  # pragma: no cover
        pytest.skip("needs playwright to emulate print media")
    with _sync_playwright()() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORT, offline=True).new_page()
            page.goto(sample_map.as_uri(), wait_until="load", timeout=60_000)
            page.wait_for_function("window.numazuFrames >= 2", timeout=60_000)
            page.wait_for_timeout(500)
            page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
            page.emulate_media(media="print")
            src_len = page.evaluate("() => document.getElementById('ng-print-image').src.length")
            shown = page.evaluate("""() => ({img: getComputedStyle(document.getElementById('ng-print-image')).display,
                                            canvas: getComputedStyle(document.querySelector('#deck-container canvas')).display,
                                            header: getComputedStyle(document.getElementById('ng-header')).display,
                                            legend: getComputedStyle(document.getElementById('ng-legend')).display,
                                            tools: getComputedStyle(document.getElementById('ng-tools')).display})""")
            png = artifacts_dir / "sample_district_print.png"
            page.screenshot(path=str(png))
            pdf = page.pdf(landscape=True)
        finally:
            browser.close()
    assert src_len > 20_000  # a real picture of the view, not an empty data URL
    assert shown == {"img": "block", "canvas": "none", "header": "block", "legend": "block", "tools": "none"}
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert len(np.unique(img[::8, ::8] // 24, axis=0)) > 20  # the map, not a blank page
    assert pdf[:4] == b"%PDF" and len(pdf) > 50_000


def test_cli_map_png(chromium, tmp_path, monkeypatch):
    from numazu_geo.cli import main
    from numazu_geo.io import to_parquet

    monkeypatch.setenv("NUMAZU_GEO_CHROMIUM", chromium)
    src = to_parquet(make_buildings(20, seed=9), tmp_path / "b.parquet")
    assert main(["map", str(src), "-o", str(tmp_path / "b.html"), "--png", str(tmp_path / "b.png"), "--lang", "en"]) == 0
    img = np.asarray(Image.open(tmp_path / "b.png").convert("RGB"))
    assert img.shape[:2] == (maps.deck.PNG_SIZE_PX[1], maps.deck.PNG_SIZE_PX[0])
    assert main(["map", str(src), "-o", str(tmp_path / "c.html"), "--png", str(tmp_path / "c.jpg")]) == 1
    assert not (tmp_path / "c.html").exists()  # the bad picture name is refused before any work
