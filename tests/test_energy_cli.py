"""`numazu-geo energy` and `numazu-geo resilience` end to end on a small sample district."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from numazu_geo.cli import main


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    from numazu_geo.sample import make_district

    return make_district(tmp_path_factory.mktemp("cli") / "d", n_buildings=40, seed=7, public_buildings=2, progress=False)


def test_energy_cli_writes_the_ledger(district, tmp_path, capsys):
    import numazu_geo as ng
    from numazu_geo.io import to_parquet

    b = ng.read_buildings(district.path, progress=False)
    src = to_parquet(b, tmp_path / "buildings.parquet")
    solar = pd.DataFrame({"building_key": b["building_id"], "kwh_year": 1000.0})
    sol = to_parquet(gpd.GeoDataFrame(solar, geometry=b.geometry.values, crs=b.crs), tmp_path / "solar.parquet")
    assert main(["energy", str(src), "-o", str(tmp_path / "ledger.parquet"), "--solar", str(sol),
                 "--summary", str(tmp_path / "by_mesh.csv"), "--by", "mesh"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "with a cited intensity" in out and "t-CO2/yr" in out
    led = gpd.read_parquet(tmp_path / "ledger.parquet")
    assert len(led) == len(b) and {"co2_kg_year", "pv_coverage_frac", "energy_reason"} <= set(led.columns)
    summary = pd.read_csv(tmp_path / "by_mesh.csv", encoding="utf-8-sig")
    assert summary["n_buildings"].sum() == len(b)
    assert main(["energy", str(tmp_path / "nope.parquet"), "-o", str(tmp_path / "x.parquet")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_energy_cli_solar_of_other_data_refused_and_missing_buildings_unknown(district, tmp_path, capsys, caplog):
    """QA: `energy osaka.parquet --solar tokyo_solar.parquet` wrote a ledger with 0 kWh of PV for every
    building (no key matched); a building missing from the solar result counted as 0 kWh too."""
    import numazu_geo as ng
    from numazu_geo.io import to_parquet

    b = ng.read_buildings(district.path, progress=False)
    src = to_parquet(b, tmp_path / "buildings.parquet")
    other = pd.DataFrame({"building_key": [f"x-{i}" for i in range(len(b))], "kwh_year": 1000.0})
    other_path = to_parquet(gpd.GeoDataFrame(other, geometry=b.geometry.values, crs=b.crs), tmp_path / "other.parquet")
    assert main(["energy", str(src), "-o", str(tmp_path / "ledger.parquet"), "--solar", str(other_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "other.parquet" in err and "none of the" in err, err
    assert not (tmp_path / "ledger.parquet").exists()

    half = pd.DataFrame({"building_key": b["building_id"].iloc[: len(b) // 2], "kwh_year": 1000.0})
    with caplog.at_level("WARNING"):
        led = ng.energy.building_energy(b, solar=half)
    pv = led["pv_kwh_year"].to_numpy(dtype=float)
    assert np.isnan(pv[len(b) // 2:]).all() and (pv[: len(b) // 2] == 1000.0).all()
    assert any(f"{len(b) - len(b) // 2} of {len(b)} buildings are not in the solar result" in r.getMessage()
               for r in caplog.records)


def test_resilience_cli(district, tmp_path, capsys):
    out_path = tmp_path / "shelters.parquet"
    args = ["resilience", str(district.path), "--critical-load-kw", "1.5", "--battery-kwh", "13.5", "--evs", "1",
            "--max-hours", "96", "--spacing", "4", "--no-progress", "-o", str(out_path)]  # fmt: skip
    assert main(args) == 0
    t = gpd.read_parquet(out_path)
    assert len(t) == 2 and t.crs is not None
    assert (t["pv_median_h"] <= t["pv_battery_median_h"]).all()
    assert (t["pv_battery_median_h"] <= t["pv_battery_ev_median_h"]).all()
    assert np.isfinite(t["gain_h_per_battery_kwh"]).all()
    assert "2 shelters" in capsys.readouterr().out
    # an unknown shelter id: one clear error, no output file
    bad = tmp_path / "bad.parquet"
    assert main(["resilience", str(district.path), "--critical-load-kw", "1", "--shelters", "no-such-id", "-o", str(bad)]) == 1
    assert "no-such-id" in capsys.readouterr().err and not bad.exists()


def test_outputs_checked_before_work(district, tmp_path, capsys):
    bad = tmp_path / "ledger.xlsx"
    assert main(["energy", str(tmp_path / "missing.parquet"), "-o", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "unsupported ledger output format" in err and "missing.parquet" not in err  # the output is checked first
    assert main(["resilience", str(district.path), "--critical-load-kw", "1", "-o", str(tmp_path / "s.txt")]) == 1
    assert "unsupported shelter table output format" in capsys.readouterr().err


def test_energy_cli_grid_factor_options(district, tmp_path, capsys):
    """`energy` used TEPCO's factor for every city, as `solar` did before it gained the options;
    --emission-factor / --utility now choose it, and a bad one fails before any work."""
    import numazu_geo as ng
    from numazu_geo.co2 import grid_factor
    from numazu_geo.io import to_parquet

    src = to_parquet(ng.read_buildings(district.path, progress=False), tmp_path / "buildings.parquet")
    ledgers = {}
    for name, opts in (("tepco", []), ("own", ["--emission-factor", "0.25"]), ("chubu", ["--utility", "Chubu"])):
        assert main(["energy", str(src), "-o", str(tmp_path / f"{name}.parquet"), *opts]) == 0
        ledgers[name] = gpd.read_parquet(tmp_path / f"{name}.parquet")
    assert "grid factor 0.250 kg/kWh" in capsys.readouterr().out
    f_tepco, f_chubu = grid_factor()["kg_per_kwh"], grid_factor(utility="Chubu")["kg_per_kwh"]
    for name, factor in (("tepco", f_tepco), ("own", 0.25), ("chubu", f_chubu)):
        led = ledgers[name]
        elec = led["co2_basis"] == "electricity equivalent"  # household rows use a surveyed CO2 per home
        assert elec.sum() > 0 and led.loc[elec, "electricity_equiv_kwh_year"].sum() > 0
        assert led.loc[elec, "co2_kg_year"].sum() == pytest.approx(
            factor * led.loc[elec, "electricity_equiv_kwh_year"].sum(), rel=1e-9)
    assert main(["energy", str(src), "-o", str(tmp_path / "bad.parquet"), "--utility", "kansai"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--emission-factor" in err, err
    assert not (tmp_path / "bad.parquet").exists()
