"""CO2: emission factor table, kWh -> kg-CO2, district summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from numazu_geo.co2 import (
    emission_factor,
    emission_factors,
    factor_kg_per_kwh,
    household_co2,
    kwh_to_co2_kg,
    summarise_district,
)


def test_table_has_sources_and_status():
    df = emission_factors()
    need = {"utility", "menu", "fiscal_year", "basic_kg_per_kwh", "adjusted_kg_per_kwh", "source", "published", "status"}
    assert need <= set(df.columns)
    assert df["source"].notna().all() and df["status"].isin(["P", "S"]).all()
    # kg-CO2/kWh, not t-CO2/kWh: Japanese grid factors are 0.3-0.6 kg/kWh
    assert df["basic_kg_per_kwh"].between(0.3, 0.6).all()


def test_default_is_latest_verified_tepco():
    row = emission_factor()
    assert row["utility"] == "TEPCO Energy Partner"
    assert row["fiscal_year"] == 2024 and row["status"] == "P"
    assert factor_kg_per_kwh() == pytest.approx(0.421)
    assert factor_kg_per_kwh(menu="residual menu M") == pytest.approx(0.452)
    assert factor_kg_per_kwh("chubu", kind="basic") == pytest.approx(0.376)


def test_older_year_basic_and_adjusted_differ():
    assert factor_kg_per_kwh("TEPCO Energy Partner", 2015, kind="basic") == pytest.approx(0.500)
    assert factor_kg_per_kwh("TEPCO Energy Partner", 2015, kind="adjusted") == pytest.approx(0.491)
    assert kwh_to_co2_kg(1000, fiscal_year=2015, kind="basic") == pytest.approx(500.0)


def test_lookup_errors():
    with pytest.raises(KeyError, match="no utility"):
        emission_factor("Kansai Electric")
    with pytest.raises(KeyError, match="FY2019"):
        emission_factor("TEPCO Energy Partner", 2019)
    with pytest.raises(ValueError, match="kind"):
        factor_kg_per_kwh(kind="marginal")
    with pytest.raises(ValueError, match="no adjusted factor"):
        factor_kg_per_kwh("national average", menu=None)
    assert factor_kg_per_kwh("national average", menu=None, kind="basic") == pytest.approx(0.423)


def test_conversions_keep_shape_and_drop_nan():
    assert kwh_to_co2_kg(1000.0) == pytest.approx(421.0)
    assert kwh_to_co2_kg(1000.0, factor=0.5) == pytest.approx(500.0)
    arr = kwh_to_co2_kg(np.array([1000.0, np.nan, 0.0]))
    assert arr.tolist() == pytest.approx([421.0, 0.0, 0.0])
    s = kwh_to_co2_kg(pd.Series([100.0, None], index=["a", "b"]))
    assert list(s.index) == ["a", "b"] and s["b"] == 0.0
    with pytest.raises(ValueError):
        kwh_to_co2_kg(1.0, factor=float("nan"))


def test_summarise_district():
    b = pd.DataFrame(
        {
            "kw": [10.0, 0.0, np.nan, 5.0],
            "kwh_year": [13000.0, 0.0, np.nan, 6000.0],
            "co2_avoided_kg_year": [5473.0, 0.0, np.nan, 2526.0],
            "roof_area_m2": [100.0, 20.0, np.nan, 50.0],
            "usable_area_m2": [90.0, 0.0, 0.0, 40.0],
        }
    )
    s = summarise_district(b)
    assert s["n_buildings"] == 4 and s["n_viable"] == 2
    assert s["share_roofs_viable"] == pytest.approx(0.5)
    assert s["total_kw"] == pytest.approx(15.0)
    assert s["total_kwh_year"] == pytest.approx(19000.0)
    assert s["specific_yield_kwh_kwp"] == pytest.approx(19000 / 15)
    assert s["co2_avoided_t_year"] == pytest.approx(7.999)
    hh = household_co2()
    assert hh["household_co2_total"] == pytest.approx(2.59)
    assert s["households_co2_equivalent"] == pytest.approx(7.999 / 2.59)
    assert s["households_electricity_co2_equivalent"] == pytest.approx(7.999 / 1.74)
    assert all(np.isfinite(v) for v in s.values())
    empty = summarise_district(b.iloc[:0])
    assert empty["share_roofs_viable"] == 0.0 and empty["total_kw"] == 0.0
    with pytest.raises(TypeError):
        summarise_district([1, 2])


def test_add_avoided_co2_on_tables_and_results():
    import dataclasses

    from numazu_geo.co2 import add_avoided_co2

    b = pd.DataFrame({"kwh_year": [1000.0, np.nan, 0.0], "kw": [1.0, 0.0, 0.0]})
    out = add_avoided_co2(b)
    assert "co2_avoided_kg_year" not in b.columns  # the input is not changed
    assert out["co2_avoided_kg_year"].tolist() == pytest.approx([421.0, 0.0, 0.0])
    assert out.attrs["co2_factor"]["kg_per_kwh"] == pytest.approx(0.421)
    assert "TEPCO" in out.attrs["co2_factor"]["label"]
    assert add_avoided_co2(b, 0.5)["co2_avoided_kg_year"].iloc[0] == pytest.approx(500.0)
    assert add_avoided_co2(b, fiscal_year=2015, kind="basic")["co2_avoided_kg_year"].iloc[0] == pytest.approx(500.0)
    with pytest.raises(KeyError, match="kwh_year"):
        add_avoided_co2(pd.DataFrame({"kw": [1.0]}))
    with pytest.raises(ValueError, match="non-negative"):
        add_avoided_co2(b, -1.0)

    @dataclasses.dataclass
    class Result:  # the shape of a SolarResult
        buildings: pd.DataFrame
        faces: pd.DataFrame
        parameters: dict

    r = add_avoided_co2(Result(b, b.iloc[:1], {"spacing_m": 1.0}))
    assert r.faces["co2_avoided_kg_year"].iloc[0] == pytest.approx(421.0)
    assert r.parameters["emission_factor_kg_per_kwh"] == pytest.approx(0.421) and r.parameters["spacing_m"] == 1.0
    # the summary uses the table's own column (here computed with another factor) ...
    s = summarise_district(add_avoided_co2(b, 0.5))
    assert s["co2_avoided_t_year"] == pytest.approx(0.5) and s["emission_factor_kg_per_kwh"] == pytest.approx(0.5)
    # ... and converts kwh_year itself when the table has only energy
    assert summarise_district(b)["co2_avoided_t_year"] == pytest.approx(0.421)


def test_solar_does_not_import_co2():
    """The arrow runs solar -> co2: solar modules produce energy and never convert it to CO2."""
    import pathlib
    import re

    import numazu_geo.solar as solar

    imports_co2 = re.compile(r"^\s*(from numazu_geo\.co2\b|from numazu_geo import .*\bco2\b|import numazu_geo\.co2)", re.M)
    for path in pathlib.Path(solar.__file__).parent.glob("*.py"):
        if path.name == "cli.py":  # the command line composes solar and co2 for its output table
            continue
        assert not imports_co2.search(path.read_text(encoding="utf-8")), path.name
    assert imports_co2.search("    from numazu_geo import co2\n")  # the pattern does find an import


def test_load_table_checks_provenance(tmp_path, monkeypatch):
    from numazu_geo.co2 import load_table

    monkeypatch.setenv("NUMAZU_GEO_DATA", str(tmp_path))
    (tmp_path / "h15_ok.csv").write_text("name,value,source,year,reason\na,1.5,somewhere,2024,\nb,,,,none found\n")
    assert load_table("h15_ok.csv")["value"].tolist()[0] == 1.5
    (tmp_path / "h15_nosource.csv").write_text("name,value,source,year,reason\na,1.5,,2024,\n")
    with pytest.raises(ValueError, match="h15_nosource.csv: rows \\[2\\] have values without a source"):
        load_table("h15_nosource.csv")
    (tmp_path / "h15_noreason.csv").write_text("name,value,source,year,reason\na,,,,\n")
    with pytest.raises(ValueError, match="no value and no 'reason'"):
        load_table("h15_noreason.csv")
    (tmp_path / "h15_noyear.csv").write_text("name,value,source\na,1,x\n")
    with pytest.raises(ValueError, match="no 'year' column"):
        load_table("h15_noyear.csv")


def test_solar_cli_emission_factor_and_utility_options(tmp_path, capsys):
    """QA: `numazu-geo solar` always used TEPCO's factor (Numazu's utility), also for Osaka or
    Shizuoka City, with no way to change it; --emission-factor / --utility now choose it, checked
    before any computing, and the caption names the factor used."""
    import geopandas as gpd

    from numazu_geo.cli import main
    from numazu_geo.sample import make_district

    sample = make_district(tmp_path / "d", n_buildings=3, seed=1, progress=False)
    base = ["solar", str(sample.path), "--quick", "--no-shading", "--no-progress"]
    assert main([*base, "-o", str(tmp_path / "tepco.parquet")]) == 0
    assert main([*base, "-o", str(tmp_path / "own.parquet"), "--emission-factor", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "user-supplied 0.250 kg-CO2/kWh" in out
    from numazu_geo.co2 import grid_factor

    f_tepco, f_chubu = grid_factor()["kg_per_kwh"], grid_factor(utility="Chubu")["kg_per_kwh"]
    assert f_chubu != f_tepco
    assert main([*base, "-o", str(tmp_path / "chubu.parquet"), "--utility", "Chubu"]) == 0
    out = capsys.readouterr().out
    assert "emission factor: Chubu Electric Power Miraiz FY" in out and f"adjusted {f_chubu:.3f} kg-CO2/kWh" in out
    tepco, own, chubu = (gpd.read_parquet(tmp_path / f"{n}.parquet") for n in ("tepco", "own", "chubu"))
    assert tepco["kwh_year"].sum() > 0
    assert own["co2_avoided_kg_year"].sum() == pytest.approx(0.25 * own["kwh_year"].sum(), rel=1e-9)
    assert chubu["co2_avoided_kg_year"].sum() == pytest.approx(f_chubu * chubu["kwh_year"].sum(), rel=1e-9)
    assert tepco["co2_avoided_kg_year"].sum() == pytest.approx(f_tepco * tepco["kwh_year"].sum(), rel=1e-9)
    for bad in (["--utility", "kansai"], ["--emission-factor", "-1"]):
        assert main([*base, "-o", str(tmp_path / "bad.parquet"), *bad]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "unexpected" not in err and "--emission-factor" in err, err
    assert not (tmp_path / "bad.parquet").exists()
