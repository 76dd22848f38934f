"""Hourly PV output of chosen buildings (numazu_geo.solar.hourly): sums to the annual result."""

from __future__ import annotations

import numpy as np
import pytest

from numazu_geo.solar.climate import default_climate
from numazu_geo.solar.hourly import ac_kwh, hourly_pv, monthly_ratio
from numazu_geo.solar.potential import solar_potential
from tests.test_solar_potential import _district


@pytest.fixture(scope="module")
def climate_year():
    return default_climate()  # 8,760 hours, the default for energy balances


@pytest.fixture(scope="module")
def hourly_result(climate_year):
    buildings, rs, scene = _district()
    # min_kwh_m2_year=0: the shaded house S stays viable (issue 11's default threshold drops it)
    r = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=climate_year, spacing_m=2.0,
                        hourly=["S", "T", "D"], progress=False, min_kwh_m2_year=0.0)  # fmt: skip
    return r, (buildings, rs, scene)


def test_hourly_sums_to_annual(hourly_result, climate_year):
    r, _ = hourly_result
    h = r.hourly
    assert list(h.columns) == ["S", "T", "D"]
    assert h.index.equals(climate_year.times) and len(h) == 8760 and str(h.index.tz) == "Asia/Tokyo"
    annual = r.buildings.set_index("building_key")["kwh_year"]
    # the shaded house (S) as well as the unshaded tower (T): within 0.1 % (here to rounding)
    for key in ("S", "T"):
        assert annual[key] > 0
        assert h[key].sum() == pytest.approx(annual[key], rel=1e-3)
        assert h[key].sum() == pytest.approx(annual[key], rel=1e-9)
    assert (h["D"] == 0).all()  # a building without usable roof gives nothing, not NaN
    assert (h.to_numpy() >= 0).all()
    night = h.index.hour.isin([0, 1, 2, 3, 22, 23])
    assert (h.loc[night].to_numpy() == 0).all()
    assert h.attrs["pv_model"] == "pvwatts" and h.attrs["climate_approximate"] is True
    # the tower shades the house north of it: its noon winter hours lose more than its summer ones
    s_per_kw = h["S"] / annual["S"]
    t_per_kw = h["T"] / annual["T"]
    winter = h.index.month.isin([12, 1])
    assert s_per_kw[winter].sum() < 0.8 * t_per_kw[winter].sum()


def test_annual_path_unchanged_and_follow_up_call(hourly_result, climate_year):
    r, (buildings, rs, scene) = hourly_result
    plain = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=climate_year, spacing_m=2.0, progress=False,
                            min_kwh_m2_year=0.0)  # fmt: skip
    assert plain.hourly is None
    assert np.allclose(plain.buildings["kwh_year"], r.buildings["kwh_year"])
    later = hourly_pv(plain, ["S"], scene=scene)
    assert np.allclose(later["S"].to_numpy(), r.hourly["S"].to_numpy())
    with pytest.raises(ValueError, match="solids= .* or scene="):
        hourly_pv(plain, ["S"])
    with pytest.raises(KeyError, match="not in the result"):
        hourly_pv(plain, ["nope"], scene=scene)
    from numazu_geo.solar.hourly import building_hourly_pv

    with pytest.raises(MemoryError, match="name the buildings"):
        building_hourly_pv(plain.faces, None, None, climate_year, True, plain.parameters, max_bytes=1000)


def test_ac_kwh_follows_the_pv_model():
    poa = np.array([[0.5, 1.0, 1.0]])
    months = np.array([1, 1, 7])
    plateau = monthly_ratio({"performance_ratio": 0.8}, None, [30.0], [180.0])
    assert plateau.shape == (1, 12) and (plateau == 0.8).all()
    assert monthly_ratio({"pv_model": "plateau", "plateau_factor": None}, None, [30.0], [180.0])[0, 0] == 0.88
    assert ac_kwh([2.0], poa, plateau, months).tolist() == [[0.8, 1.6, 1.6]]
    # a model with a ratio per month (pvwatts) applies each timestamp's month
    by_month = np.linspace(0.7, 0.81, 12)[None, :]
    assert ac_kwh([2.0], poa, by_month, months)[0] == pytest.approx([0.7, 1.4, 2 * by_month[0, 6]])
    with pytest.raises(NotImplementedError, match="pv_model"):
        monthly_ratio({"pv_model": "something-else"}, None, [30.0], [180.0])


def test_hourly_plateau_model_sums_to_annual(hourly_result, climate_year):
    _, (buildings, rs, scene) = hourly_result
    r = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=climate_year, spacing_m=2.0,
                        hourly=["T"], progress=False, pv_model="plateau")  # fmt: skip
    assert r.hourly["T"].sum() == pytest.approx(r.buildings.set_index("building_key").loc["T", "kwh_year"], rel=1e-9)
    assert r.hourly.attrs["pv_model"] == "plateau"


def test_hourly_from_a_source_cuts_each_tile_scene_like_the_annual_run(tmp_path):
    """From CityGML the run cuts each tile's scene from all triangles (SceneTriangles): the hourly
    output uses the same cut, so it still sums to kwh_year; the follow-up call from solids too."""
    import numazu_geo as ng
    from numazu_geo.solar.climate import default_climate

    d = ng.make_district(tmp_path / "d", n_buildings=24, seed=2, progress=False)
    clim = default_climate()
    first = ng.solar_potential(d.path, climate=clim, spacing_m=3.0, progress=False)
    keys = list(first.buildings.loc[first.buildings["kw"] > 0, "building_key"][:4])
    r = ng.solar_potential(d.path, climate=clim, spacing_m=3.0, hourly=keys, progress=False)
    annual = r.buildings.set_index("building_key").loc[keys, "kwh_year"]
    assert np.allclose(r.hourly[keys].sum().to_numpy(), annual.to_numpy(), rtol=1e-9)
    later = hourly_pv(first, keys[:2], solids=ng.read_solids(d.path, progress=False))
    assert np.allclose(later.to_numpy(), r.hourly[keys[:2]].to_numpy(), rtol=1e-9, atol=1e-12)
