"""`make demo` end to end (small district): tables, map and a summary that adds up."""

from __future__ import annotations

import pandas as pd
import pytest

from numazu_geo.cli import main
from numazu_geo.demo import run_demo, summary_paragraph
from numazu_geo.io import read_parquet


def test_demo_end_to_end(tmp_path, capsys):
    summary = run_demo(tmp_path, n_buildings=40, seed=7, progress=False)
    buildings = read_parquet(tmp_path / "solar_buildings.parquet")
    assert summary["n_buildings"] == len(buildings) == 40
    assert buildings["kwh_year"].sum() / 1000 == pytest.approx(summary["total_mwh_year"], rel=1e-9)
    assert summary["co2_avoided_t_year"] == pytest.approx(
        summary["total_kwh_year"] * summary["emission_factor_kg_per_kwh"] / 1000, rel=1e-6
    )
    assert 0 < summary["specific_yield_kwh_kwp"] < 2100  # below the clear-sky PV bound at 35 N
    csv = pd.read_csv(tmp_path / "solar_buildings.csv", encoding="utf-8-sig")
    assert len(csv) == 40 and "geometry" not in csv.columns
    html = (tmp_path / "numazu_district_map.html").read_text(encoding="utf-8")
    assert "synthetic sample district" in html and "国土交通省" not in html  # synthetic: no PLATEAU credit
    assert summary["terrain_triangles"] > 0 and summary["vegetation_triangles"] > 0  # the hill and trees shade
    assert "三島" in summary["caption"] and "気象庁" in summary["caption"]
    text = summary_paragraph(summary)
    assert "40 buildings" in text and str(tmp_path) in text


def test_demo_cli(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--n-buildings", "12", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "12 buildings" in out and "numazu_district_map.html" in out
