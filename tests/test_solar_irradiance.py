"""Plane-of-array irradiance: components vs pvlib, unobstructed planes through the whole pipeline,
and the clear-sky bound."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import pytest
import shapely

from numazu_geo.solar import pv
from numazu_geo.solar.climate import Climate, default_climate
from numazu_geo.solar.irradiance import ALBEDO, COMPONENTS, climate_inputs, poa_components
from numazu_geo.solar.potential import roof_irradiance, solar_potential
from numazu_geo.solar.roofs import roof_faces, sample_points
from numazu_geo.solar.shading import ShadingScene
from numazu_geo.solar.sun import default_site

CRS = "EPSG:6676"  # JGD2011 zone VIII (Numazu)
X0, Y0 = -31000.0, -98000.0  # plane-rectangular coordinates near Numazu


def square_plane(tilt_deg, azimuth_deg, cx, cy, size=10.0, z0=10.0):
    """A size x size 3D square tilted ``tilt_deg`` whose downslope faces ``azimuth_deg``."""
    t, a = np.radians(tilt_deg), np.radians(azimuth_deg)
    down = np.array([np.sin(a), np.cos(a)])
    across = np.array([down[1], -down[0]])
    pts = []
    for u, v in [(-1, -1), (1, -1), (1, 1), (-1, 1)]:
        xy = np.array([cx, cy]) + size / 2 * (u * across + v * down * np.cos(t))
        pts.append((xy[0], xy[1], z0 - size / 2 * v * np.sin(t)))
    return shapely.Polygon(pts)


def polygon_triangles(polys):
    from numazu_geo.citygml.geometry import triangulate_polygon_3d

    return np.concatenate([triangulate_polygon_3d(np.asarray(p.exterior.coords)[:-1]) for p in polys])


def pvlib_annual(clim: Climate, tilt, azimuth, model="perez", albedo=ALBEDO):
    x = climate_inputs(clim)
    r = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, x["zenith"], x["azimuth"], x["dni"], x["ghi"], x["dhi"],
        dni_extra=x["dni_extra"], albedo=albedo, model=model,
    )  # fmt: skip
    return float((r["poa_global"].fillna(0) * x["weight_h"]).sum() / 1000)


@pytest.fixture(scope="module")
def clim():
    return default_climate()  # the real hourly year


@pytest.mark.parametrize("model", ["perez", "haydavies", "isotropic"])
def test_components_sum_to_pvlib(clim, model):
    x = climate_inputs(clim)
    tilts = np.array([0.0, 15.0, 30.0, 45.0, 90.0, 60.0])
    azims = np.array([180.0, 180.0, 0.0, 90.0, 270.0, 135.0])
    comp = poa_components(
        tilts, azims, x["zenith"], x["azimuth"], x["dni"], x["ghi"], x["dhi"], x["dni_extra"], x["airmass"], model=model
    )
    total = sum(comp[k] for k in COMPONENTS)
    assert total.shape == (6, len(x))
    for i, (t, a) in enumerate(zip(tilts, azims)):
        ref = pvlib.irradiance.get_total_irradiance(
            t, a, x["zenith"], x["azimuth"], x["dni"], x["ghi"], x["dhi"],
            dni_extra=x["dni_extra"], airmass=x["airmass"], albedo=ALBEDO, model=model,
        )["poa_global"].fillna(0).to_numpy()  # fmt: skip
        np.testing.assert_allclose(total[i], ref, atol=1e-6)
    if model != "perez":
        assert np.all(comp["horizon"] == 0)
    assert np.all(comp["beam"] >= 0) and np.all(comp["ground"] >= 0)


def test_unobstructed_planes_match_pvlib_through_pipeline(clim):
    """Horizontal, 30 deg south, 30 deg north, vertical east: the full pipeline (roof faces, sample
    points, Embree scene holding the roofs themselves, Tregenza binning, SVF) within 1 % of pvlib."""
    specs = [("flat", 0.0, 180.0), ("south30", 30.0, 180.0), ("north30", 30.0, 0.0), ("east90", 90.0, 90.0)]
    polys = [square_plane(t, a, X0 + 300.0 * i, Y0) for i, (_, t, a) in enumerate(specs)]
    rs = gpd.GeoDataFrame(
        {"gml_id": [s[0] for s in specs], "building_id": [s[0] for s in specs],
         "surface_id": [s[0] + "_roof" for s in specs], "roof_source": "lod2"},
        geometry=polys, crs=CRS,
    )  # fmt: skip
    scene = ShadingScene(polygon_triangles(polys))
    # planes up to 60 deg through solar_potential; flat roofs kept flat (no mounting assumption)
    res = solar_potential(
        roof_surfaces=rs.iloc[:3], scene=scene, climate=clim, progress=False,
        face_options={"flat_tilt_deg": 0.0},
    )  # fmt: skip
    got = res.faces.set_index("gml_id")
    for name, tilt, az in specs[:3]:
        ref = pvlib_annual(clim, tilt, az)
        assert got.loc[name, "kwh_m2_year"] == pytest.approx(ref, rel=0.01), name
        assert got.loc[name, "sky_view_factor"] == pytest.approx(1.0)
        assert got.loc[name, "shading_loss"] < 0.01
    # vertical faces are never "usable" roofs: run the same core on all sampled faces
    faces = roof_faces(rs, max_tilt_deg=90.0, flat_tilt_deg=0.0)
    samples = sample_points(faces, 1.0, include_unusable=True)
    table, _ = roof_irradiance(faces, samples, scene, clim, progress=False)
    ref = pvlib_annual(clim, 90.0, 90.0)
    assert table.loc[3, "kwh_m2_year"] == pytest.approx(ref, rel=0.01)
    # sanity of the magnitudes for the default climate
    assert got.loc["south30", "kwh_m2_year"] > got.loc["flat", "kwh_m2_year"] > got.loc["north30", "kwh_m2_year"]


def test_flat_roofs_use_mounting_assumption(clim):
    poly = square_plane(0.0, 180.0, X0, Y0)
    rs = gpd.GeoDataFrame({"gml_id": ["f"], "building_id": ["F"], "surface_id": ["s"], "roof_source": "lod2"},
                          geometry=[poly], crs=CRS)  # fmt: skip
    res = solar_potential(roof_surfaces=rs, scene=ShadingScene(polygon_triangles([poly])), climate=clim, progress=False)
    face = res.faces.iloc[0]
    assert bool(face["flat"]) and face["panel_tilt_deg"] == 15.0 and face["panel_azimuth_deg"] == 180.0
    assert face["kwh_m2_year"] == pytest.approx(pvlib_annual(clim, 15.0, 180.0), rel=0.01)


def clear_sky_climate(year=2023):
    site = default_site()
    times = pd.date_range(f"{year}-01-01 00:30", periods=8760, freq="1h", tz="Asia/Tokyo")
    loc = pvlib.location.Location(site.latitude_deg, site.longitude_deg, tz=site.tz, altitude=site.altitude_m)
    cs = loc.get_clearsky(times, model="ineichen")
    return Climate(cs[["ghi", "dni", "dhi"]], site, "Ineichen clear sky")


def _annual_grid(c, tilts, azims):
    x = climate_inputs(c)
    comp = poa_components(tilts, azims, x["zenith"], x["azimuth"], x["dni"], x["ghi"], x["dhi"], x["dni_extra"], x["airmass"])
    return (sum(comp[k] for k in COMPONENTS) * x["weight_h"].to_numpy()).sum(axis=1) / 1000


def test_no_result_exceeds_clear_sky_bound(clim):
    cs = clear_sky_climate()
    # the reference's bound: 30 deg south under clear sky is about 2,491 kWh/m2/yr (albedo 0.2)
    best = pvlib_annual(cs, 30.0, 180.0, albedo=0.2)
    assert 2400 < best < 2550
    tilts = np.repeat(np.arange(0.0, 61.0, 10.0), 8)
    azims = np.tile(np.arange(0.0, 360.0, 45.0), 7)
    clear = _annual_grid(cs, tilts, azims)
    default = _annual_grid(clim, tilts, azims)
    assert clear.max() < 2550
    assert default.max() < 2500
    assert np.all(default < clear)  # every orientation below its own clear-sky value
    assert pv.specific_yield_kwh_kwp(default.max()) < 2100  # reference bound on PV yield at 35 N


def test_pv_formulas():
    assert pv.pv_capacity_kw(100.0) == pytest.approx(100 * 0.8 * 0.167)
    assert pv.pv_yield_kwh(10.0, 1500.0) == pytest.approx(10 * 1500 * 0.88)
    assert pv.pv_capacity_kw(np.array([np.nan, -5.0, 10.0])).tolist() == pytest.approx([0.0, 0.0, 1.336])
    assert pv.pv_yield_kwh(np.array([1.0, np.nan]), np.array([np.nan, 1000.0])).tolist() == [0.0, 0.0]


def test_solar_defaults_table_matches_constants():
    from numazu_geo.paths import data_path
    from numazu_geo.solar import potential

    table = pd.read_csv(data_path("solar_defaults.csv")).set_index("name")
    assert {"source", "year"} <= set(table.columns)
    assert float(table.loc["pv_density_kw_m2", "value"]) == pv.PV_DENSITY_KW_M2
    assert float(table.loc["coverage_ratio", "value"]) == pv.COVERAGE_RATIO
    assert float(table.loc["plateau_design_factor", "value"]) == pv.PLATEAU_FACTOR == 0.88
    assert float(table.loc["gamma_pdc", "value"]) == pv.GAMMA_PDC
    assert float(table.loc["eta_inv_nom", "value"]) == pv.ETA_INV_NOM
    assert float(table.loc["system_losses_pct", "value"]) == pytest.approx(pv.system_losses_pct(), abs=0.01)
    assert float(table.loc["min_irradiation_frac", "value"]) == potential.MIN_IRRADIATION_FRAC
    assert float(table.loc["albedo", "value"]) == ALBEDO
    assert float(table.loc["neighbour_radius_m", "value"]) == potential.NEIGHBOUR_RADIUS_M
    assert float(table.loc["spacing_m", "value"]) == potential.SPACING_M
    assert int(table.loc["sky_view_rays", "value"]) == potential.SVF_RAYS
    assert table["source"].notna().all()
