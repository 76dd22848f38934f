"""Japanese and English labels, units and number formats for the columns shown on maps and figures.

One table so that the map tooltips, the legend and the matplotlib figures always call a column by
the same name. ``lang`` is ``"ja"`` (default: the maps are made for Japanese classrooms and city
offices) or ``"en"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LANGS = ("ja", "en")


@dataclass(frozen=True)
class FieldLabel:
    ja: str
    en: str
    unit_ja: str = ""
    unit_en: str = ""
    fmt: str = "{:,.1f}"  # number format; percentages use scale=100
    scale: float = 1.0

    def name(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en

    def unit(self, lang: str) -> str:
        return self.unit_ja if lang == "ja" else self.unit_en

    def title(self, lang: str) -> str:
        unit = self.unit(lang)
        return f"{self.name(lang)} ({unit})" if unit else self.name(lang)

    def format(self, value, lang: str, *, with_unit: bool = True) -> str:
        text = format_number(value, self.fmt, self.scale)
        unit = self.unit(lang)
        if with_unit and unit and text != "-":
            sep = "" if unit in {"%", "年", "階"} else " "
            return f"{text}{sep}{unit}"
        return text


FIELDS: dict[str, FieldLabel] = {
    "name": FieldLabel("名称", "Name", fmt="{}"),
    "address": FieldLabel("住所", "Address", fmt="{}"),
    "building_id": FieldLabel("建物ID", "Building ID", fmt="{}"),
    "usage": FieldLabel("用途", "Usage", fmt="{}"),
    "usage_en": FieldLabel("用途", "Usage", fmt="{}"),
    "measured_height_m": FieldLabel("高さ", "Height", "m", "m"),
    "height_m": FieldLabel("高さ", "Height", "m", "m"),
    "storeys_above_ground": FieldLabel("地上階数", "Storeys", "階", "", fmt="{:,.0f}"),
    "year_of_construction": FieldLabel("建築年", "Year built", "年", "", fmt="{:.0f}"),
    "total_floor_area_m2": FieldLabel("延床面積", "Floor area", "m²", "m²", fmt="{:,.0f}"),
    "flood_depth_m": FieldLabel("想定浸水深", "Flood depth", "m", "m"),
    "tsunami_depth_m": FieldLabel("津波浸水深", "Tsunami depth", "m", "m"),
    "kwh_m2_year": FieldLabel("屋根の年間日射量", "Roof irradiation", "kWh/m²/年", "kWh/m²/yr", fmt="{:,.0f}"),
    "kwh_year": FieldLabel("年間発電量", "PV yield", "kWh/年", "kWh/yr", fmt="{:,.0f}"),
    "kw": FieldLabel("設置可能容量", "PV capacity", "kW", "kW"),
    "co2_avoided_kg_year": FieldLabel("CO2削減量", "CO2 avoided", "kg-CO2/年", "kg-CO2/yr", fmt="{:,.0f}"),
    "roof_area_m2": FieldLabel("屋根面積", "Roof area", "m²", "m²", fmt="{:,.0f}"),
    "usable_area_m2": FieldLabel("設置可能面積", "Usable roof area", "m²", "m²", fmt="{:,.0f}"),
    "area_m2": FieldLabel("面積", "Area", "m²", "m²", fmt="{:,.1f}"),
    "shading_loss": FieldLabel("影による損失", "Shading loss", "%", "%", fmt="{:,.0f}", scale=100),
    "sky_view_factor": FieldLabel("天空率", "Sky view factor", "", "", fmt="{:.2f}"),
    "tilt_deg": FieldLabel("傾斜", "Tilt", "°", "°", fmt="{:.0f}"),
    "azimuth_deg": FieldLabel("方位角（北=0°）", "Azimuth (N=0°)", "°", "°", fmt="{:.0f}"),
    # green view: percentages 0-100, as green_view_index / green_view_survey return them
    "gvi": FieldLabel("緑視率", "Green view index", "%", "%", fmt="{:.0f}"),
    "sky_share": FieldLabel("空の割合", "Sky share", "%", "%", fmt="{:.0f}"),
    "sky_view": FieldLabel("空の割合", "Sky share", "%", "%", fmt="{:.0f}"),  # deprecated name of sky_share
    "building_view": FieldLabel("建物の割合", "Building share", "%", "%", fmt="{:.0f}"),
    "co2_kg": FieldLabel("CO2排出量", "CO2", "kg-CO2", "kg-CO2", fmt="{:,.1f}"),
    "distance_km": FieldLabel("距離", "Distance", "km", "km", fmt="{:,.2f}"),
    "mode": FieldLabel("移動手段", "Mode", fmt="{}"),
    # energy ledger and shelter resilience (numazu_geo.energy)
    "floor_area_m2": FieldLabel("延床面積", "Floor area", "m²", "m²", fmt="{:,.0f}"),
    "co2_kg_year": FieldLabel("CO2排出量", "CO2 emitted", "kg-CO2/年", "kg-CO2/yr", fmt="{:,.0f}"),
    "co2_kg_m2_year": FieldLabel("床面積あたりCO2排出量", "CO2 per floor area", "kg-CO2/m²/年", "kg-CO2/m²/yr", fmt="{:,.1f}"),
    "primary_energy_gj_year": FieldLabel("一次エネルギー消費量", "Primary energy", "GJ/年", "GJ/yr", fmt="{:,.0f}"),
    "pv_coverage_frac": FieldLabel("屋根の太陽光でまかなえる割合", "Share covered by own rooftop PV", "%", "%", fmt="{:,.0f}", scale=100),
    "energy_reason": FieldLabel("推計できない理由", "Why no estimate", fmt="{}"),
    "pv_median_h": FieldLabel("停電時の自立時間（太陽光のみ・中央値）", "Autonomy, PV only (median)", "時間", "h", fmt="{:,.0f}"),
    "pv_battery_median_h": FieldLabel("停電時の自立時間（太陽光＋蓄電池・中央値）", "Autonomy, PV + battery (median)", "時間", "h", fmt="{:,.0f}"),
    "pv_battery_ev_median_h": FieldLabel("停電時の自立時間（太陽光＋蓄電池＋EV・中央値）", "Autonomy, PV + battery + EVs (median)", "時間", "h", fmt="{:,.0f}"),
    "pv_battery_worst_10pct_h": FieldLabel("自立時間（太陽光＋蓄電池・下位10%）", "Autonomy, PV + battery (worst 10 %)", "時間", "h", fmt="{:,.0f}"),
    "gain_h_per_battery_kwh": FieldLabel("蓄電池1kWhあたりの自立時間の増分", "Autonomy gained per battery kWh", "時間/kWh", "h/kWh", fmt="{:,.2f}"),
    "battery_kwh_needed": FieldLabel("必要な蓄電池容量", "Battery needed", "kWh", "kWh", fmt="{:,.0f}"),
    # trips from numazu_geo.mobility
    "distance_m": FieldLabel("距離", "Distance", "m", "m", fmt="{:,.0f}"),
    "co2_credit_g": FieldLabel("CO2削減（ポイント）", "CO2 credit (points)", "g-CO2", "g-CO2", fmt="{:,.0f}"),
    "speed_kmh_median": FieldLabel("速さ（中央値）", "Median speed", "km/h", "km/h", fmt="{:,.1f}"),
}

#: Travel modes of numazu_geo.mobility in Japanese and English.
MODE_NAMES = {"walk": ("徒歩", "Walk"), "bicycle": ("自転車", "Bicycle"), "car": ("車", "Car"),
              "bus": ("バス", "Bus"), "train": ("電車", "Train")}


def mode_name(mode, lang: str) -> str:
    """A travel mode's name in ``lang`` (unknown modes unchanged)."""
    names = MODE_NAMES.get(str(mode))
    return str(mode) if names is None else names[0 if lang == "ja" else 1]

#: Column names used as the feature's heading in a tooltip, in order of preference.
TITLE_COLUMNS = ("name", "building_id", "gml_id", "face_id", "path")


def field(column: str) -> FieldLabel:
    """The label of ``column``; unknown columns get their own name in both languages."""
    found = FIELDS.get(column)
    if found is not None:
        return found
    return FieldLabel(column, column, fmt="{:,.3g}")


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be 'ja' or 'en', got {lang!r}")
    return lang


def is_missing(value) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(value, float) and math.isnan(value)


def format_number(value, fmt: str = "{:,.1f}", scale: float = 1.0) -> str:
    """Format ``value`` for display; missing values become ``"-"``."""
    if is_missing(value):
        return "-"
    if fmt == "{}":
        return str(value)
    try:
        return fmt.format(float(value) * scale)
    except (TypeError, ValueError):
        return str(value)
