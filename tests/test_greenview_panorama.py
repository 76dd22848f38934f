"""Panorama geometry of numazu_geo.greenview with synthetic panoramas (no model needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numazu_geo.greenview import green_view_index
from numazu_geo.greenview import panorama as pano

GREEN = (40, 200, 40)
GREY = (128, 128, 128)


class GreenSegmenter:
    """Protocol-conforming test segmenter: class 1 where the pixel is clearly green, 2 where blue (sky)."""

    name = "test-green"
    licence = "none (test rule)"
    classes = ("other", "vegetation", "sky")
    vegetation_ids = (1,)
    sky_ids = (2,)
    building_ids = ()

    def segment(self, images):
        out = []
        for im in images:
            im = im.astype(np.int16)
            lab = np.zeros(im.shape[:2], np.uint8)
            lab[(im[..., 1] - im[..., 0] > 80)] = 1
            lab[(im[..., 2] - im[..., 0] > 80)] = 2
            out.append(lab)
        return out


def make_pano(h=512, patches=(), fill=GREY):
    """Equirectangular RGB panorama with rectangular lat/lon patches ((lat0, lat1, lon0, lon1), colour)."""
    w = 2 * h
    img = np.empty((h, w, 3), np.uint8)
    img[:] = fill
    lat, lon = pano.equirect_latlon_deg(h, w)
    for (lat0, lat1, lon0, lon1), colour in patches:
        rows = (lat >= lat0) & (lat <= lat1)
        cols = (lon >= lon0) & (lon <= lon1)
        img[np.ix_(rows, cols)] = colour
    return img


def patch_sr(lat0, lat1, lon0, lon1):
    return math.radians(lon1 - lon0) * (math.sin(math.radians(lat1)) - math.sin(math.radians(lat0)))


def band_sr(lo, hi):
    return 2 * math.pi * (math.sin(math.radians(hi)) - math.sin(math.radians(lo)))


def test_is_equirectangular():
    assert pano.is_equirectangular((1024, 2048, 3))
    assert pano.is_equirectangular((1000, 2004))
    assert not pano.is_equirectangular((360, 480, 3))
    assert not pano.is_equirectangular((1024, 1024))


def test_latitude_weights_are_solid_angles():
    w = pano.latitude_weights(180)
    assert w.sum() * 360 == pytest.approx(4 * math.pi, rel=1e-12)
    b = pano.band_row_weights(180, (-60, 90))
    assert b.sum() * 360 == pytest.approx(band_sr(-60, 90), rel=1e-12)
    # a band limit inside a row takes the part of the row inside the band
    b2 = pano.band_row_weights(7, (-61.3, 77.7))
    assert b2.sum() * 14 == pytest.approx(band_sr(-61.3, 77.7), rel=1e-12)
    with pytest.raises(ValueError):
        pano.band_row_weights(10, (10, 10))


def test_weighted_share_of_exact_label_map():
    h = 360
    labels = np.zeros((h, 2 * h), np.int16)
    lat, lon = pano.equirect_latlon_deg(h, 2 * h)
    labels[np.ix_((lat > 60) & (lat < 90), np.ones(2 * h, bool))] = 1  # zenith cap
    share = pano.weighted_share_pct(labels, [1], pano.band_row_weights(h, (-60, 90)))
    expected = 100 * band_sr(60, 90) / band_sr(-60, 90)
    assert share == pytest.approx(expected, rel=1e-6)
    # a plain pixel count over the band rows would say 20 %: the cos(latitude) weighting matters
    assert abs(share - 20.0) > 10


@pytest.mark.parametrize("box", [(10, 40, 20, 80), (60, 90, -180, 180), (-50, -20, 150, 210)])
def test_equirectangular_gvi_equals_solid_angle_share(box):
    lat0, lat1, lon0, lon1 = box
    patches = []
    if lon1 > 180:  # a patch across the +-180 deg seam
        patches = [((lat0, lat1, lon0, 180), GREEN), ((lat0, lat1, -180, lon1 - 360), GREEN)]
    else:
        patches = [((lat0, lat1, lon0, lon1), GREEN)]
    img = make_pano(512, patches)
    res = green_view_index(img, segmenter=GreenSegmenter())
    assert res.projection == "equirectangular"
    expected = 100 * patch_sr(*box) / band_sr(*pano.DEFAULT_BAND_DEG)
    assert res.gvi == pytest.approx(expected, rel=0.04, abs=0.15)
    assert res.coverage_pct == pytest.approx(100.0, abs=0.01)  # default views cover the whole band
    assert res.mask.shape == img.shape[:2] and res.mask.dtype == bool
    assert res.labels.shape == img.shape[:2]
    assert res.n_views == len(pano.DEFAULT_VIEWS)
    assert math.isnan(res.building_view)  # the test segmenter has no building class


def test_band_excludes_nadir_and_is_configurable():
    # the tripod: a green blob in the nadir cap must not count by default
    img = make_pano(256, [((-90, -61, -180, 180), GREEN)])
    res = green_view_index(img, segmenter=GreenSegmenter())
    assert res.gvi == pytest.approx(0.0, abs=0.05)
    res_all = green_view_index(img, segmenter=GreenSegmenter(), band_deg=(-90, 90))
    assert res_all.coverage_pct < 100  # default views stop short of the nadir point
    assert res_all.gvi > 1.0


def test_sky_share_and_labels():
    img = make_pano(256, [((0, 90, -180, 180), (60, 90, 230))])  # blue upper hemisphere
    res = green_view_index(img, segmenter=GreenSegmenter())
    assert res.sky_share == pytest.approx(100 * band_sr(0, 90) / band_sr(-60, 90), rel=0.02)
    assert res.gvi == pytest.approx(0.0, abs=0.05)
    assert res.classes == GreenSegmenter.classes


def test_perspective_frame_to_panorama_and_back():
    rng = np.random.default_rng(0)
    view = pano.View(heading_deg=-140.0, pitch_deg=12.0, fov_deg=80.0, height=240, width=320)
    yy, xx = np.mgrid[:240, :320]
    mask = np.zeros((240, 320), np.uint8)
    for _ in range(6):  # random discs of several classes
        cy, cx, r = rng.integers(20, 220), rng.integers(20, 300), rng.integers(10, 60)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(1, 4)
    sphere = pano.views_to_equirect([mask], [view], 1024, 2048)
    assert (sphere == -1).mean() > 0.8  # one view covers a small part of the sphere
    back = pano.perspective_views(sphere, [view], interpolation="nearest")[0]
    assert back.shape == mask.shape
    agree = (back == mask).mean()
    assert agree > 0.985
    # the frame sits where its heading says: its centre maps to longitude -140, latitude 12
    lat, lon = pano.dir_to_latlon(pano.view_pixel_dirs(view)[120, 160])
    assert lat == pytest.approx(12.0, abs=0.3) and lon == pytest.approx(-140.0, abs=0.3)


def test_perspective_views_wrap_the_seam():
    img = make_pano(256, [((-20, 20, 170, 180), GREEN), ((-20, 20, -180, -170), GREEN)])
    view = pano.View(heading_deg=180.0, pitch_deg=0.0, fov_deg=60.0, height=100, width=100)
    v = pano.perspective_views(img, [view])[0]
    centre = v[40:60, 40:60].astype(int)
    assert np.all(centre[..., 1] - centre[..., 0] > 100)  # green both sides of the seam, no grey gap


def test_treepedia_mode_is_plain_pixel_share_of_six_views():
    alpha = 10.0  # green ring between latitudes -10 and +10 all around
    img = make_pano(512, [((-alpha, alpha, -180, 180), GREEN)])
    res = green_view_index(img, segmenter=GreenSegmenter(), projection="treepedia")
    assert res.projection == "treepedia" and res.n_views == 6 and len(res.view_gvi) == 6
    # analytic share for a 60-degree square pinhole view: a row at height v (unit focal) and column u
    # looks at latitude atan(v / sqrt(1 + u^2))
    t = math.tan(math.radians(30))
    u = np.linspace(-t, t, 2001)
    v = np.linspace(-t, t, 2001)
    lat = np.degrees(np.arctan(v[:, None] / np.sqrt(1 + u[None, :] ** 2)))
    expected = 100 * np.mean(np.abs(lat) <= alpha)
    assert res.gvi == pytest.approx(expected, abs=0.6)
    assert np.allclose(res.view_gvi, res.gvi, atol=0.6)
    # the solid-angle index of the same scene differs: the modes are not interchangeable
    solid = green_view_index(img, segmenter=GreenSegmenter())
    assert solid.gvi == pytest.approx(100 * band_sr(-alpha, alpha) / band_sr(-60, 90), rel=0.03)
    assert abs(solid.gvi - res.gvi) > 5


def test_perspective_photo_plain_share_and_inputs(tmp_path):
    from PIL import Image

    img = np.empty((300, 400, 3), np.uint8)
    img[:] = GREY
    img[:, :100] = GREEN  # a quarter of the frame
    res = green_view_index(img, segmenter=GreenSegmenter())
    assert res.projection == "perspective"
    assert res.gvi == pytest.approx(25.0, abs=1e-9)
    assert res.mask.sum() == 300 * 100
    # PIL image and a path give the same answer
    assert green_view_index(Image.fromarray(img), segmenter=GreenSegmenter()).gvi == pytest.approx(25.0)
    p = tmp_path / "photo.png"
    Image.fromarray(img).save(p)
    r2 = green_view_index(p, segmenter=GreenSegmenter())
    assert r2.gvi == pytest.approx(25.0) and r2.source == str(p)
    with pytest.raises(Exception, match="2:1"):
        green_view_index(img, segmenter=GreenSegmenter(), projection="treepedia")


def test_only_some_views_available_reports_coverage():
    img = make_pano(256, [((0, 30, -30, 30), GREEN)])
    front = pano.make_views([0.0], [0.0], fov_deg=90, size=(240, 320))
    res = green_view_index(img, segmenter=GreenSegmenter(), views=front)
    assert 5 < res.coverage_pct < 20  # one 90-degree view sees a small part of the band
    # the index is the share of what was seen
    assert res.gvi > 10


def test_equirect_from_view_matches_back_projection():
    view = pano.View(heading_deg=75.0, pitch_deg=-20.0, fov_deg=70.0, height=120, width=160)
    lab = (np.arange(120)[:, None] // 30 * 4 + np.arange(160)[None, :] // 40).astype(np.uint8)  # 16 blocks
    canvas, covered = pano.equirect_from_view(lab, view, 256, 512, fill=255, interpolation="nearest")
    ref = pano.views_to_equirect([lab], [view], 256, 512)
    assert np.array_equal(covered, ref >= 0)
    assert (canvas[covered] == ref[covered]).mean() > 0.97
    assert np.all(canvas[~covered] == 255)


def test_back_projection_prefers_level_views():
    level = pano.View(0.0, 0.0, 90.0, 240, 320)
    tilted = pano.View(0.0, 30.0, 90.0, 240, 320)
    h = 180
    bp = pano.back_projection(h, 2 * h, (tilted, level))
    lat, lon = pano.equirect_latlon_deg(h, 2 * h)
    col = int(np.argmin(np.abs(lon)))
    row20 = int(np.argmin(np.abs(lat - 20.0)))  # nearer the tilted view's axis, but the level view sees it
    row40 = int(np.argmin(np.abs(lat - 42.0)))  # beyond the level view's top edge (36.9 deg)
    assert bp.view_index[row20, col] == 1
    assert bp.view_index[row40, col] == 0
