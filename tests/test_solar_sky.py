"""Tregenza sky patches and hemisphere sampling directions."""

from __future__ import annotations

import numpy as np
import pytest

from numazu_geo.solar.sky import (
    N_TREGENZA,
    TREGENZA_COUNTS,
    direction_vectors,
    hemisphere_directions,
    patch_index,
    tregenza_patches,
)


def test_tregenza_has_145_patches_whose_solid_angles_sum_to_2pi():
    p = tregenza_patches()
    assert len(p) == N_TREGENZA == 145
    assert p.solid_angle_sr.sum() == pytest.approx(2 * np.pi, rel=1e-12)
    counts = p.groupby("band").size().tolist()
    assert counts == list(TREGENZA_COUNTS) + [1]
    assert sorted(p.altitude_deg.unique().tolist()) == [6, 18, 30, 42, 54, 66, 78, 90]
    # Tregenza designed the patches to have roughly equal solid angle (within a factor ~1.5)
    assert p.solid_angle_sr.max() / p.solid_angle_sr.min() < 1.6
    d = p[["dx", "dy", "dz"]].to_numpy()
    assert np.allclose(np.linalg.norm(d, axis=1), 1)
    # patch 0 is centred on north in the lowest band
    assert d[0] == pytest.approx([0, np.cos(np.radians(6)), np.sin(np.radians(6))])


def test_patch_index_round_trips_patch_centres_and_edges():
    p = tregenza_patches()
    assert patch_index(p.altitude_deg, p.azimuth_deg).tolist() == list(range(145))
    # azimuth wraps: 359.9 deg in the lowest band is patch 0 (centred on north, 12 deg wide)
    assert patch_index(3.0, 359.9) == 0
    assert patch_index(3.0, 5.9) == 0
    assert patch_index(3.0, 6.1) == 1
    assert patch_index(3.0, -6.1) == 29
    assert patch_index(12.0, 0) == 30  # band boundary goes to the upper band
    assert patch_index(84.0, 123) == 144
    assert patch_index(90.0, 0) == 144
    assert patch_index(0.0, 0) == 0  # the horizon itself counts as the first band


def test_patch_index_is_vectorised_and_flags_below_horizon():
    alt = np.array([[-0.1, np.nan], [45, 20]])
    az = np.array([[10, 10], [np.nan, 180]])
    out = patch_index(alt, az)
    assert out.shape == (2, 2)
    assert out[0, 0] == -1 and out[0, 1] == -1 and out[1, 0] == -1
    assert out[1, 1] == 30 + 15  # band 1 (12-24 deg), 30 patches, south = 15
    rng = np.random.default_rng(0)
    alt = rng.uniform(0, 90, 100_000)
    az = rng.uniform(-360, 720, 100_000)
    idx = patch_index(alt, az)
    assert idx.min() >= 0 and idx.max() <= 144
    # every direction's patch centre is within half a patch of it
    p = tregenza_patches()
    centre = p[["dx", "dy", "dz"]].to_numpy()[idx]
    ang = np.degrees(np.arccos(np.clip(np.sum(centre * direction_vectors(alt, az), axis=1), -1, 1)))
    assert ang.max() < 13.0


def test_uniform_random_directions_fill_patches_in_proportion_to_solid_angle():
    rng = np.random.default_rng(1)
    z = rng.uniform(0, 1, 400_000)  # uniform on the hemisphere
    alt = np.degrees(np.arcsin(z))
    az = rng.uniform(0, 360, len(z))
    share = np.bincount(patch_index(alt, az), minlength=145) / len(z)
    expected = tregenza_patches().solid_angle_sr.to_numpy() / (2 * np.pi)
    assert share == pytest.approx(expected, rel=0.12)


@pytest.mark.parametrize("n", [1, 64, 145, 1000])
def test_hemisphere_directions_are_unit_upper_with_weights_summing_to_one(n):
    for weighting in ("cosine", "uniform"):
        d, w = hemisphere_directions(n, weighting=weighting)
        assert d.shape == (n, 3) and w.shape == (n,)
        assert np.allclose(np.linalg.norm(d, axis=1), 1)
        assert (d[:, 2] > 0).all()
        assert w.sum() == pytest.approx(1)


def test_cosine_weighted_directions_integrate_view_factors():
    # view factor from a horizontal plane to a cone of half-angle a around the zenith: sin^2(a)
    d, w = hemisphere_directions(4000)
    for a in (20, 45, 70):
        inside = d[:, 2] > np.cos(np.radians(a))
        assert w[inside].sum() == pytest.approx(np.sin(np.radians(a)) ** 2, abs=0.003)
    # half-space x > 0 holds half of the view factor
    assert w[d[:, 0] > 0].sum() == pytest.approx(0.5, abs=0.003)
    du, wu = hemisphere_directions(4000, weighting="uniform")
    for a in (20, 45, 70):
        inside = du[:, 2] > np.cos(np.radians(a))
        assert inside.mean() == pytest.approx(1 - np.cos(np.radians(a)), abs=0.003)
        assert wu[inside].sum() == pytest.approx(np.sin(np.radians(a)) ** 2, abs=0.003)
    # deterministic
    assert np.array_equal(hemisphere_directions(50)[0], hemisphere_directions(50)[0])
    with pytest.raises(ValueError):
        hemisphere_directions(0)
    with pytest.raises(ValueError):
        hemisphere_directions(10, weighting="nope")
