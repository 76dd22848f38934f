"""The README's command-line pipeline (ingest -> solar -> map) from a PLATEAU-style zip and from a
dataset folder, run from another working directory than where each step ran before."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest

from numazu_geo.cli import main
from numazu_geo.citygml.sources import parse_source_address, resolve_sources, source_name
from numazu_geo.sample import make_district


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_ingest_solar_map_from_zip_and_folder(tmp_path, monkeypatch, as_zip):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(data)
    sample = make_district("city.zip" if as_zip else "city", n_buildings=12, progress=False, as_zip=as_zip)
    # ingest with a relative source path, as a user would type it
    assert main(["ingest", sample.path.name, "-o", "b.parquet", "--no-progress"]) == 0
    b = gpd.read_parquet("b.parquet")
    assert len(b) == 12
    if as_zip:
        assert b["source_file"].str.startswith("zip://udx/bldg/").all()
        assert b["source_file"].str.endswith(f"::{data / 'city.zip'}").all()
    else:
        assert b["source_file"].str.startswith(str(data / "city" / "udx" / "bldg")).all()
    # the next steps run elsewhere: the stored source_file must still open
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    rc = main(["solar", str(data / "b.parquet"), "-o", "solar.parquet", "--quick", "--spacing", "2", "--no-progress"])
    assert rc == 0
    solar = gpd.read_parquet("solar.parquet")
    assert len(solar) == 12 and (solar["kwh_year"] > 0).all()
    assert main(["map", "solar.parquet", "-o", "map.html", "--color-by", "kwh_m2_year"]) == 0
    html = (work / "map.html").read_text(encoding="utf-8")
    deck = json.loads(re.search(r"var jsonInput = (.*?);\n", html).group(1))
    drawn = [layer for layer in deck["layers"] if layer["id"].startswith("buildings")]
    assert any(len(layer["data"]) == 12 and layer.get("extruded") for layer in drawn)  # every building, in 3D


def test_zip_member_address_round_trip(tmp_path):
    sample = make_district(tmp_path / "c.zip", n_buildings=3, progress=False, as_zip=True)
    (src,) = resolve_sources(sample.path)
    again = parse_source_address(src.label)
    assert again == src and source_name(src.label) == src.name
    with again.open() as fh:
        assert b"CityModel" in fh.read(4000)
    # the address is fsspec's chained-URL form, so fsspec opens it as well
    fsspec = pytest.importorskip("fsspec")
    with fsspec.open(src.label, "rb") as fh:
        assert b"CityModel" in fh.read(4000)
    # the older "<zip>!<member>" form of parquets written before still resolves
    (old,) = resolve_sources(f"{sample.path}!{src.path}")
    assert old == src
    with pytest.raises(Exception, match="no member"):
        resolve_sources(f"zip://udx/bldg/missing.gml::{sample.path}")


def test_help_says_what_the_default_climate_is_and_lists_choices_once():
    """QA: `solar`, `resilience` and `run` --help said the default climate was Numazu's, but it is
    modelled for the JMA station nearest the buildings; `trips --help` showed --by's choices as
    {track,day,week,track,day,track,week}."""
    from numazu_geo.cli import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if a.choices and "solar" in a.choices).choices
    for name in ("solar", "resilience", "run"):
        text = " ".join(subs[name].format_help().split())
        assert "Numazu climate" not in text, name
        assert "nearest" in text, name
    trips = " ".join(subs["trips"].format_help().split())
    assert "track,day,track,week" not in trips and "'track,day' or 'track,week'" in trips
