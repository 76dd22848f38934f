"""Default climate from JMA normals for any site (issue 11): station choice, Angstrom-Prescott
fit and its leave-one-out error, monthly shape, hourly temperature, and the Numazu yield checks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from numazu_geo.solar import jma
from numazu_geo.solar.climate import bendt_daily_clearness, default_climate, monthly_normals_at
from numazu_geo.solar.potential import solar_potential
from numazu_geo.solar.sun import Site

DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@pytest.fixture(scope="module")
def numazu():
    return default_climate()


def test_numazu_uses_mishima_with_rainy_season_dip(numazu):
    meta = numazu.meta
    assert meta["station_id"] == "47657" and "三島" in meta["station"]
    assert 5.0 < meta["station_distance_km"] < 7.0
    assert "irradiation_station" not in meta  # Shizuoka (44 km) is too far to lend its measurement
    ghi = numazu.annual_kwh_m2("ghi")
    assert 1330 <= ghi <= 1470
    daily = numazu.monthly_kwh_m2("ghi").to_numpy() / DAYS
    assert daily[5] < 0.93 * daily[4]  # June clearly below May (Shizuoka measures 16.5 vs 18.6 MJ/m2/day)
    assert daily[5] < daily[6]  # and below July
    assert "気象庁" in meta["data_credit"][0]


def test_numazu_30_deg_south_unshaded_specific_yield(numazu):
    """A 10 x 10 m roof, 30 deg toward south, no shading: 1,180-1,340 kWh/kWp/yr (issue 11)."""
    x0, y0, z0 = 32800.0, -99560.0, 10.0  # central Numazu in EPSG:6676
    rise = 10.0 * np.tan(np.radians(30.0))
    roof = shapely.Polygon([(x0, y0, z0), (x0 + 10, y0, z0), (x0 + 10, y0 + 10, z0 + rise), (x0, y0 + 10, z0 + rise)])
    rs = gpd.GeoDataFrame({"gml_id": ["r"], "building_id": ["R"], "surface_id": ["s"], "roof_source": "lod2"},
                          geometry=[roof], crs="EPSG:6676")  # fmt: skip
    res = solar_potential(roof_surfaces=rs, climate=numazu, shading=False, progress=False, spacing_m=2.0)
    f = res.faces.iloc[0]
    assert f["panel_tilt_deg"] == pytest.approx(30.0, abs=0.01) and f["panel_azimuth_deg"] == pytest.approx(180.0, abs=0.01)
    assert 1180 <= f["specific_yield_kwh_kwp"] <= 1340
    assert 0.72 < f["performance_ratio"] < 0.84
    plateau = solar_potential(roof_surfaces=rs, climate=numazu, shading=False, progress=False, spacing_m=2.0,
                              pv_model="plateau").faces.iloc[0]  # fmt: skip
    assert plateau["specific_yield_kwh_kwp"] == pytest.approx(0.88 * plateau["kwh_m2_year"], rel=1e-3)
    assert plateau["specific_yield_kwh_kwp"] > 1.1 * f["specific_yield_kwh_kwp"]  # no temperature loss there


def test_shizuoka_uses_its_measured_normal():
    clim = default_climate(Site(34.975, 138.403333, 14.1))
    assert clim.meta["station_id"] == "47656" and clim.meta["station_distance_km"] < 0.1
    assert clim.annual_kwh_m2("ghi") == pytest.approx(1444.0, rel=0.05)
    assert clim.annual_kwh_m2("ghi") == pytest.approx(
        (np.array([10.3, 12.6, 14.7, 17.3, 18.6, 16.5, 17.3, 18.5, 14.4, 11.5, 9.9, 9.2]) * DAYS).sum() / 3.6, rel=1e-3
    )


@pytest.mark.parametrize(
    "site, station",
    [((35.6812, 139.7671), "東京"), ((43.0621, 141.3544), "札幌"), ((34.6937, 135.5023), "大阪")],
)
def test_other_cities_name_a_nearby_station(site, station):
    table, meta = monthly_normals_at(site)
    assert station in meta["station"] and meta["station_distance_km"] < 10
    assert "三島" not in meta["station"]
    assert (table["ghi_kwh_m2"] > 0).all() and len(table) == 12


def test_angstrom_fit_and_leave_one_out():
    a, b = jma.fit_angstrom()
    assert 0.18 < a < 0.30 and 0.40 < b < 0.60
    loo = jma.angstrom_leave_one_out()
    assert len(loo) == 69  # 71 stations measure irradiation; Mt Fuji and Showa Station lack sunshine
    rmse = float(np.sqrt((loo["error_pct"] ** 2).mean()))
    assert rmse < 4.0  # documented: 3.3 %
    assert abs(loo["error_pct"].mean()) < 1.0
    assert loo["error_pct"].abs().max() < 10.0


def test_bendt_distribution():
    for kt in (0.35, 0.5, 0.62):
        k = bendt_daily_clearness(kt, 30)
        assert k.mean() == pytest.approx(kt, abs=0.01)
        assert k.min() >= 0.05 and np.all(np.diff(k) >= 0)
    assert np.ptp(bendt_daily_clearness(0.5, 30)) > 0.3  # a real spread of dull and clear days


def test_hourly_temperature_and_wind_follow_normals(numazu):
    normals = jma.monthly("47657")
    t = numazu.data["temp_air"]
    by_month = t.groupby(numazu.times.month)
    np.testing.assert_allclose(by_month.mean().to_numpy(), normals["temp_mean_c"].to_numpy(), atol=0.05)
    daily_max = t.groupby([numazu.times.month, numazu.times.day]).max().groupby(level=0).mean()
    np.testing.assert_allclose(daily_max.to_numpy() - by_month.mean().to_numpy(),
                               (normals["temp_max_c"] - normals["temp_min_c"]).to_numpy() / 2, atol=0.1)  # fmt: skip
    np.testing.assert_allclose(numazu.data["wind_speed"].groupby(numazu.times.month).mean(), normals["wind_speed_m_s"])


def test_quick_climate_keeps_monthly_totals(numazu):
    quick = default_climate(days="monthly")
    assert len(quick.data) == 288
    np.testing.assert_allclose(quick.monthly_kwh_m2().to_numpy(), numazu.monthly_kwh_m2().to_numpy(), rtol=1e-9)
    assert quick.meta["station_id"] == "47657"


def test_shipped_subset_matches_shared_normals():
    from conftest import require_shared

    src = require_shared("data", "jma_normals")
    rebuilt = jma.build_normals_subset(src)
    shipped = jma.normals()
    assert len(shipped) == len(rebuilt) == 833 * 12
    for col in jma.VALUE_COLUMNS:
        np.testing.assert_allclose(shipped[col].to_numpy(), rebuilt[col].to_numpy(), rtol=1e-5, equal_nan=True)
