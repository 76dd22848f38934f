"""solar_potential end to end: analytic wall shading, buildings and faces tables, bad input,
reproducibility, per-point output, and real PLATEAU LOD2 blocks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from numazu_geo.solar.climate import default_climate
from numazu_geo.solar.irradiance import climate_inputs, poa_components
from numazu_geo.solar.potential import MONTH_COLUMNS, SolarResult, solar_potential, sun_bins
from numazu_geo.solar.shading import ShadingScene
from numazu_geo.solar.sun import sun_vectors

CRS = "EPSG:6676"
X0, Y0 = -31000.0, -98000.0


def box_triangles(x0, y0, x1, y1, z0, z1):
    """12 triangles of an axis-aligned box."""
    v = np.array([[x, y, z] for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)], dtype=float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    tris = []
    for a, b, c, d in quads:
        tris += [(v[a], v[b], v[c]), (v[a], v[c], v[d])]
    return np.array(tris)


def roof_square(cx, cy, half, z):
    return shapely.Polygon([(cx - half, cy - half, z), (cx + half, cy - half, z), (cx + half, cy + half, z), (cx - half, cy + half, z)])


@pytest.fixture(scope="module")
def quick_climate():
    return default_climate(days="monthly")  # one day per month: 288 hours


def test_wall_shading_matches_geometry_hour_by_hour(quick_climate):
    """A roof point d north of a long wall rising h above it loses exactly the beam of the hours
    whose sun ray meets the wall (exact hourly mode); Tregenza binning stays close."""
    d, h = 10.0, 8.0
    wall = box_triangles(X0 - 2000, Y0 - d - 0.5, X0 + 2000, Y0 - d, 0.0, h)
    rs = gpd.GeoDataFrame({"gml_id": ["p"], "building_id": ["P"], "surface_id": ["r"], "roof_source": "lod2"},
                          geometry=[roof_square(X0, Y0, 1.0, 0.0)], crs=CRS)  # fmt: skip
    opts = {"min_area_m2": 1.0, "flat_tilt_deg": 0.0}
    exact = solar_potential(roof_surfaces=rs, scene=ShadingScene(wall), climate=quick_climate, sun_binning=None,
                            face_options=opts, keep_points=True, progress=False, spacing_m=2.0)  # fmt: skip
    assert len(exact.points) == 1
    p = exact.points.iloc[0]
    assert (p["x"], p["y"]) == pytest.approx((X0, Y0))

    x = climate_inputs(exact.climate)  # the sun at the roofs (solar_potential moves it there)
    comp = poa_components([0.0], [180.0], x["zenith"], x["azimuth"], x["dni"], x["ghi"], x["dhi"], x["dni_extra"], x["airmass"])
    w = x["weight_h"].to_numpy() / 1000
    sun = sun_vectors(x["elevation"], x["azimuth"])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = d / -sun[:, 1]  # distance along the ray to the wall's north face
        hits = (sun[:, 1] < 0) & (x["elevation"].to_numpy() > 0) & (t * sun[:, 2] < h) & (np.abs(t * sun[:, 0]) < 2000)
    beam = (comp["beam"][0] + comp["circumsolar"][0]) * w
    expected_beam = float(beam[~hits].sum())
    assert hits.sum() > 25 and beam[hits].sum() > 0.1 * beam.sum()  # the wall matters
    diffuse = float(((comp["isotropic"][0] + comp["horizon"][0]) * w).sum())
    ground = float((comp["ground"][0] * w).sum())
    svf = p["sky_view_factor"]
    # half the sky toward the wall is cut below atan(h/d): SVF well below 1 but above 0.5
    assert 0.6 < svf < 0.95
    got_beam = p["kwh_m2_year"] - svf * diffuse - ground
    assert got_beam == pytest.approx(expected_beam, rel=0.01)
    face = exact.faces.iloc[0]
    assert face["unshaded_kwh_m2_year"] == pytest.approx(float((sum(comp[k][0] for k in comp) * w).sum()), rel=1e-9)
    assert face["shading_loss"] == pytest.approx(1 - p["kwh_m2_year"] / face["unshaded_kwh_m2_year"])

    binned = solar_potential(roof_surfaces=rs, scene=ShadingScene(wall), climate=quick_climate,
                             face_options=opts, progress=False, spacing_m=2.0)  # fmt: skip
    err = abs(binned.faces.iloc[0]["kwh_m2_year"] / face["kwh_m2_year"] - 1)
    assert err < 0.05  # Tregenza binning error of the annual total at a sharply shaded point


def test_sun_bins_cover_daylight(quick_climate):
    x = climate_inputs(quick_climate)
    b = sun_bins(x, "tregenza")
    assert len(b.directions) < 145 and len(b.directions) > 20
    assert np.allclose(np.linalg.norm(b.directions, axis=1), 1.0)
    assert (b.directions[:, 2] > 0).all()
    assert set(b.bin_month) == set(range(1, 13))
    e = sun_bins(x, None)
    assert len(e.directions) == (x["elevation"] > 0).sum()
    with pytest.raises(ValueError):
        sun_bins(x, "reinhart")


def _district():
    """A 40 m tower with a low house right north of it, an isolated house, a building without
    roof surfaces, one with only a degenerate roof and one with only a tiny roof."""
    tri = [
        box_triangles(X0 - 10, Y0 - 10, X0 + 10, Y0 + 10, 0, 40),  # tower T
        box_triangles(X0 - 5, Y0 + 12, X0 + 5, Y0 + 22, 0, 6),  # shaded house S
        box_triangles(X0 + 995, Y0 - 5, X0 + 1005, Y0 + 5, 0, 6),  # isolated house I
    ]
    roofs = [
        ("t", "T", roof_square(X0, Y0, 10, 40)),
        ("s", "S", roof_square(X0, Y0 + 17, 5, 6)),
        ("i", "I", roof_square(X0 + 1000, Y0, 5, 6)),
        ("d", "D", shapely.Polygon([(X0 + 500, Y0, 5), (X0 + 501, Y0, 5), (X0 + 502, Y0, 5)])),  # collinear
        ("k", "K", roof_square(X0 + 600, Y0, 1, 5)),  # 4 m2: too small
    ]
    rs = gpd.GeoDataFrame(
        {"gml_id": [r[0] for r in roofs], "building_id": [r[1] for r in roofs],
         "surface_id": [f"{r[0]}_roof" for r in roofs], "roof_source": "lod2"},
        geometry=[r[2] for r in roofs], crs=CRS,
    )  # fmt: skip
    names = ["t", "s", "i", "d", "k", "n"]
    ids = ["T", "S", "I", "D", "K", None]  # "n" has no building ID: keyed by gml_id
    feet = [shapely.box(X0 + 300 * i, Y0, X0 + 300 * i + 5, Y0 + 5) for i in range(len(names))]
    buildings = gpd.GeoDataFrame({"gml_id": names, "building_id": ids, "measured_height_m": 6.0}, geometry=feet, crs=CRS)
    return buildings, rs, ShadingScene(np.concatenate(tri))


@pytest.fixture(scope="module")
def district_result(quick_climate) -> SolarResult:
    buildings, rs, scene = _district()
    return solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False, keep_points=True)


def test_buildings_table(district_result):
    b = district_result.buildings.set_index("building_key")
    need = ["building_id", "gml_id", "kwh_m2_year", *MONTH_COLUMNS, "shading_loss", "sky_view_factor", "roof_area_m2",
            "usable_area_m2", "kw", "kwh_year", "reason", "geometry"]  # fmt: skip
    assert set(need) <= set(b.columns)
    assert list(b.index) == ["T", "S", "I", "D", "K", "n"]
    assert district_result.buildings.crs == CRS
    # the house north of the tower is shaded, the isolated house is not
    assert b.loc["S", "shading_loss"] > 0.15
    assert b.loc["I", "shading_loss"] < 0.01
    assert b.loc["T", "shading_loss"] < 0.01
    assert b.loc["S", "kwh_m2_year"] < 0.85 * b.loc["I", "kwh_m2_year"]
    assert b.loc["S", "sky_view_factor"] < b.loc["I", "sky_view_factor"]
    # PV formulas
    assert b.loc["I", "usable_area_m2"] == pytest.approx(100.0)
    assert b.loc["I", "kw"] == pytest.approx(100 * 0.8 * 0.167)
    # default pv_model="pvwatts" (issue 11): yield = kW x specific yield, a temperature-aware
    # performance ratio well below PLATEAU's flat 0.88
    assert b.loc["I", "kwh_year"] == pytest.approx(b.loc["I", "kw"] * b.loc["I", "specific_yield_kwh_kwp"])
    assert 0.70 < b.loc["I", "performance_ratio"] < 0.84
    assert b.loc["I", "specific_yield_kwh_kwp"] == pytest.approx(b.loc["I", "performance_ratio"] * b.loc["I", "kwh_m2_year"])
    assert bool(b.loc["I", "viable"]) and b.loc["I", "viable_area_m2"] == pytest.approx(100.0)
    assert "co2_avoided_kg_year" not in b.columns  # solar gives energy; numazu_geo.co2 converts it
    assert b.loc["I", MONTH_COLUMNS].sum() == pytest.approx(b.loc["I", "kwh_m2_year"])
    assert b.loc["I", "reason"] == ""


def test_bad_roofs_give_zero_with_reason(district_result):
    b = district_result.buildings.set_index("building_key")
    for key, why in (("D", "degenerate polygon"), ("K", "area < 10 m2"), ("n", "no roof surfaces")):
        assert b.loc[key, "kw"] == 0 and b.loc[key, "kwh_year"] == 0
        assert why in b.loc[key, "reason"], (key, b.loc[key, "reason"])
        assert np.isnan(b.loc[key, "kwh_m2_year"])
    for col in ("kw", "kwh_year", "roof_area_m2", "usable_area_m2"):
        assert np.isfinite(b[col]).all(), col
    s = district_result.summary()
    # the house right north of the 40 m tower (about half its light lost) falls below the default
    # viability threshold since issue 11, so only the tower and the isolated house carry PV
    assert s["n_buildings"] == 6 and s["n_viable"] == 2 and s["n_buildings_with_viable_face"] == 2
    assert s["total_kwh_year"] == pytest.approx(b["kwh_year"].sum())
    assert all(np.isfinite(v) for v in s.values() if isinstance(v, float))
    assert s["climate_approximate"] is True
    assert "SolarResult(6 buildings" in repr(district_result)


def test_faces_and_points(district_result):
    f = district_result.faces.set_index("face_id")
    assert f.loc["d_roof", "reason"] == "degenerate polygon" and f.loc["d_roof", "n_points"] == 0
    assert f.loc["t_roof", "n_points"] == 400  # 20 x 20 m at 1 m spacing
    pts = district_result.points
    assert pts.crs == CRS and pts.geometry.has_z.all()
    area = pts.groupby("building_key")["area_m2"].sum()
    b = district_result.buildings.set_index("building_key")
    assert area.loc["S"] == pytest.approx(b.loc["S", "usable_area_m2"])
    s_pts = pts[pts["building_key"] == "S"]
    # the south edge of the shaded roof (next to the tower) gets less than its north edge
    south = s_pts[s_pts.geometry.y < Y0 + 14]["kwh_m2_year"].mean()
    north = s_pts[s_pts.geometry.y > Y0 + 20]["kwh_m2_year"].mean()
    assert south < north
    assert (pts["kwh_m2_year"] <= pts["unshaded_kwh_m2_year"] + 1e-9).all()


def test_reproducible(quick_climate, district_result):
    buildings, rs, scene = _district()
    again = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False)
    cols = ["kwh_m2_year", "shading_loss", "sky_view_factor", "kwh_year"]
    pd.testing.assert_frame_equal(
        again.buildings[cols].reset_index(drop=True), district_result.buildings[cols].reset_index(drop=True)
    )


def test_no_shading_option_and_empty_input(quick_climate):
    buildings, rs, scene = _district()
    free = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, shading=False, progress=False)
    b = free.buildings.set_index("building_key")
    assert b.loc["S", "shading_loss"] == pytest.approx(0, abs=1e-12) and b.loc["S", "sky_view_factor"] == 1
    empty = solar_potential(buildings, roof_surfaces=rs.iloc[:0], scene=scene, climate=quick_climate, progress=False)
    assert (empty.buildings["kw"] == 0).all()
    assert (empty.buildings["reason"] == "no roof surfaces").all()


def test_plateau_lod2_neighbours_add_shading():
    """Real dense Tokyo LOD2 block (PLATEAU v2, Kita-ku 53392633): each building's roofs lose more
    light with its neighbours in the scene than alone, and the low buildings between taller ones
    lose markedly more. The buildings-GeoDataFrame path reads roofs and solids from source_file."""
    from conftest import require_shared

    from numazu_geo.citygml import read_buildings, read_solids

    path = require_shared("data", "plateau", "v2_uro2.0", "tokyo13111_2022_53392633_bldg_6697_2_op__lod2_tex.gml")
    clim = default_climate(days="monthly")
    buildings = read_buildings(path, progress=False)
    solids = read_solids(path, crs=buildings.crs, progress=False)
    assert len(buildings) >= 8
    together = solar_potential(buildings, climate=clim, spacing_m=2.0, progress=False)  # reads from source_file
    with_n = together.buildings.set_index("building_key")
    assert (with_n["reason"] == "").all() and (with_n["kw"] > 0).all()
    gains = {}
    for i in range(len(buildings)):
        one = buildings.iloc[[i]]
        own = solids[solids["gml_id"] == one["gml_id"].iloc[0]]
        alone = solar_potential(one, solids=own, climate=clim, spacing_m=2.0, progress=False).buildings.iloc[0]
        key = alone["building_key"]
        assert with_n.loc[key, "shading_loss"] >= alone["shading_loss"] - 1e-9
        assert with_n.loc[key, "kwh_m2_year"] <= alone["kwh_m2_year"] + 1e-9
        gains[key] = with_n.loc[key, "shading_loss"] - alone["shading_loss"]
    assert sum(g > 0.05 for g in gains.values()) >= 2
    # the tallest building is the least affected by its neighbours
    tallest = with_n["measured_height_m"].idxmax()
    assert gains[tallest] <= np.median(list(gains.values()))
    assert with_n["kwh_m2_year"].max() < 2500  # clear-sky bound


def test_cli_solar(tmp_path, capsys):
    from conftest import require_shared

    from numazu_geo.cli import main

    path = require_shared("data", "plateau", "v2_uro2.0", "tokyo13111_2022_53392633_bldg_6697_2_op__lod2_tex.gml")
    out = tmp_path / "solar.csv"
    rc = main(["solar", str(path), "-o", str(out), "--quick", "--spacing", "2", "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "APPROXIMATE" in text and "MWh/yr" in text and "t-CO2/yr" in text
    # Ota-ku data (13111): sunshine of Yokohama 16.7 km, measured irradiation of Tokyo 18.1 km (issue 11), not Numazu
    assert "東京" in text and "横浜" in text and "三島" not in text
    table = pd.read_csv(out)
    assert len(table) >= 8 and (table["kwh_year"] > 0).all()
    assert main(["solar", str(tmp_path / "missing.gml"), "-o", str(out)]) == 1


def test_orientation_rounding_option(quick_climate):
    buildings, rs, scene = _district()
    exact = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False)
    rounded = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False,
                              orientation_step_deg=5.0)  # fmt: skip
    # every roof here is flat (15 deg S mounting, a multiple of 5): rounding changes nothing
    np.testing.assert_allclose(rounded.buildings["kwh_year"], exact.buildings["kwh_year"], rtol=1e-12)
    assert exact.parameters["orientation_step_deg"] is None


def test_tiles_with_neighbour_radius_match_whole_scene(quick_climate, district_result, monkeypatch):
    """Large scenes are cut to the neighbours within 300 m of each 500 m tile; here forced on a
    small scene, the answers equal those of the whole scene (nothing farther than 300 m shades)."""
    from numazu_geo.solar import potential

    monkeypatch.setattr(potential, "SUBSET_MIN_TRIANGLES", 0)
    calls = []
    original = ShadingScene.subset_around

    def spy(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ShadingScene, "subset_around", spy)
    buildings, rs, scene = _district()
    tiled = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False)
    np.testing.assert_allclose(tiled.buildings["kwh_year"], district_result.buildings["kwh_year"], rtol=1e-9)
    assert len(calls) == 2  # two tiles hold sampled roofs
    assert tiled.parameters["rays_cast"] == district_result.parameters["rays_cast"] > 0


def test_terrain_only_scene_shades(quick_climate):
    """Terrain triangles alone (no building solids) still shade: a 30 m ridge 20 m south."""
    rs = gpd.GeoDataFrame({"gml_id": ["h"], "building_id": ["H"], "surface_id": ["r"], "roof_source": "lod2"},
                          geometry=[roof_square(X0, Y0, 5, 6)], crs=CRS)  # fmt: skip
    ridge = box_triangles(X0 - 500, Y0 - 40, X0 + 500, Y0 - 20, 0, 30)
    open_sky = solar_potential(roof_surfaces=rs, climate=quick_climate, shading=False, progress=False)
    hilly = solar_potential(roof_surfaces=rs, terrain=ridge, climate=quick_climate, progress=False)
    assert open_sky.buildings["shading_loss"].iloc[0] == pytest.approx(0, abs=1e-12)
    assert hilly.buildings["shading_loss"].iloc[0] > 0.2
    assert hilly.parameters["shading"] is True


def test_plateau_pv_model_is_poa_times_088(quick_climate):
    """pv_model="plateau" reproduces PLATEAU SolarPotential's E = P x H x 0.88 exactly."""
    buildings, rs, scene = _district()
    res = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False,
                          pv_model="plateau")  # fmt: skip
    f = res.faces[res.faces["viable"]]
    assert len(f) == 2
    np.testing.assert_allclose(f["specific_yield_kwh_kwp"], f["kwh_m2_year"] * 0.88, rtol=1e-3)
    np.testing.assert_allclose(f["kwh_year"], f["kw"] * f["kwh_m2_year"] * 0.88, rtol=1e-3)
    assert res.provenance["pv_model"] == "plateau"
    with pytest.raises(ValueError, match="pv_model"):
        solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False, pv_model="x")


def test_viability_threshold_zeroes_faces_and_totals(quick_climate, district_result):
    """A face below the irradiation threshold keeps its irradiation, adds 0 kW/kWh/CO2, says why;
    totals equal the sum over viable faces."""
    buildings, rs, scene = _district()
    f0 = district_result.faces.set_index("face_id")
    cut = float(f0.loc["s_roof", "kwh_m2_year"]) + 1.0  # just above the shaded house's roof
    res = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False,
                          min_kwh_m2_year=cut)  # fmt: skip
    everything = solar_potential(buildings, roof_surfaces=rs, scene=scene, climate=quick_climate, progress=False,
                                 min_kwh_m2_year=0.0)  # fmt: skip
    assert everything.faces.set_index("face_id").loc["s_roof", "kw"] > 0
    assert everything.summary()["n_buildings_with_viable_face"] == 3
    f = res.faces.set_index("face_id")
    assert not f.loc["s_roof", "viable"] and f.loc["s_roof", "kw"] == 0 and f.loc["s_roof", "kwh_year"] == 0
    from numazu_geo.co2 import add_avoided_co2, summarise_district

    with_co2 = add_avoided_co2(res)
    assert with_co2.faces.set_index("face_id").loc["s_roof", "co2_avoided_kg_year"] == 0
    assert summarise_district(with_co2)["co2_avoided_t_year"] == pytest.approx(viable_kwh := res.faces["kwh_year"].sum() * 0.421 / 1000)
    assert viable_kwh > 0
    assert f.loc["s_roof", "kwh_m2_year"] == pytest.approx(f0.loc["s_roof", "kwh_m2_year"])  # irradiation kept
    assert "below the viability threshold" in f.loc["s_roof", "reason"]
    assert f.loc["i_roof", "viable"] and f.loc["i_roof", "kw"] > 0
    s = res.summary()
    viable = res.faces[res.faces["viable"]]
    assert s["total_kw"] == pytest.approx(viable["kw"].sum())
    assert s["total_kwh_year"] == pytest.approx(viable["kwh_year"].sum())
    assert s["viable_area_m2"] == pytest.approx(viable["usable_area_m2"].sum())
    assert s["n_buildings_with_viable_face"] == 2 and s["roof_area_m2"] > s["viable_area_m2"]
    b = res.buildings.set_index("building_key")
    assert not b.loc["S", "viable"] and "no viable roof faces" in b.loc["S", "reason"]
    assert res.parameters["min_kwh_m2_year"] == cut
    # the default threshold: 60 % of the climate's horizontal irradiation
    assert district_result.parameters["min_kwh_m2_year"] == pytest.approx(0.6 * quick_climate.annual_kwh_m2())


def test_provenance_in_attrs_summary_and_parquet(district_result, tmp_path):
    from numazu_geo.io import read_parquet, to_parquet
    from numazu_geo.provenance import provenance_caption

    from numazu_geo.co2 import add_avoided_co2

    prov = district_result.provenance
    assert "47657" in prov["climate_station"] and 5 < prov["climate_station_distance_km"] < 7
    assert prov["pv_model"] == "pvwatts" and prov["run_date"] and "emission_factor" not in prov  # energy only
    district_result = add_avoided_co2(district_result)  # co2 records its factor; provenance shows it
    prov = district_result.provenance
    assert "TEPCO" in prov["emission_factor"] and "0.421 kg-CO2/kWh" in prov["emission_factor"]
    assert any("気象庁" in c for c in prov["data_credit"])
    assert district_result.summary()["provenance"] == prov
    assert district_result.attrs["provenance"] == prov
    path = to_parquet(district_result.buildings, tmp_path / "b.parquet")
    back = read_parquet(path)
    assert back.attrs["provenance"]["climate_station"] == prov["climate_station"]
    for lang, word in (("ja", "観測所"), ("en", "station")):
        text = provenance_caption(back, lang)
        assert word in text and "三島" in text and "pvwatts" in text and "気象庁" in text and "TEPCO" in text
    from numazu_geo import maps

    # one caption everywhere: the CLI and the demo print what the maps print, data credit first
    caption = district_result.caption("en")
    assert caption == maps.caption(district_result, "en")
    assert caption.startswith("Data: ") and maps.data_credits(district_result.buildings)[0] in caption
    assert provenance_caption(district_result, "en", credits=False) in caption
    with pytest.raises(ValueError):
        provenance_caption(prov, "fr")


def test_two_cities_in_one_table_warn_that_one_climate_serves_both(caplog):
    """QA: Osaka and Shizuoka buildings in one table got the climate of 南知多 (Aichi), '2.2 km' from the
    centre of their extent and ~130 km from every building, with no word of it; now a warning says so."""
    from conftest import require_shared

    osaka = require_shared("data", "plateau", "v4_uro3.1", "osaka27120_2024_51357309_bldg_6697_op__riverflood.gml")
    shizuoka = require_shared("data", "plateau", "v3_uro3.0", "shizuoka22102_2023_52382287_bldg_6697_psc_op__excerpt.gml")
    with caplog.at_level("WARNING", logger="numazu_geo.solar.potential"):
        solar_potential(shizuoka, shading=False, climate_days="monthly", progress=False)
    assert not [r for r in caplog.records if "extent reaches" in r.getMessage()]
    with caplog.at_level("WARNING", logger="numazu_geo.solar.potential"):
        res = solar_potential([osaka, shizuoka], shading=False, climate_days="monthly", progress=False)
    msgs = [r.getMessage() for r in caplog.records if "extent reaches" in r.getMessage()]
    assert len(msgs) == 1 and len(res.buildings) == 67
    km = float(msgs[0].split("reaches ")[1].split(" km")[0])
    assert 100 < km < 160  # Osaka-Shizuoka is about 150 km apart; the corners of the extent farther
