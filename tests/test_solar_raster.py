"""Roof rasters (issue 11): COG in the right CRS, pixels equal to the roof points they cover,
provenance tags; CLI --raster."""

from __future__ import annotations

import json

import numpy as np
import pytest

from numazu_geo.sample import make_district
from numazu_geo.solar.climate import default_climate
from numazu_geo.solar.potential import solar_potential
from numazu_geo.solar.raster import write_roof_raster


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = make_district(tmp_path_factory.mktemp("r"), n_buildings=25, seed=3, progress=False)
    return solar_potential(d.path, climate=default_climate(days="monthly"), spacing_m=2.0, keep_points=True,
                           progress=False)  # fmt: skip


def test_cog_pixels_match_points(result, tmp_path):
    import rasterio

    path = write_roof_raster(result, tmp_path / "roof.tif", resolution_m=1.5)
    pts = result.points
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == pts.crs.to_epsg() == 6676
        assert ds.res == (1.5, 1.5) and ds.count == 2
        assert ds.descriptions == ("kwh_m2_year", "sky_view_factor")
        assert ds.tags(1)["units"] == "kWh/m2/yr"
        assert ds.profile["tiled"] and ds.driver == "GTiff"
        prov = json.loads(ds.tags()["numazu_geo_provenance"])
        assert prov["climate_station"] == result.provenance["climate_station"]
        band = ds.read(1)
        svf = ds.read(2)
        from rasterio.transform import rowcol

        rows, cols = rowcol(ds.transform, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
    rows, cols = np.asarray(rows), np.asarray(cols)
    # every pixel equals the area-weighted mean of the points inside it
    key = rows * band.shape[1] + cols
    w = pts["area_m2"].to_numpy()
    for var, grid in (("kwh_m2_year", band), ("sky_view_factor", svf)):
        num = np.bincount(key, weights=w * pts[var].to_numpy(), minlength=grid.size)
        den = np.bincount(key, weights=w, minlength=grid.size)
        covered = den > 0
        np.testing.assert_allclose(grid.ravel()[covered], (num[covered] / den[covered]).astype(np.float32), rtol=1e-5)
        assert np.isnan(grid.ravel()[~covered]).all()  # no roof, no data
    assert 0 < np.nanmin(band) and np.nanmax(band) < 2500


def test_raster_needs_points(result, tmp_path):
    no_points = solar_potential(roof_surfaces=result.faces.iloc[:0], progress=False, climate=default_climate(days="monthly"))
    with pytest.raises(ValueError, match="points"):
        write_roof_raster(no_points, tmp_path / "x.tif")
    assert not (tmp_path / "x.tif").exists()


def test_cli_raster(tmp_path, capsys):
    import rasterio

    from numazu_geo.cli import main

    d = make_district(tmp_path / "d", n_buildings=12, seed=5, progress=False)
    out, tif = tmp_path / "b.csv", tmp_path / "roof.tif"
    rc = main(["solar", str(d.path), "-o", str(out), "--quick", "--spacing", "2", "--no-progress",
               "--raster", str(tif), "--raster-resolution", "2"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "三島" in text and "viable roof area" in text and str(tif) in text
    with rasterio.open(tif) as ds:
        assert ds.crs.to_epsg() == 6676 and ds.res == (2.0, 2.0)
