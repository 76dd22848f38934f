"""numazu_geo.citygml.mesh: the one grid square (mesh) code module used by sample.py and sources.py."""

from __future__ import annotations

import numpy as np
import pytest

from numazu_geo import sample
from numazu_geo.citygml import mesh, sources


def test_one_implementation_behind_both_names():
    assert sample.mesh_code is mesh.mesh_code and sample.mesh_bounds is mesh.mesh_bounds
    assert sources.mesh_bounds is mesh.mesh_bounds and sources.mesh_code_from_name is mesh.mesh_code_from_name


def test_bounds_of_every_order_nest():
    w8, s8, e8, n8 = mesh.mesh_bounds("52385628")
    for code in ("5238", "523856", "52385628", "523856284", "5238562841"):
        w, s, e, n = mesh.mesh_bounds(code)
        # each order contains the 3rd-order square's NE quarter's centre
        assert w <= (w8 + e8) / 2 + 1e-12 and (s8 + n8) / 2 - 1e-12 <= n and s <= n8 and w <= e8
    w, s, e, n = mesh.mesh_bounds("5238562844")  # NE quarter of the NE half
    assert (e, n) == pytest.approx((e8, n8)) and (e - w) == pytest.approx((e8 - w8) / 4)
    for bad in ("5238228", "52385828", "523856285", "abcd"):
        with pytest.raises(ValueError):
            mesh.mesh_bounds(bad)


def test_neighbours_cross_second_order_edges():
    # 52385709: last 3rd-order column (9) of the last 2nd-order column (7) -> east is 1st-order 5239
    nb = mesh.mesh_neighbours("52385709")
    assert len(nb) == 8 and len(set(nb)) == 8 and "52395000" in nb and "52385708" in nb and "52384799" in nb
    w0, s0, e0, n0 = mesh.mesh_bounds("52385709")
    for code in nb:
        w, s, e, n = mesh.mesh_bounds(code)
        assert max(w - e0, w0 - e) <= 1e-9 and max(s - n0, s0 - n) <= 1e-9  # touching
    codes = mesh.mesh3_code(np.array([35.1025, 35.2]), np.array([138.86, 138.9]))
    assert codes.dtype == np.int64 and codes.shape == (2,) and int(mesh.mesh3_code(35.1025, 138.86)) == 52385628
