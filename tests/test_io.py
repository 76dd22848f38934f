"""numazu_geo.io: GeoParquet round trip with CRS and attrs, atomic writes, table formats."""

from __future__ import annotations

import os

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from numazu_geo.io import atomic_path, read_parquet, to_parquet, write_table


@pytest.fixture()
def gdf():
    out = gpd.GeoDataFrame(
        {"building_id": ["22203-bldg-1", "22203-bldg-2"], "measured_height_m": [7.5, float("nan")]},
        geometry=[Polygon([(0, 0), (10, 0), (10, 8), (0, 8)]), Point(3, 4)],
        crs="EPSG:6676",
    )
    out.attrs["errors"] = [{"file": "broken.gml", "error": "line 3: not well-formed"}]
    return out


def test_parquet_round_trip_keeps_crs_attrs_and_geo_metadata(tmp_path, gdf):
    path = to_parquet(gdf, tmp_path / "b.parquet")
    back = read_parquet(path)
    assert back.crs.to_epsg() == 6676
    assert back.attrs["errors"] == gdf.attrs["errors"]
    assert back.geometry.area.iloc[0] == pytest.approx(80.0)
    assert back["building_id"].tolist() == gdf["building_id"].tolist()
    assert gpd.read_parquet(path).crs.to_epsg() == 6676  # plain GeoPandas reads it as GeoParquet


def test_atomic_path_leaves_old_file_on_failure_and_usual_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("ext", [".csv", ".gpkg", ".geojson", ".parquet"])
def test_write_table_formats(tmp_path, gdf, ext):
    path = write_table(gdf.iloc[:1], tmp_path / f"t{ext}")
    if ext == ".csv":
        df = pd.read_csv(path, encoding="utf-8-sig")
        assert df["building_id"].tolist() == ["22203-bldg-1"]
        assert abs(df.loc[0, "lon"] - 138.5) < 0.01 and abs(df.loc[0, "lat"] - 36.0) < 0.01  # zone VIII origin (issue 12)
    elif ext == ".parquet":
        assert read_parquet(path).crs.to_epsg() == 6676
    else:
        back = gpd.read_file(path)
        assert back["building_id"].tolist() == ["22203-bldg-1"]


def test_write_table_rejects_unknown_format(tmp_path, gdf):
    with pytest.raises(ValueError, match="unsupported output format"):
        write_table(gdf, tmp_path / "t.xlsx")
