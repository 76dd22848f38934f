"""Hostile and careless inputs, grouped by entry point: nothing silently wrong, nothing lost.

Every input is built here (a tiny synthetic district, then cut, copied, re-encoded or moved); each
test checks for a clear error naming the file, or a counted and recorded skip, and that no good
output is replaced by a failed run. Issue 9 of the project; issue 12 item 8 (CLI output paths).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from numazu_geo.cli import main
from numazu_geo.errors import (
    CityGMLError,
    ClimateCoverageError,
    ClimateSiteError,
    DataExtentError,
    NumazuGeoError,
    OutputPathError,
    WeatherFileError,
)
from numazu_geo.io import atomic_paths, read_parquet, to_parquet, write_tables

REPO = Path(__file__).resolve().parents[1]
N_BUILDINGS = 4


# ------------------------------------------------------------------------------------------------
# inputs the tests build


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """A 4-building sample district (one .gml file) and its zip; returns (folder, gml, zip)."""
    from numazu_geo.sample import make_district

    root = tmp_path_factory.mktemp("district")
    sample = make_district(root / "numazu", n_buildings=N_BUILDINGS, seed=3, progress=False)
    gml = next((Path(sample.path) / "udx" / "bldg").glob("*.gml"))
    archive = root / "numazu.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in Path(sample.path).rglob("*"):
            if p.is_file():
                zf.write(p, p.relative_to(sample.path))
    return Path(sample.path), gml, archive


def _gml_text(district) -> str:
    return district[1].read_text(encoding="utf-8")


def _write_variant(district, tmp_path, text: str, name: str = "52385628_bldg_6697_op.gml") -> Path:
    """A copy of the district folder whose .gml is replaced by ``text`` (code lists kept)."""
    folder = tmp_path / "variant"
    shutil.copytree(district[0], folder)
    gml = folder / "udx" / "bldg" / district[1].name
    gml.unlink()
    out = gml.with_name(name)
    out.write_text(text, encoding="utf-8")
    return out


def _members(text: str) -> list[str]:
    return re.findall(r"<core:cityObjectMember>.*?</core:cityObjectMember>", text, flags=re.S)


def _map_poslists(text: str, fn) -> str:
    """Apply ``fn(lat, lon, h) -> (a, b, c)`` to every coordinate triple of every gml:posList."""

    def one(m):
        vals = np.array(m.group(2).split(), dtype=float).reshape(-1, 3)
        out = " ".join(" ".join(f"{v:.9f}" for v in fn(*row)) for row in vals)
        return f"{m.group(1)}{out}{m.group(3)}"

    return re.sub(r"(<gml:posList[^>]*>)([^<]*)(</gml:posList>)", one, text)


def _hourly_epw(path: Path, *, n_rows: int = 8760, lat: float = 35.10, lon: float = 138.86, city="Numazu",
                year: int = 2023):
    """An EPW whose irradiance is a plausible clear-ish day shape, ``n_rows`` hours from 1 Jan ``year``."""
    header = [
        f"LOCATION,{city},Shizuoka,JPN,TEST,000000,{lat},{lon},9.0,10.0",
        "DESIGN CONDITIONS,0", "TYPICAL/EXTREME PERIODS,0", "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0", "COMMENTS 1,built by tests", "COMMENTS 2,",
        "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31",
    ]  # fmt: skip
    rows = []
    t = pd.date_range(f"{year}-01-01 01:00", periods=n_rows, freq="h")
    for ts in t:
        hour = ts.hour if ts.hour else 24
        day = max(0.0, np.sin(np.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0
        ghi, dni, dhi = 600 * day, 500 * day, 150 * day
        date = ts - pd.Timedelta(hours=1) if ts.hour == 0 else ts
        rows.append(
            f"{date.year},{date.month},{date.day},{hour},60,?9?9?9?9E0?9?9?9?9?9?9?9?9?9?9?9?9?9?9?9*9*9?9*9*9,"
            f"15.0,10.0,70,101300,0,0,300,{ghi:.0f},{dni:.0f},{dhi:.0f},0,0,0,0,180,2.0,5,5,20.0,9999,9,999999999,"
            "0,0.1,0,88,0.0,0.0,0.0"
        )
    path.write_text("\n".join(header + rows) + "\n")
    return path


# ================================================================================================
# CityGML readers / `numazu-geo ingest`


def test_ingest_same_data_twice_folder_plus_zip_counted_once(district):
    """Item 2: a file given twice and a folder plus the zip of the same data: every building once."""
    from numazu_geo.citygml import read_buildings, read_roof_surfaces, read_solids

    folder, gml, archive = district
    once = read_buildings(folder, progress=False)
    twice = read_buildings([gml, gml], progress=False)
    both = read_buildings([folder, archive], progress=False)
    assert len(once) == N_BUILDINGS and "duplicates_dropped" not in once.attrs
    for gdf in (twice, both):
        assert len(gdf) == N_BUILDINGS
        assert gdf["gml_id"].is_unique and gdf["building_id"].is_unique
        assert gdf.attrs["duplicates_dropped"]["buildings"] == N_BUILDINGS
    assert both.attrs["duplicates_dropped"]["same_gml_id_in_another_file"] == N_BUILDINGS
    roofs1, roofs2 = read_roof_surfaces(folder, progress=False), read_roof_surfaces([folder, archive], progress=False)
    assert len(roofs2) == len(roofs1) and roofs2.attrs["duplicates_dropped"]["rows"] == len(roofs1)
    assert len(read_solids([gml, archive], progress=False)) == N_BUILDINGS


def test_ingest_damaged_zip_member_is_a_recorded_skip(district, tmp_path, capsys):
    """QA: a zip member with a bad CRC (a damaged download) stopped ingest and solar with 'BadZipFile
    ... an unexpected error'; now the member is skipped and recorded like any unreadable file, and the
    other members are read."""
    text = district[1].read_bytes()
    archive = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # stored, so one flipped byte reaches the CRC check
        zf.writestr(f"d/udx/bldg/{district[1].name}", text)
        zf.writestr("d/udx/bldg/52385629_bldg_6697_op.gml", text.replace(b"gml:id=\"", b"gml:id=\"x"))
    data = bytearray(archive.read_bytes())
    second = data.find(b"52385629_bldg_6697_op.gml")
    pos = data.find(b"<gml:posList", second) + 40
    data[pos] = ord("7") if data[pos] != ord("7") else ord("8")
    archive.write_bytes(bytes(data))
    status = main(["ingest", str(archive), "-o", str(tmp_path / "b.parquet"), "--no-progress"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "unexpected" not in captured.err and "damaged zip member" in captured.err and "52385629" in captured.err
    got = read_parquet(tmp_path / "b.parquet")
    assert len(got) == N_BUILDINGS
    errors = json.loads(got.attrs["errors"]) if isinstance(got.attrs["errors"], str) else got.attrs["errors"]
    assert len(errors) == 1 and "52385629" in json.dumps(errors, ensure_ascii=False)


def test_ingest_repeated_gml_id_and_building_id_dropped_once(district, tmp_path, caplog):
    """Item 2: a building repeated inside one file, and another gml:id with the same building ID."""
    from numazu_geo.citygml import read_buildings

    text = _gml_text(district)
    first = _members(text)[0]
    renamed = re.sub(r'gml:id="bldg_[^"]+"', 'gml:id="bldg_copy-with-new-id"', first, count=1)
    hostile = text.replace(first, first + first + renamed, 1)
    gml = _write_variant(district, tmp_path, hostile)
    gdf = read_buildings(gml, progress=False)
    assert len(gdf) == N_BUILDINGS
    rec = gdf.attrs["duplicates_dropped"]
    assert rec["repeated_in_one_file"] == 1 and rec["same_building_id_other_gml_id"] == 1
    assert rec["buildings"] == 2
    assert "duplicate building(s) dropped" in caplog.text


def test_ingest_london_coordinates_rejected_before_projection(district, tmp_path):
    """Item 5: buildings in London are refused with a clear error, not projected into a JGD2011 zone."""
    from numazu_geo.citygml import read_buildings

    # the Numazu district moved to London (51.5 N, 0.13 W)
    london = _map_poslists(_gml_text(district), lambda lat, lon, h: (lat + 16.4, lon - 138.99, h))
    gml = _write_variant(district, tmp_path, london, name="london_bldg_6697_op.gml")
    with pytest.raises(DataExtentError, match=r"london_bldg_6697_op\.gml.*outside Japan's extent.*not in Japan") as exc:
        read_buildings(gml, progress=False)
    assert "latitude 51.50" in str(exc.value)
    skipped = read_buildings(gml, errors="skip", progress=False)
    assert len(skipped) == 0 and skipped.attrs["source_files"] == 0
    assert "outside Japan" in skipped.attrs["errors"][0]["error"]


def test_ingest_swapped_lat_lon_named_as_such(district, tmp_path):
    """Item 5: swapped latitude/longitude gives an error that says so (not inf footprints)."""
    from numazu_geo.citygml import read_buildings

    swapped = _map_poslists(_gml_text(district), lambda lat, lon, h: (lon, lat, h))
    gml = _write_variant(district, tmp_path, swapped)
    with pytest.raises(DataExtentError, match="swapped"):
        read_buildings(gml, progress=False)


def test_ingest_file_mixing_numazu_and_london_names_the_file(district, tmp_path):
    """Item 5: one London building in a Numazu file: the file is named, nothing reaches solar."""
    from numazu_geo.citygml import read_buildings, read_roof_surfaces

    text = _gml_text(district)
    first = _members(text)[0]
    moved = _map_poslists(first, lambda lat, lon, h: (lat + 16.4, lon - 138.99, h))
    gml = _write_variant(district, tmp_path, text.replace(first, moved, 1), name="mixed_bldg_6697_op.gml")
    with pytest.raises(DataExtentError, match=r"mixed_bldg_6697_op\.gml.*1 of 4 buildings"):
        read_buildings(gml, progress=False)
    with pytest.raises(DataExtentError):
        read_roof_surfaces(gml, progress=False)


def test_ingest_utf16_keeps_iur_attributes_and_doctype_guard(district, tmp_path):
    """Item 9: UTF-16 files read like UTF-8 ones (i-UR building IDs included); DOCTYPE refused in any encoding."""
    from numazu_geo.citygml import read_buildings

    text = _gml_text(district).replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
    utf8 = read_buildings(district[1], progress=False)
    for codec in ("utf-16", "utf-16-be"):  # with a BOM (little endian), and big endian without one
        path = tmp_path / f"{codec}_bldg_6697_op.gml"
        path.write_bytes(text.encode(codec))
        got = read_buildings(path, progress=False)
        assert got["building_id"].tolist() == utf8["building_id"].tolist()
        assert got["building_id"].notna().all() and got["usage"].notna().all()
        assert got["measured_height_m"].tolist() == utf8["measured_height_m"].tolist()
    evil = text.replace("?>", '?>\n<!DOCTYPE core:CityModel [<!ENTITY a "aaaa">]>', 1)
    path = tmp_path / "doctype_bldg_6697_op.gml"
    path.write_bytes(evil.encode("utf-16"))
    with pytest.raises(CityGMLError, match="DOCTYPE"):
        read_buildings(path, progress=False)


def test_read_features_same_guards_as_buildings(district, tmp_path):
    """Items 5 and 9 for the context readers (roads, water, ...): outside Japan refused, DOCTYPE refused
    in UTF-16, geocentric CRS refused."""
    from numazu_geo.citygml import read_features

    tran = next((district[0] / "udx" / "tran").glob("*.gml"))
    text = tran.read_text(encoding="utf-8")
    moved = tmp_path / "london_tran_6697_op.gml"
    moved.write_text(_map_poslists(text, lambda lat, lon, h: (lat + 16.4, lon - 138.99, h)), encoding="utf-8")
    with pytest.raises(DataExtentError, match="london_tran_6697_op.gml.*outside Japan"):
        read_features(moved, "tran")
    evil = tmp_path / "doctype_tran_6697_op.gml"
    evil.write_bytes(text.replace("?>", '?>\n<!DOCTYPE x [<!ENTITY a "a">]>', 1).encode("utf-16"))
    with pytest.raises(CityGMLError, match="DOCTYPE"):
        read_features(evil, "tran")
    with pytest.raises(ValueError, match="geocentric"):
        read_features(tran, "tran", crs="EPSG:4978")


def test_ingest_sentinel_heights_become_nan_and_are_counted(district, tmp_path):
    """Item 10: measuredHeight 9999 and ground z -9999 are missing values, counted, not drawn."""
    from numazu_geo.citygml import read_buildings, read_solids

    text = _gml_text(district)
    members = _members(text)
    a = re.sub(r"(<bldg:measuredHeight[^>]*>)[^<]*<", r"\g<1>9999<", members[0], count=1)
    b = _map_poslists(members[1], lambda lat, lon, h: (lat, lon, -9999.0 if h < 1e-6 or h == min(h, 7.0) else h))
    hostile = text.replace(members[0], a, 1).replace(members[1], b, 1)
    gml = _write_variant(district, tmp_path, hostile)
    gdf = read_buildings(gml, progress=False)
    assert np.isnan(gdf.loc[0, "measured_height_m"])
    assert gdf.attrs["sentinels_replaced"]["measured_height_m"] == 1
    assert gdf["ground_z_m"].min() > -100 and np.isnan(gdf.loc[1, "ground_z_m"])
    solids = read_solids(gml, progress=False)
    assert solids.attrs["sentinels_replaced"]["rows_with_sentinel_vertex_height"] == 1
    assert len(solids) == N_BUILDINGS - 1


def test_ingest_zero_area_footprint_flagged(district, tmp_path):
    """Item 10: a footprint collapsed onto a line (area ~0 after rounding) is flagged, not kept as a building."""
    from numazu_geo.citygml import read_buildings

    text = _gml_text(district)
    lod0 = re.search(r"<bldg:lod0RoofEdge>.*?<gml:posList>([^<]*)</gml:posList>", text, flags=re.S)
    pts = np.array(lod0.group(1).split(), dtype=float).reshape(-1, 3)
    mid = (pts[0] + pts[1]) / 2  # a "ring" along one edge: zero area up to rounding
    line = " ".join(f"{v:.9f}" for v in np.concatenate([pts[0], pts[1], mid, pts[0]]))
    gml = _write_variant(district, tmp_path, text.replace(lod0.group(1), line, 1))
    gdf = read_buildings(gml, progress=False)
    assert gdf.loc[0, "geometry_issue"] == "degenerate footprint (zero area)"
    assert gdf.geometry.iloc[0].is_empty and (gdf.geometry.iloc[1:].area > 1).all()


def test_ingest_geocentric_crs_rejected_before_reading(tmp_path):
    """Item 10: crs='EPSG:4978' (geocentric) fails at once, even before the (missing) source is opened."""
    from numazu_geo.citygml import read_buildings

    with pytest.raises(ValueError, match="geocentric"):
        read_buildings(tmp_path / "does-not-exist.gml", crs="EPSG:4978")
    with pytest.raises(ValueError, match="Vertical"):
        read_buildings(tmp_path / "does-not-exist.gml", crs="EPSG:5773")


def test_ingest_failed_run_keeps_existing_output(tmp_path, capsys):
    """Item 3: `ingest zero-byte.gml -o existing.parquet` (default --errors skip) fails and keeps the file."""
    good = tmp_path / "existing.parquet"
    to_parquet(gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs="EPSG:6676"), good)
    before = good.read_bytes()
    empty = tmp_path / "zero-byte.gml"
    empty.write_bytes(b"")
    status = main(["ingest", str(empty), "-o", str(good), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1 and good.read_bytes() == before
    assert "not written" in err and "zero-byte.gml" in err and "Traceback" not in err


def test_ingest_output_validated_before_reading_and_dir_output(district, tmp_path, capsys):
    """Item 8 / issue 12: `-o x.txt` fails in one line before any reading; `-o DIR/` writes buildings.parquet."""
    broken = tmp_path / "broken.gml"
    broken.write_text("<not xml")
    status = main(["ingest", str(broken), "-o", str(tmp_path / "x.txt"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1
    assert "x.txt" in err and "unsupported output format" in err and "broken.gml" not in err  # nothing read
    status = main(["ingest", str(district[1]), "-o", str(tmp_path / "out") + "/", "--no-progress"])
    assert status == 0 and len(read_parquet(tmp_path / "out" / "buildings.parquet")) == N_BUILDINGS
    status = main(["ingest", str(district[1]), "-o", str(tmp_path / "out"), "--what", "roofs", "--no-progress"])
    assert status == 0 and (tmp_path / "out" / "roofs.parquet").exists()  # an existing folder works too


# ================================================================================================
# weather files / solar


def test_climate_truncated_epw_is_an_error_unless_partial(tmp_path):
    """Item 1: half a year (and 100 rows) of EPW is not a year; partial=True marks the period instead."""
    from numazu_geo.solar.climate import read_epw

    full = read_epw(_hourly_epw(tmp_path / "full.epw"))
    assert not full.partial and "PARTIAL" not in full.source
    half = _hourly_epw(tmp_path / "half.epw", n_rows=4380)
    with pytest.raises(ClimateCoverageError, match=r"half\.epw.*covers 4380 of the 8760 hours.*07-02\.\.12-31"):
        read_epw(half)
    with pytest.raises(ClimateCoverageError, match="100 of the 8760"):
        read_epw(_hourly_epw(tmp_path / "short.epw", n_rows=100))
    dark = tmp_path / "dark.epw"  # a whole year of zeros: a placeholder, not weather
    dark.write_text(re.sub(r",300,\d+,\d+,\d+,", ",300,0,0,0,", (tmp_path / "full.epw").read_text()))
    with pytest.raises(WeatherFileError, match="dark.epw.*zero in every hour"):
        read_epw(dark)
    part = read_epw(half, partial=True)
    assert part.partial and "PARTIAL period 01-01..07-02" in part.source
    assert part.annual_kwh_m2() == pytest.approx(full.annual_kwh_m2() / 2, rel=0.01)


def test_climate_leap_year_epw_in_common_year_drops_29_february_counted(tmp_path, caplog):
    """QA: a leap-year EPW (8784 rows, e.g. an actual-year 2024 file) read for the default common year
    gave a multi-line pandas 'day is out of range' error; now its 24 rows of 29 February are dropped,
    counted in a warning and in the climate label, and the rest equals the same weather without them."""
    from numazu_geo.solar.climate import read_epw

    leap = _hourly_epw(tmp_path / "leap.epw", n_rows=8784, year=2024)
    common = _hourly_epw(tmp_path / "common.epw", n_rows=8760, year=2023)
    with caplog.at_level("WARNING"):
        clim = read_epw(leap, year=2023)
    assert len(clim.data) == 8760 and not clim.data.index.duplicated().any()
    assert "29 Feb dropped: 24 rows" in clim.source
    assert any("leap.epw" in r.getMessage() and "29 February" in r.getMessage() for r in caplog.records)
    assert not ((clim.data.index.month == 2) & (clim.data.index.day == 29)).any()
    ref = read_epw(common, year=2023)
    assert clim.data["ghi"].sum() == pytest.approx(ref.data["ghi"].sum(), rel=1e-12)
    kept = read_epw(leap, year=2024)  # in a leap year every row is kept, with no note
    assert len(kept.data) == 8784 and "dropped" not in kept.source


def test_climate_truncated_metpv_is_an_error(tmp_path):
    """Item 1: the same rule for NEDO METPV / tidy CSV files."""
    from numazu_geo.solar.climate import read_metpv

    t = pd.date_range("2023-01-01 01:00", periods=24 * 40, freq="h")
    csv = tmp_path / "forty_days.csv"
    pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "ghi": 100.0}).to_csv(csv, index=False)
    with pytest.raises(ClimateCoverageError, match="forty_days.csv.*960 of the 8760"):
        read_metpv(csv)
    assert read_metpv(csv, partial=True).partial


def test_climate_from_london_refused_and_distance_reported(tmp_path, caplog):
    """Item 4: an EPW headed London is refused for Numazu buildings; a Tokyo one is used with a warning,
    the distance recorded, and the sun computed at the buildings."""
    from numazu_geo.solar.climate import climate_for_site, read_epw
    from numazu_geo.solar.sun import Site

    numazu = Site(35.10, 138.86, 10.0, name="buildings")
    london = read_epw(_hourly_epw(tmp_path / "london.epw", lat=51.15, lon=-0.18, city="London Gatwick"))
    with pytest.raises(ClimateSiteError, match=r"london\.epw.*9,\d\d\d km from the buildings.*outside Japan"):
        climate_for_site(london, numazu)
    south_pole = read_epw(_hourly_epw(tmp_path / "pole.epw", lat=-89.99, lon=0.0, city="South Pole"))
    with pytest.raises(ClimateSiteError):
        climate_for_site(south_pole, numazu)
    tokyo = read_epw(_hourly_epw(tmp_path / "tokyo.epw", lat=35.69, lon=139.69, city="Tokyo"))
    used = climate_for_site(tokyo, numazu)
    assert "km from the buildings" in caplog.text
    assert used.site.latitude_deg == 35.10 and used.weather_site.name == "Tokyo"
    assert used.site_distance_km == pytest.approx(100, abs=5) and "100 km" in used.source
    noon = used.solar_position().between_time("11:00", "13:00")
    tokyo_noon = tokyo.solar_position().between_time("11:00", "13:00")
    assert not np.allclose(noon["azimuth"], tokyo_noon["azimuth"])  # the sun moved to Numazu
    with pytest.raises(ClimateSiteError, match="max_distance_km=50"):
        climate_for_site(tokyo, numazu, max_distance_km=50)


def test_solar_empty_geodataframe_clear_message():
    """Item 10: an empty buildings table says it is empty (not 'source_file column missing')."""
    from numazu_geo.solar import solar_potential

    empty = gpd.GeoDataFrame({"gml_id": []}, geometry=gpd.GeoSeries([], crs="EPSG:6676"))
    with pytest.raises(NumazuGeoError, match="empty"):
        solar_potential(empty)


def test_solar_duplicated_source_total_unchanged(district):
    """Item 2: the same data given twice (folder + zip) gives the same solar total as once."""
    from numazu_geo.solar import solar_potential
    from numazu_geo.solar.climate import default_climate

    clim = default_climate(days="monthly")
    once = solar_potential(district[0], climate=clim, shading=False, progress=False)
    twice = solar_potential([district[0], district[2]], climate=clim, shading=False, progress=False)
    assert len(twice.buildings) == len(once.buildings) == N_BUILDINGS
    assert twice.summary()["total_mwh_year"] == pytest.approx(once.summary()["total_mwh_year"], rel=1e-9)
    assert once.summary()["total_mwh_year"] > 0


def test_plain_parquet_without_geometry_named_in_one_line(tmp_path, capsys):
    """QA: a Parquet table without GeoParquet metadata given to solar or energy failed with geopandas'
    "Missing geo metadata ... Use pandas.read_parquet" and no file name (map doubled its message)."""
    path = tmp_path / "attributes_only.parquet"
    pd.DataFrame({"gml_id": ["a", "b"], "measured_height_m": [5.0, 7.0]}).to_parquet(path)
    for argv in (["solar", str(path), "-o", str(tmp_path / "s.parquet"), "--quick", "--no-progress"],
                 ["energy", str(path), "-o", str(tmp_path / "e.parquet")],
                 ["map", str(path), "-o", str(tmp_path / "m.html")]):  # fmt: skip
        status = main(argv)
        err = capsys.readouterr().err.strip()
        assert status == 1 and len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert "attributes_only.parquet" in err and "without geometry" in err and err.count("Parquet table") == 1, err
    assert not list(tmp_path.glob("[sem].*"))


def test_solar_on_parts_or_roofs_table_does_not_multiply_the_total(tmp_path, capsys):
    """QA: `solar` on `ingest --parts` output (Yokosuka: 13 buildings + 2 BuildingPart rows sharing their
    building_id) gave 1,829 kW instead of 950 kW, and on `ingest --what roofs` output (Ota: 412 roof rows)
    reported 412 'buildings' and 73 times the PV. Part rows are now left out (counted); a roofs table
    is refused in one line naming the file."""
    from conftest import require_shared

    gml = require_shared("data", "plateau", "v2_uro2.0", "yokosuka14201_52397519_bldg_6697_op__lod2_part_risk.gml")
    run = ["--quick", "--no-shading", "--no-progress"]
    for what, extra in (("plain", []), ("parts", ["--parts"]), ("roofs", ["--what", "roofs"])):
        assert main(["ingest", str(gml), "-o", str(tmp_path / f"{what}.parquet"), "--no-progress", *extra]) == 0
    assert main(["solar", str(tmp_path / "plain.parquet"), "-o", str(tmp_path / "s_plain.parquet"), *run]) == 0
    assert main(["solar", str(tmp_path / "parts.parquet"), "-o", str(tmp_path / "s_parts.parquet"), *run]) == 0
    capsys.readouterr()
    parts = read_parquet(tmp_path / "parts.parquet")
    n_parts = int(parts["parent_id"].notna().sum())
    assert n_parts > 0 and not parts["building_id"].is_unique  # the input really has part rows
    plain = read_parquet(tmp_path / "s_plain.parquet")
    got = read_parquet(tmp_path / "s_parts.parquet")
    assert len(got) == len(plain) == len(parts) - n_parts and got.attrs["building_parts_left_out"] == n_parts
    assert got["kw"].sum() == pytest.approx(plain["kw"].sum(), rel=1e-9) and plain["kw"].sum() > 0
    assert main(["solar", str(tmp_path / "roofs.parquet"), "-o", str(tmp_path / "s_roofs.parquet"), *run]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "roofs.parquet" in err and "roof surface" in err, err
    assert not (tmp_path / "s_roofs.parquet").exists()


def test_solar_cli_dir_output_and_short_epw_one_line(district, tmp_path, capsys):
    """Item 8 / issue 12: `solar X -o out/` writes into out/; `--quick` with a short EPW fails in one line
    before any computing; a bad --faces extension too."""
    short = _hourly_epw(tmp_path / "short.epw", n_rows=100)
    for extra in (["--climate", str(short), "--quick"], ["--faces", str(tmp_path / "f.txt")]):
        status = main(["solar", str(district[1]), "-o", str(tmp_path / "o") + "/", "--no-progress", *extra])
        err = capsys.readouterr().err.strip()
        assert status == 1 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "short.epw" in err or "f.txt" in err
    assert not (tmp_path / "o" / "solar_buildings.parquet").exists()
    status = main(["solar", str(district[1]), "-o", str(tmp_path / "out") + "/", "--quick", "--no-shading",
                   "--no-progress"])  # fmt: skip
    assert status == 0
    assert len(read_parquet(tmp_path / "out" / "solar_buildings.parquet")) == N_BUILDINGS
    assert len(read_parquet(tmp_path / "out" / "solar_faces.parquet")) >= N_BUILDINGS


# ================================================================================================
# outputs: numazu_geo.io


def _pair(tmp_path, value):
    b = gpd.GeoDataFrame({"v": [value]}, geometry=[Point(0, 0)], crs="EPSG:6676")
    f = gpd.GeoDataFrame({"v": [value, value]}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:6676")
    return {tmp_path / "b.parquet": b, tmp_path / "f.parquet": f}


def test_multi_file_commit_failing_second_write_changes_nothing(tmp_path, monkeypatch):
    """Item 6: the second file failing to write leaves both old files and no temporary file."""
    import numazu_geo.io as nio

    write_tables(_pair(tmp_path, "old"))
    real = nio._write_table_to
    calls = []

    def failing(df, tmp, final):
        calls.append(final)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(df, tmp, final)

    monkeypatch.setattr(nio, "_write_table_to", failing)
    with pytest.raises(OSError):
        write_tables(_pair(tmp_path, "new"))
    assert read_parquet(tmp_path / "b.parquet")["v"].tolist() == ["old"]
    assert read_parquet(tmp_path / "f.parquet")["v"].tolist() == ["old", "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.parquet", "f.parquet"]


def test_multi_file_commit_killed_between_renames_is_completed(tmp_path):
    """Item 6: SIGKILL between the two renames leaves a journal; the next read completes the pair."""
    write_tables(_pair(tmp_path, "old"))
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        import geopandas as gpd
        from shapely.geometry import Point
        import numazu_geo.io as nio
        from pathlib import Path
        real = os.replace
        n = []
        def replace(a, b):
            if str(b).endswith(".parquet"):
                n.append(b)
                if len(n) == 2:
                    os.kill(os.getpid(), signal.SIGKILL)  # killed between the two renames
            real(a, b)
        nio.os.replace = replace
        tmp = Path({str(tmp_path)!r})
        b = gpd.GeoDataFrame({{"v": ["new"]}}, geometry=[Point(0, 0)], crs="EPSG:6676")
        f = gpd.GeoDataFrame({{"v": ["new", "new"]}}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:6676")
        nio.write_tables({{tmp / "b.parquet": b, tmp / "f.parquet": f}})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert any(n.startswith(".numazu-commit-") for n in names), names  # the journal survived the kill
    import geopandas

    half = [geopandas.read_parquet(tmp_path / n)["v"].iloc[0] for n in ("b.parquet", "f.parquet")]
    assert half == ["new", "old"]  # what the kill left on disk
    # the next numazu-geo read (or write) in that folder completes the commit from the journal
    assert read_parquet(tmp_path / "b.parquet")["v"].tolist() == ["new"]
    assert read_parquet(tmp_path / "f.parquet")["v"].tolist() == ["new", "new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.parquet", "f.parquet"]


def test_stale_temp_files_of_dead_jobs_are_removed(tmp_path):
    """Item 6: hidden temp files left by a SIGKILLed job are removed by the next write; a live job's stay."""
    from numazu_geo.io import _host

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(proc.stdout)
    stale = tmp_path / f".b.parquet.ngtmp-{_host()}-{dead}-deadbeef.parquet"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".b.parquet.ngtmp-{_host()}-{os.getppid()}-cafe.parquet"
    other_machine = tmp_path / f".b.parquet.ngtmp-elsewhere-{dead}-beef.parquet"
    for p in (live, other_machine):
        p.write_bytes(b"y")
    to_parquet(gpd.GeoDataFrame({"v": [1]}, geometry=[Point(0, 0)], crs="EPSG:6676"), tmp_path / "b.parquet")
    assert not stale.exists() and live.exists() and other_machine.exists()


def test_output_path_checks(tmp_path):
    """Issue 12: folders get default names, unknown extensions and paths inside files fail at once."""
    from numazu_geo.io import check_output

    assert check_output(str(tmp_path) + "/", default_name="x.parquet") == tmp_path / "x.parquet"
    assert check_output(tmp_path, default_name="x.parquet") == tmp_path / "x.parquet"
    assert check_output(tmp_path / "new" / "y.csv", default_name="x.parquet") == tmp_path / "new" / "y.csv"
    with pytest.raises(OutputPathError, match=r"x\.txt.*unsupported"):
        check_output(tmp_path / "x.txt", default_name="x.parquet")
    (tmp_path / "afile").write_text("")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output(tmp_path / "afile" / "y.parquet", default_name="x.parquet")
    from numazu_geo.io import check_output_dir

    assert check_output_dir(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
    with pytest.raises(OutputPathError, match="is a file; the output folder must be a folder"):
        check_output_dir(tmp_path / "afile")
    with pytest.raises(OutputPathError, match="twice"):
        with atomic_paths([tmp_path / "a.csv", tmp_path / "a.csv"]):
            pass


# ================================================================================================
# `numazu-geo map`, CLI errors


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc (a folder nobody can write into)")
def test_unwritable_output_folder_refused_before_work_naming_the_output(tmp_path, capsys, monkeypatch):
    """QA: an output folder that os.access calls writable but is not (as root: /proc, a read-only
    mount) failed only after the work, naming a temporary file ('.x.html.ngtmp-...')."""
    import numazu_geo.mobility.tracks as tracks

    def no_reading(*args, **kwargs):
        raise AssertionError("the tracks were read before the output folder was checked")

    monkeypatch.setattr(tracks, "read_tracks", no_reading)
    table = tmp_path / "t.parquet"
    to_parquet(gpd.GeoDataFrame({"v": [1.0]}, geometry=[Point(0, 0).buffer(5)], crs="EPSG:6676"), table)
    for argv in (["map", str(table), "-o", "/proc/qa_map.html"],
                 ["trips", str(tmp_path / "tracks.csv"), "-o", "/proc/qa_trips.parquet"]):  # fmt: skip
        status = main(argv)
        err = capsys.readouterr().err.strip()
        assert status == 1 and len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert argv[-1] in err and ".ngtmp" not in err and "/proc" in err, err
    with pytest.raises(OutputPathError, match="qa_direct.csv"):  # the writer itself names the target too
        write_tables({Path("/proc/qa_direct.csv"): pd.DataFrame({"a": [1]})})


def test_map_all_empty_geometries_one_line(tmp_path, capsys):
    """Item 8: a table whose geometries are all empty gives one clear line, not a traceback."""
    path = tmp_path / "empty_geoms.parquet"
    to_parquet(gpd.GeoDataFrame({"v": [1, 2]}, geometry=[Polygon(), Polygon()], crs="EPSG:6676"), path)
    status = main(["map", str(path), "-o", str(tmp_path / "m.html")])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1 and "empty_geoms.parquet" in err and "empty" in err
    status = main(["map", str(path), "-o", str(tmp_path / "m.png")])
    assert status == 1 and "unsupported map format" in capsys.readouterr().err


def test_cli_unexpected_error_one_line_and_debug_traceback(monkeypatch, capsys, tmp_path):
    """Item 8: an unexpected exception is one line with a hint; --debug / NUMAZU_GEO_DEBUG shows it."""
    import numazu_geo.maps.cli as mcli

    def boom(*a, **k):
        raise KeyError("geometry")

    monkeypatch.setattr(mcli, "make_map", boom)
    status = main(["map", "x.parquet", "-o", str(tmp_path / "m.html")])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1 and "KeyError" in err and "--debug" in err
    with pytest.raises(KeyError):
        main(["--debug", "map", "x.parquet", "-o", str(tmp_path / "m.html")])
    monkeypatch.setenv("NUMAZU_GEO_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["map", "x.parquet", "-o", str(tmp_path / "m.html")])


# ================================================================================================
# green view


def _jpeg(path: Path, size=(64, 32), gps=None):
    from PIL import Image

    img = Image.new("RGB", size, (40, 140, 40))
    exif = Image.Exif()
    if gps is not None:
        exif.get_ifd(0x8825).update(gps)
    img.save(path, exif=exif)
    return path


def test_greenview_folder_of_broken_images_keeps_existing_output(tmp_path, capsys):
    """Item 3: no photo analysed is a failure; the previous output stays."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        (photos / f"broken{i}.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    good = tmp_path / "gvi.parquet"
    to_parquet(gpd.GeoDataFrame({"gvi": [30.0]}, geometry=[Point(138.86, 35.1)], crs="EPSG:4326"), good)
    before = good.read_bytes()
    status = main(["greenview", str(photos), "-o", str(good), "--method", "exg", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 1 and good.read_bytes() == before
    assert "none of the 3 photos" in err and "broken0.jpg" in err and len(err.splitlines()) == 1


def test_greenview_tiny_image_and_malformed_gps_recorded(tmp_path):
    """Item 10: a 1x1 image is analysed with a warning; malformed EXIF GPS is recorded, not dropped silently."""
    from numazu_geo.greenview.gvi import green_view_index
    from numazu_geo.greenview.survey import green_view_survey, read_photo_metadata

    one = green_view_index(_jpeg(tmp_path / "one.jpg", size=(1, 1)), method="exg")
    assert one.gvi in (0.0, 100.0) and "1x1 px" in one.warning
    photos = tmp_path / "photos"
    photos.mkdir()
    _jpeg(photos / "a_tiny.jpg", size=(8, 8))
    from PIL.TiffImagePlugin import IFDRational

    bad_lat = (IFDRational(35, 0), IFDRational(6, 1), IFDRational(0, 1))  # a zero denominator
    _jpeg(photos / "b_badgps.jpg", gps={1: "N", 2: bad_lat, 3: "E", 4: (138.0, 51.0, 0.0)})
    _jpeg(photos / "c_good.jpg", gps={1: "N", 2: (35.0, 6.0, 0.0), 3: "E", 4: (138.0, 51.0, 36.0)})
    assert read_photo_metadata(photos / "b_badgps.jpg").gps_error.startswith("malformed EXIF GPS")
    gdf = green_view_survey(photos, method="exg", progress=False)
    warn = dict(zip(gdf["path"].map(lambda p: Path(p).name), gdf["warning"]))
    assert "8x8 px" in warn["a_tiny.jpg"] and "malformed EXIF GPS" in warn["b_badgps.jpg"]
    assert warn["c_good.jpg"] == ""
    assert {Path(w["file"]).name for w in gdf.attrs["warnings"]} == {"a_tiny.jpg", "b_badgps.jpg"}
    assert gdf.geometry.iloc[1] is None or gdf.geometry.iloc[1].is_empty
    assert not gdf.geometry.iloc[2].is_empty
    assert (gdf["error"] == "").all()
    _jpeg(photos / "d_one_pixel.jpg", size=(1, 1))  # in a survey: a recorded skip with a clear reason
    again = green_view_survey(photos, method="exg", progress=False)
    assert "1x1 px: too small" in again.attrs["errors"][0]["error"] and len(again) == 4
