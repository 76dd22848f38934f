"""numazu_geo.energy: ledger, hourly balance, batteries and EVs, shelter blackout resilience."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from numazu_geo import energy
from numazu_geo.energy import EV, Battery, EnergyInputError

HOURS = pd.date_range("2023-01-01 00:30", periods=8760, freq="h", tz="Asia/Tokyo")


def _pv(peak_kw=5.0, index=HOURS):
    """A clear-day PV shape (half sine from 6 to 18 h), larger in summer."""
    day = np.clip(np.sin((index.hour + 0.5 - 6) / 12 * np.pi), 0, None)
    season = 0.75 + 0.25 * np.cos((index.dayofyear - 172) / 365 * 2 * np.pi)
    return pd.Series(peak_kw * day * season, index=index)


def _load(index=HOURS, seed=0):
    rng = np.random.default_rng(seed)
    return pd.Series(1.0 + 2.0 * rng.random(len(index)), index=index)


# ---------------------------------------------------------------------------------------------
# hourly balance


@pytest.mark.parametrize(
    "battery, export_limit",
    [(None, None), (Battery(10.0, 3.0, 0.9, 0.5), None), (Battery(10.0, 3.0, 0.81, 0.0), 1.0), (Battery(5.0, 10.0, 1.0), 0.0)],
)
def test_balance_closes_every_hour(battery, export_limit):
    pv, load = _pv(), _load()
    b = energy.hourly_balance(pv, load, battery, export_limit_kw=export_limit)
    assert tuple(b.columns) == energy.BALANCE_COLUMNS
    assert b.index.equals(HOURS)
    assert np.allclose(b["pv_kwh"], b["self_consumed_kwh"] + b["charge_kwh"] + b["export_kwh"] + b["curtailed_kwh"], atol=1e-9)
    assert np.allclose(b["load_kwh"], b["self_consumed_kwh"] + b["discharge_kwh"] + b["import_kwh"], atol=1e-9)
    assert (b.drop(columns="soc_kwh").to_numpy() >= -1e-12).all()
    if battery is None:
        assert (b[["charge_kwh", "discharge_kwh", "soc_kwh"]].to_numpy() == 0).all()
    else:
        assert b["soc_kwh"].between(-1e-9, battery.capacity_kwh + 1e-9).all()
        assert (b[["charge_kwh", "discharge_kwh"]].to_numpy() <= battery.power_kw + 1e-9).all()
        assert ((b["charge_kwh"] > 0) & (b["discharge_kwh"] > 0)).sum() == 0
        # the state of charge follows the flows with the split efficiency
        eta = np.sqrt(battery.round_trip_efficiency)
        soc0 = battery.capacity_kwh * battery.initial_soc_frac
        expect = soc0 + np.cumsum(b["charge_kwh"] * eta - b["discharge_kwh"] / eta)
        assert np.allclose(b["soc_kwh"], expect, atol=1e-6)
        assert b["charge_kwh"].sum() > 0 and b["discharge_kwh"].sum() > 0
    if export_limit is not None:
        assert (b["export_kwh"] <= export_limit + 1e-12).all()
        assert b["curtailed_kwh"].sum() > 0
    s = energy.balance_summary(b)
    for col in energy.BALANCE_COLUMNS[:-1]:
        assert s[col] == pytest.approx(b[col].sum())  # annual sums are the hourly sums
    assert 0 < s["self_sufficiency_frac"] <= 1 and 0 < s["self_consumption_frac"] <= 1
    assert s["battery_losses_kwh"] >= -1e-6
    if battery is not None and battery.round_trip_efficiency == 1.0:
        assert s["battery_losses_kwh"] == pytest.approx(0.0, abs=1e-6)


def test_battery_raises_self_sufficiency_and_default_comes_from_the_data_sheet():
    pv, load = _pv(), _load()
    none = energy.balance_summary(energy.hourly_balance(pv, load))
    small = energy.balance_summary(energy.hourly_balance(pv, load, Battery(5.0, 2.5, 0.9)))
    big = energy.balance_summary(energy.hourly_balance(pv, load, Battery(20.0, 10.0, 0.9)))
    assert none["self_sufficiency_frac"] < small["self_sufficiency_frac"] < big["self_sufficiency_frac"]
    pw = Battery.default()
    assert (pw.capacity_kwh, pw.power_kw, pw.round_trip_efficiency) == (13.5, 5.0, 0.9)
    specs = energy.storage_specs()
    assert specs["source"].notna().all() and specs["year"].notna().all() and specs["status"].isin(["P", "S"]).all()
    assert Battery.from_spec("Tesla Powerwall 2", units=2).capacity_kwh == 27.0


def test_bad_input_gives_one_clear_error():
    pv, load = _pv(), _load()
    with pytest.raises(EnergyInputError, match="load_kwh has 8759 hours but pv_kwh has 8760"):
        energy.hourly_balance(pv, load.iloc[:-1])
    with pytest.raises(EnergyInputError, match="time zone UTC"):
        energy.hourly_balance(pv, load.tz_convert("UTC"))
    with pytest.raises(EnergyInputError, match="time steps must all be 1 hour"):
        half = pd.Series(1.0, index=pd.date_range("2023-01-01", periods=100, freq="30min", tz="Asia/Tokyo"))
        energy.hourly_balance(half, half)
    with pytest.raises(EnergyInputError, match="cover different hours"):
        energy.hourly_balance(pv, pd.Series(load.to_numpy(), index=HOURS + pd.Timedelta(hours=1)))
    bad = load.copy()
    bad.iloc[5] = -1.0
    with pytest.raises(EnergyInputError, match="load_kwh: 1 negative value"):
        energy.hourly_balance(pv, bad)
    bad.iloc[5] = np.nan
    with pytest.raises(EnergyInputError, match="load_kwh: 1 missing"):
        energy.hourly_balance(pv, bad)
    with pytest.raises(EnergyInputError, match="zero power"):
        Battery(10.0, 0.0, 0.9)
    with pytest.raises(EnergyInputError, match="round_trip_efficiency"):
        Battery(10.0, 5.0, 1.2)
    with pytest.raises(EnergyInputError, match="zero power"):
        EV(40.0, 0.0, 0.9)
    with pytest.raises(EnergyInputError, match="critical_load_kwh has 2 hours but pv_kwh has 3"):
        energy.outage_hours([1.0, 1.0, 1.0], np.array([1.0, 1.0]))


# ---------------------------------------------------------------------------------------------
# outage autonomy


def test_no_pv_no_storage_is_zero_hours():
    h = energy.outage_hours(pd.Series(0.0, index=HOURS), 1.0)
    assert (h == 0).all() and h.index.equals(HOURS) and h.name == "autonomy_h"


def test_constant_case_is_exact():
    """Constant PV p and load L > p, battery C (power enough, lossless): floor(C / (L - p)) hours;
    with round-trip efficiency r: floor(C * sqrt(r) / (L - p)); EVs add their energy."""
    n = 500
    for p, load, cap, eff in [(0.0, 2.0, 10.0, 1.0), (0.5, 2.0, 10.0, 1.0), (0.3, 1.7, 13.5, 0.9), (1.0, 3.0, 7.0, 0.64)]:
        h = energy.outage_hours(np.full(n, p), np.full(n, load), Battery(cap, 10.0, eff))
        expect = int(np.floor(cap * np.sqrt(eff) / (load - p) + 1e-9))
        assert (h == expect).all(), (p, load, cap, eff, h.iloc[0], expect)
    # PV alone covers the load: autonomy reaches max_hours (censored)
    h = energy.outage_hours(np.full(n, 2.0), 2.0, max_hours=100)
    assert (h == 100).all() and h.attrs["censored_frac"] == 1.0
    # 2 cars of 40 kWh through 6 kW V2H at 90 %: 2 * 40 * 0.9 = 72 kWh at 3 kW deficit = 24 h
    ev = EV.from_spec("Nissan LEAF (40 kWh)", "Nichicon EV Power Station (V2H)", count=2)
    assert ev.energy_kwh == pytest.approx(72.0)
    assert (energy.outage_hours(np.zeros(n), 3.0, evs=ev) == 24).all()
    # V2H power limits: 1 car at 6 kW cannot serve 7 kW at all
    assert (energy.outage_hours(np.zeros(n), 7.0, evs=EV(40.0, 6.0, 1.0)) == 0).all()
    # battery 10 kWh then EV 72 kWh at 2 kW: 5 h + 36 h
    assert (energy.outage_hours(np.zeros(n), 2.0, Battery(10.0, 5.0, 1.0), evs=ev) == 41).all()


def test_autonomy_monotone_in_battery_size_and_report():
    pv, crit = _pv(3.0), 1.2
    prev = None
    for cap in (0.0, 2.0, 5.0, 10.0, 20.0, 40.0):
        h = energy.outage_hours(pv, crit, Battery(cap, 5.0, 0.9) if cap else None, max_hours=24 * 14)
        if prev is not None:
            assert (h >= prev).all()
        prev = h
    rep = energy.autonomy_report(prev)
    assert rep["worst_h"] <= rep["worst_10pct_h"] <= rep["median_h"]
    assert rep["worst_season"] in ("winter", "spring", "summer", "autumn")
    assert set(rep["median_h_by_season"]) == {"winter", "spring", "summer", "autumn"}
    # with this shape (smallest PV at the winter solstice) the worst start is in winter
    small = energy.autonomy_report(energy.outage_hours(pv, crit, Battery(5.0, 5.0, 0.9), max_hours=24 * 14))
    assert small["worst_season"] == "winter"


def test_battery_size_needed():
    pv, crit = _pv(3.0), 1.2
    size = energy.battery_size_needed(pv, crit, 72, share=0.9, tol_kwh=0.05)
    assert 0 < size < 72 * 1.2 / 0.9
    eff = 0.9  # the default data-sheet battery's efficiency
    ok = energy.outage_hours(pv, crit, Battery(size, 1.2, eff), max_hours=72)
    assert (ok >= 72).mean() >= 0.9
    under = energy.outage_hours(pv, crit, Battery(size - 0.1, 1.2, eff), max_hours=72)
    assert (under >= 72).mean() < 0.9
    assert energy.battery_size_needed(pv, crit, 72, share=1.0) >= size
    # constant case: 10 h without PV at 2 kW, lossless: 20 kWh
    assert energy.battery_size_needed(np.zeros(100), 2.0, 10, round_trip_efficiency=1.0, tol_kwh=1e-3) == pytest.approx(20.0, abs=2e-3)
    # default duration: 72 h from data/energy_defaults.csv
    assert energy.energy_default("outage_target_h") == 72
    with pytest.raises(EnergyInputError, match="no official figure"):
        energy.energy_default("shelter_critical_load_kw")


def test_outage_is_fast_for_a_year_of_start_hours():
    import time

    pv = _pv(4.0)
    t0 = time.perf_counter()
    h = energy.outage_hours(pv, 1.0, Battery(20.0, 5.0, 0.9), evs=EV(40.0, 6.0, 0.9, count=2), max_hours=24 * 7)
    assert len(h) == 8760
    assert time.perf_counter() - t0 < 5.0  # a loose guard; the figure is in benchmarks/RESULTS.md


# ---------------------------------------------------------------------------------------------
# ledger


@pytest.fixture(scope="module")
def district_buildings(tmp_path_factory):
    import numazu_geo as ng

    d = ng.make_district(tmp_path_factory.mktemp("energy") / "d", n_buildings=120, seed=4, progress=False)
    return ng.read_buildings(d.path, progress=False)


def test_intensity_table_has_sources_and_reasons():
    t = energy.intensity_table()
    has = t["primary_energy_mj_m2_year"].notna() | t["co2_kg_per_building_year"].notna()
    assert has.sum() >= 4
    assert t.loc[has, "source"].notna().all() and t.loc[has, "year"].notna().all()
    assert t.loc[has, "status"].isin(["P", "S"]).all()
    assert t.loc[~has, "reason"].str.len().gt(10).all()
    checked = t["check_low"].notna()
    assert t.loc[checked, "check_source"].notna().all()


def test_ledger_on_sample_district(district_buildings):
    b = district_buildings
    led = energy.building_energy(b)
    assert set(energy.LEDGER_COLUMNS) <= set(led.columns) and len(led) == len(b)
    t = energy.intensity_table().set_index("usage_code")
    # emission intensities per m2 fall within the cited ranges (converted with the same factors)
    factor = led.attrs["energy"]["emission_factor_kg_per_kwh"]
    pf = led.attrs["energy"]["electricity_primary_mj_per_kwh"]
    assert factor == pytest.approx(0.421) and pf == pytest.approx(9.76)
    per_m2 = led[led["energy_basis"] == "primary_mj_per_m2"].dropna(subset=["co2_kg_m2_year"])
    assert len(per_m2) > 10
    for code, grp in per_m2.groupby("usage_code"):
        lo, hi = t.loc[code, ["check_low", "check_high"]]
        mj = grp["co2_kg_m2_year"] / factor * pf
        assert mj.between(lo, hi).all(), code
    office = per_m2[per_m2["usage_code"] == "401"]
    # the Tokyo mid-size tenant benchmark is 78.1 kg-CO2/m2 (P); the DECC office value gives 74.4
    assert office["co2_kg_m2_year"].iloc[0] == pytest.approx(1724 / 9.76 * 0.421)
    # detached houses: the household survey's 3.47 t per household
    houses = led[led["usage_code"] == "411"]
    assert len(houses) and (houses["co2_kg_year"] == 3470.0).all() and (houses["co2_basis"] == "household survey").all()
    # without a citable value: NaN with a reason, never a number
    nan = led[led["usage_code"].isin(["404", "412", "413", "414"])]
    assert len(nan) and nan["co2_kg_year"].isna().all()
    assert (nan["energy_reason"].str.len() > 10).all()
    assert (led.loc[led["co2_kg_year"].notna(), "energy_reason"] == "").all()
    assert led["electricity_kwh_year"].isna().all() and led["fuel_kwh_year"].isna().all()
    # floor area: PLATEAU's total where given, else footprint x storeys, flagged
    b2 = b.copy()
    b2.loc[b2.index[:5], "total_floor_area_m2"] = np.nan
    led2 = energy.building_energy(b2)
    est = led2["floor_area_estimated"].to_numpy()
    assert est[:5].all() and not est[5:].any()
    expect = b2.geometry.area.to_numpy()[:5] * b2["storeys_above_ground"].astype(float).to_numpy()[:5]
    assert np.allclose(led2["floor_area_m2"].to_numpy()[:5], expect)
    with pytest.raises(EnergyInputError, match="geographic CRS"):
        energy.building_energy(b2.to_crs(4326))
    if b["total_floor_area_m2"].notna().all():  # PLATEAU's floor areas need no footprint: any CRS will do
        geo = energy.building_energy(b.to_crs(4326))
        assert np.allclose(geo["co2_kg_year"].fillna(-1), led["co2_kg_year"].fillna(-1))


def test_ledger_with_solar_and_summaries(district_buildings):
    b = district_buildings
    keys = b["building_id"].astype(object)
    solar = pd.DataFrame({"building_key": keys, "kwh_year": np.linspace(0, 10000, len(b))})
    led = energy.building_energy(b, solar=solar)
    ok = led["electricity_equiv_kwh_year"] > 0
    assert np.allclose(led.loc[ok, "pv_coverage_frac"], led.loc[ok, "pv_kwh_year"] / led.loc[ok, "electricity_equiv_kwh_year"])
    assert led.loc[~ok, "pv_coverage_frac"].isna().all()
    by_usage = energy.ledger_summary(led, "usage")
    assert by_usage["n_buildings"].sum() == len(b)
    assert by_usage["co2_t_year"].sum() == pytest.approx(led["co2_kg_year"].sum() / 1000)
    assert by_usage["n_with_co2"].sum() == led["co2_kg_year"].notna().sum()
    by_mesh = energy.ledger_summary(led, "mesh")
    assert by_mesh["n_buildings"].sum() == len(b)
    assert by_mesh["mesh3"].str.len().eq(8).all()
    assert by_mesh["co2_t_year"].sum() == pytest.approx(by_usage["co2_t_year"].sum())
    with pytest.raises(KeyError, match="by must be"):
        energy.ledger_summary(led, "nope")


def test_shelters_by_usage_and_id(district_buildings):
    b = district_buildings.copy()
    assert len(energy.select_shelters(b)) == (b["usage_code"] == "422").sum()
    ids = list(b["building_id"].iloc[:2])
    assert list(energy.select_shelters(b, ids)["building_id"]) == ids
    with pytest.raises(EnergyInputError, match="not found.*'no-such-building'"):
        energy.select_shelters(b, [ids[0], "no-such-building"])


def test_shelter_table_ranks_by_gain():
    pv = pd.DataFrame({"A": _pv(2.0), "B": _pv(8.0), "C": _pv(0.0)})
    t = energy.shelter_table(pv, 1.0, Battery(10.0, 5.0, 0.9), EV(40.0, 6.0, 0.9), max_hours=24 * 7)
    assert list(t["building_key"]) == ["A", "B", "C"]
    assert (t["pv_median_h"] <= t["pv_battery_median_h"]).all()
    assert (t["pv_battery_median_h"] <= t["pv_battery_ev_median_h"]).all()
    assert t.set_index("building_key").loc["C", "pv_median_h"] == 0
    assert t.set_index("building_key").loc["C", "pv_battery_median_h"] == 9  # 10 kWh * sqrt(0.9) / 1 kW
    assert (t["gain_h_per_battery_kwh"] >= 0).all()
