"""Provenance that travels with results: where the numbers came from, in a form maps can print.

Every solar result carries a ``provenance`` dict (in ``SolarResult.attrs``, in
``result.buildings.attrs["provenance"]`` and ``result.faces.attrs["provenance"]``, hence in the
GeoParquet metadata that :func:`numazu_geo.io.to_parquet` writes, and in ``summary()``). Its keys
(all optional; missing keys are left out of the caption):

=============================  ===============================================================
``data_credit``                list of credit lines (PLATEAU, JMA normals, ...)
``climate_source``             label of the weather used (file name or the modelled default)
``climate_station``            e.g. ``"三島 Mishima (47657)"``: the station of the default climate
``climate_station_distance_km``  distance from the data's centre to that station
``climate_approximate``        True for the modelled default (JMA monthly normals)
``pv_model``                   e.g. ``"pvwatts"`` or ``"plateau"``
``pv_description``             one-line description of the PV chain
``emission_factor``            e.g. ``"TEPCO Energy Partner FY2024 adjusted 0.421 kg-CO2/kWh"``
``run_date``                   ISO date of the run (UTC)
``software``                   ``"numazu-geo 0.1.0"``
=============================  ===============================================================

:func:`provenance_caption` turns it into one short caption string (Japanese or English) for
maps and figures.
"""

from __future__ import annotations

import datetime as _dt

#: Separator between the parts of every caption (maps, figures, CLI summaries): one wording everywhere.
CAPTION_SEPARATOR = " · "

#: Credit line the JMA terms of use (政府標準利用規約 2.0) ask for, with the period used.
JMA_CREDIT = "出典：気象庁ホームページ（平年値 1991-2020）を加工して作成"

_LABELS = {
    "ja": {
        "climate": "気候",
        "approx": "概算",
        "measured": "実測ファイル",
        "station": "観測所",
        "pv": "発電モデル",
        "factor": "排出係数",
        "run": "計算日",
    },
    "en": {
        "climate": "Climate",
        "approx": "approximate",
        "measured": "weather file",
        "station": "station",
        "pv": "PV model",
        "factor": "emission factor",
        "run": "run",
    },
}


def run_date() -> str:
    """Today's date (UTC) in ISO form, as recorded in provenance."""
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


def software() -> str:
    from numazu_geo import __version__

    return f"numazu-geo {__version__}"


def with_emission_factor(prov: dict, attrs: dict | None) -> dict:
    """``prov`` plus ``emission_factor`` from ``attrs["co2_factor"]`` (set by
    :func:`numazu_geo.co2.add_avoided_co2`), e.g. "TEPCO Energy Partner FY2024 adjusted 0.421 kg-CO2/kWh"."""
    factor = (attrs or {}).get("co2_factor")
    if isinstance(factor, dict) and "kg_per_kwh" in factor:
        label = str(factor.get("label", "")).split(" (", 1)[0]
        prov = {**prov, "emission_factor": f"{label} {float(factor['kg_per_kwh']):.3f} kg-CO2/kWh".strip()}
    return prov


def provenance_of(obj) -> dict:
    """The provenance dict of a result, a GeoDataFrame (``attrs["provenance"]``) or a dict.

    A dict that already looks like provenance is returned as is; a dict of attrs holding a
    ``"provenance"`` key gives that value (with the emission factor of ``attrs["co2_factor"]``).
    Anything without provenance gives ``{}``.
    """
    if obj is None:
        return {}
    if isinstance(obj, dict):
        inner = obj.get("provenance")
        return with_emission_factor(dict(inner), obj) if isinstance(inner, dict) else dict(obj)
    prov = getattr(obj, "provenance", None)
    if isinstance(prov, dict):
        return dict(prov)
    attrs = getattr(obj, "attrs", None)
    if isinstance(attrs, dict):
        return provenance_of(attrs) if "provenance" in attrs else {}
    return {}


def provenance_caption(result_or_attrs, lang: str = "ja", *, credits: bool = True) -> str:
    """One caption string naming climate source, PV model, emission factor, run date and credits.

    Parameters
    ----------
    result_or_attrs : a :class:`~numazu_geo.solar.SolarResult`, a GeoDataFrame whose ``attrs``
        hold ``"provenance"`` (e.g. read back from GeoParquet), an attrs dict, or a provenance dict.
    lang : ``"ja"`` (default) or ``"en"``.
    credits : append the data credit lines.

    Example (English)::

        Climate: approximate, JMA normals, station 三島 Mishima (47657) 6.1 km · PV model: pvwatts ·
        emission factor: TEPCO Energy Partner FY2024 adjusted 0.421 kg-CO2/kWh · run 2026-12-01 ·
        出典：気象庁ホームページ（平年値 1991-2020）を加工して作成
    """
    if lang not in _LABELS:
        raise ValueError(f"provenance_caption: lang must be 'ja' or 'en', not {lang!r}")
    p = provenance_of(result_or_attrs)
    t = _LABELS[lang]
    parts = []
    station = p.get("climate_station")
    if station or p.get("climate_source"):
        if p.get("climate_approximate"):
            kind = t["approx"] + ("（気象庁平年値）" if lang == "ja" else ", JMA normals")
        else:
            kind = f"{t['measured']} {p.get('climate_source', '')}".strip()
        text = f"{t['climate']}: {kind}"
        if station:
            dist = p.get("climate_station_distance_km")
            dist_text = f" {float(dist):.1f} km" if dist is not None else ""
            text += f", {t['station']} {station}{dist_text}"
        parts.append(text)
    if p.get("pv_model"):
        parts.append(f"{t['pv']}: {p['pv_model']}")
    if p.get("emission_factor"):
        parts.append(f"{t['factor']}: {p['emission_factor']}")
    if p.get("run_date"):
        parts.append(f"{t['run']} {p['run_date']}")
    if credits:
        for line in p.get("data_credit") or []:
            if line and line not in parts:
                parts.append(str(line))
    return CAPTION_SEPARATOR.join(parts)


__all__ = ["CAPTION_SEPARATOR", "JMA_CREDIT", "provenance_caption", "provenance_of", "run_date", "software", "with_emission_factor"]
