"""Who made the numbers on a map: data credit lines, place names and the provenance caption.

PLATEAU's licence asks every use to credit 「3D都市モデル（Project PLATEAU）<city>（<year>）, 国土交通省」
(https://www.mlit.go.jp/plateau/site-policy/). The city comes from the buildings' own municipality
codes (``city_code``, i-UR ``uro:city``) looked up in the dataset's ``Common_localPublicAuthorities.xml``
or the built-in copy (:func:`numazu_geo.citygml.codelists.municipality_names`); the year comes
from the dataset's name where it says one (``13100_tokyo23-ku_2022_citygml_1_op``,
``osaka27120_2024_51357309_bldg...``). A map of several cities credits each of them. Data written
by :func:`numazu_geo.sample.make_district` is synthetic and credited as such.

:func:`provenance` collects what a result carries (data credit, climate source and whether it is
approximate, model, run date) and :func:`caption` turns it into the one line printed on every map
and figure; it is the single place that reads those ``attrs``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import re
import zipfile
from pathlib import Path

import pandas as pd

from numazu_geo.provenance import CAPTION_SEPARATOR

log = logging.getLogger(__name__)

#: First line of every CityGML file the sample generator writes (checked in a file's first bytes).
SYNTHETIC_MARKER = "numazu-geo synthetic sample district"
#: Credit line for maps of the synthetic sample district (numazu_geo.sample): not PLATEAU data.
SAMPLE_ATTRIBUTION = "合成サンプル地区（PLATEAU v4 形式, numazu-geo 生成）/ synthetic sample district in PLATEAU v4 format"

# official dataset names: 22203_numazu-shi_city_2023_citygml_1_op, 13100_tokyo23-ku_2022_citygml_1_3_op
_DATASET_YEAR_RE = re.compile(r"(?<![0-9])([0-9]{5})_[a-z0-9-]+(?:_[a-z]+)?_(20[0-9]{2})_citygml", re.IGNORECASE)
# the project's sample file names: tokyo13111_2022_53392633_bldg..., suginami13115_2024_53394503_tran...
_FILE_YEAR_RE = re.compile(r"[a-z]([0-9]{5})_(20[0-9]{2})_[0-9a-z]+_", re.IGNORECASE)

#: Longest climate-source text in a caption (the first clause of the source is kept).
CLIMATE_CHARS = 60

_TXT = {
    "data": {"ja": "データ", "en": "Data"},
    "climate": {"ja": "気象", "en": "Climate"},
    "approx": {"ja": "概算値・実測ではない", "en": "approximate, not measured"},
    "measured": {"ja": "観測・実データ", "en": "measured"},
    "model": {"ja": "モデル", "en": "Model"},
    "made": {"ja": "作成", "en": "Made"},
    "shading_on": {"ja": "影あり", "en": "with shading"},
    "shading_off": {"ja": "影なし", "en": "no shading"},
}


def zip_parts(label: str | None) -> tuple[str, str] | None:
    """(zip path, member) of a zip member's ``source_file`` address (``zip://<member>::<zip>`` or the
    older ``<zip>!<member>``), else None."""
    if not label:
        return None
    text = str(label)
    if text.startswith("zip://") and "::" in text:
        member, zip_path = text[len("zip://"):].split("::", 1)
        return (zip_path[len("file://"):] if zip_path.startswith("file://") else zip_path), member
    head, sep, member = text.partition("!")
    if sep and head.lower().endswith(".zip"):
        return head, member
    return None


def dataset_year(label: str | None) -> int | None:
    """The survey year a PLATEAU dataset's name states (``..._2023_citygml...``), else None."""
    if not label:
        return None
    text = str(label).replace("\\", "/")
    from numazu_geo.citygml.sources import source_name

    match = _DATASET_YEAR_RE.search(text) or _FILE_YEAR_RE.search(source_name(text))
    if match is None:
        match = _FILE_YEAR_RE.search(text)
    return int(match.group(2)) if match else None


@functools.lru_cache(maxsize=4096)
def is_synthetic_source(label: str | None) -> bool:
    """True when the CityGML file ``label`` (a path, or ``zip!member``) was written by the sample generator."""
    if not label:
        return False
    text = str(label)
    if "numazu-shi_sample" in text:
        return True
    try:
        parts = zip_parts(text)
        if parts is not None:
            zip_path, member = parts
            with zipfile.ZipFile(zip_path) as zf, zf.open(member) as fh:
                head = fh.read(400)
        else:
            with open(text, "rb") as fh:
                head = fh.read(400)
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return SYNTHETIC_MARKER.encode() in head


@functools.lru_cache(maxsize=4096)
def _codelist_dirs(label: str) -> tuple[str, ...]:
    """Code-list folders of the dataset holding the file ``label`` (nearest first), if they exist."""
    from numazu_geo.citygml.sources import GMLSource, find_codelist_dirs

    try:
        parts = zip_parts(label)
        if parts is not None:
            zip_path, member = parts
            src = GMLSource(member, 0, zip_path)
        else:
            if not Path(label).exists():
                return ()
            src = GMLSource(label, 0)
        return tuple(find_codelist_dirs(src))
    except (OSError, zipfile.BadZipFile):
        return ()


def _column(gdf, name: str) -> list:
    if gdf is None or name not in getattr(gdf, "columns", ()):
        return []
    return gdf[name].tolist()


def _city_code_of(code, building_id, source) -> str | None:
    for value in (code, building_id):
        if isinstance(value, str) and value:
            m = re.match(r"^([0-9]{5})", value)
            if m:
                return m.group(1)
    if source:
        from numazu_geo.citygml.features import city_code_from_path

        return city_code_from_path(source)
    return None


def cities(gdf, *, codelists=None) -> pd.DataFrame:
    """One row per (municipality, dataset year) in ``gdf``: ``city_code``, ``name`` (full, with
    prefecture), ``short_name``, ``year`` (Int64, NA when the dataset does not say), ``n`` rows,
    ``synthetic`` (bool). Sorted by ``n``, largest first."""
    from numazu_geo.citygml.codelists import municipality_names, short_municipality_name

    n = len(gdf) if gdf is not None else 0
    codes, ids, sources = _column(gdf, "city_code"), _column(gdf, "building_id"), _column(gdf, "source_file")
    raw = pd.DataFrame({
        "code": pd.Series(codes or [None] * n, dtype=object),
        "id5": pd.Series(ids or [None] * n, dtype=object).map(lambda v: v[:5] if isinstance(v, str) else None),
        "source": pd.Series(sources or [None] * n, dtype=object).map(lambda v: v if isinstance(v, str) and v else None),
    })
    # work on the distinct (code, id prefix, file) combinations: a city has millions of rows, a few files
    frame = raw.groupby(["code", "id5", "source"], dropna=False, sort=False).size().reset_index(name="rows")
    frame["city_code"] = [_city_code_of(c, b, s) for c, b, s in zip(frame["code"], frame["id5"], frame["source"])]
    frame["year"] = pd.array([dataset_year(s) for s in frame["source"]], dtype="Int64")
    frame["synthetic"] = [is_synthetic_source(s) for s in frame["source"]]
    if gdf is not None and getattr(gdf, "attrs", {}).get("synthetic"):
        frame["synthetic"] = True
    locations: list[str] = [str(codelists)] if codelists is not None else []
    for src in frame["source"].dropna().unique():
        locations += [d for d in _codelist_dirs(src) if d not in locations]
    names = municipality_names(frame["city_code"].dropna().unique(), locations)
    grouped = (frame.assign(city_code=frame["city_code"].fillna(""))
               .groupby(["city_code", "year", "synthetic"], dropna=False)["rows"].sum().reset_index(name="n"))
    grouped["name"] = [names.get(c) for c in grouped["city_code"]]
    grouped["short_name"] = [short_municipality_name(c, names[c], locations) if c in names else None
                             for c in grouped["city_code"]]
    grouped["city_code"] = grouped["city_code"].replace("", None)
    return grouped.sort_values("n", ascending=False, kind="stable").reset_index(drop=True)[
        ["city_code", "name", "short_name", "year", "n", "synthetic"]]


def plateau_attribution(city: str, year: int | str | None = None) -> str:
    """The PLATEAU credit line, e.g. 「3D都市モデル（Project PLATEAU）沼津市（2023年度）, 国土交通省」.

    Without a year (the dataset does not say) the year's brackets are left out rather than guessed.
    """
    if year is None or (not isinstance(year, str) and pd.isna(year)) or str(year) == "":
        return f"3D都市モデル（Project PLATEAU）{city}, 国土交通省"
    year_text = f"{year}年度" if str(year).isdigit() else str(year)
    return f"3D都市モデル（Project PLATEAU）{city}（{year_text}）, 国土交通省"


def data_credits(gdf, *, codelists=None) -> list[str]:
    """The credit lines for the buildings (or features) in ``gdf``: one per city and year; the
    synthetic sample's own line for generated data. Empty when nothing tells where the data is from."""
    if gdf is None or len(gdf) == 0:
        return []
    table = cities(gdf, codelists=codelists)
    lines: list[str] = []
    if table["synthetic"].any():
        lines.append(SAMPLE_ATTRIBUTION)
    real = table[~table["synthetic"]]
    named = real[real["short_name"].notna()]
    # one line per city: its years joined when several datasets of one city are mixed
    for short, rows in named.groupby("short_name", sort=False):
        years = sorted({int(y) for y in rows["year"].dropna()})
        year = "・".join(f"{y}年度" for y in years) if years else None
        lines.append(plateau_attribution(short, year))
    unknown = real[real["short_name"].isna()]
    # a table with no PLATEAU identity at all (survey photos, GPS trips) is not credited to PLATEAU
    plateau_rows = any(c in getattr(gdf, "columns", ()) and gdf[c].notna().any()
                       for c in ("city_code", "building_id", "gml_id", "source_file"))
    if len(unknown) and not named.shape[0] and plateau_rows:
        lines.append("3D都市モデル（Project PLATEAU）, 国土交通省")
        log.info("data credit: %d rows have no municipality code the code list knows", int(unknown["n"].sum()))
    return list(dict.fromkeys(lines))


def place_name(gdf, lang: str = "ja", *, codelists=None, max_names: int = 3) -> str | None:
    """The place shown on a map: 「沼津市」, 「大田区・品川区」 (the most frequent first), None when unknown."""
    if gdf is None or len(gdf) == 0:
        return None
    table = cities(gdf, codelists=codelists)
    if table["synthetic"].all():
        return "合成サンプル地区" if lang == "ja" else "synthetic sample district"
    names = [n for n in dict.fromkeys(table.loc[~table["synthetic"], "short_name"].dropna())]
    if not names:
        return None
    sep = "・" if lang == "ja" else ", "
    extra = len(names) - max_names
    text = sep.join(names[:max_names])
    if extra > 0:
        text += f" ほか{extra}" if lang == "ja" else f" and {extra} more"
    return text


# ---------------------------------------------------------------------------------------------
# provenance: the one place that reads what a result carries


def _attrs_of(obj) -> dict:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    attrs = dict(getattr(obj, "attrs", {}) or {})
    buildings = getattr(obj, "buildings", None)  # SolarResult
    if buildings is not None and not attrs:
        attrs = dict(getattr(buildings, "attrs", {}) or {})
    params = getattr(obj, "parameters", None)
    if isinstance(params, dict) and "solar_parameters" not in attrs:
        attrs["solar_parameters"] = params
    return attrs


def _run_provenance(obj) -> dict:
    """The run's provenance dict (``numazu_geo.provenance``: climate, PV model, factor, run date, credits)."""
    from numazu_geo.provenance import provenance_of

    prov = provenance_of(obj)
    if not prov and not isinstance(obj, dict):
        prov = provenance_of(getattr(obj, "buildings", None))
    return prov


def provenance(obj=None, *, data=None, credits=None) -> dict:
    """What the numbers rest on, from a result (SolarResult, GeoDataFrame with ``attrs``, or a dict).

    Returns ``{"data": [data credit lines], "climate": str | None, "climate_approximate": bool | None,
    "model": str | None, "date": "YYYY-MM-DD", "run": {...}}``: ``data`` from the buildings' city codes
    and dataset names (:func:`data_credits`) unless ``credits`` is given; the rest from the run's
    provenance (:mod:`numazu_geo.provenance`, in ``run``) or, for results without one, from
    ``attrs["solar_parameters"]``; ``date`` is the run date, else today.
    """
    attrs = _attrs_of(obj)
    run = _run_provenance(obj)
    params = attrs.get("solar_parameters") or {}
    out: dict = {"data": [], "climate": None, "climate_approximate": None, "model": None, "date": None, "run": run}
    if credits is not None:
        out["data"] = list(credits)
    else:
        frame = data if data is not None else (getattr(obj, "buildings", None) if not isinstance(obj, dict) else None)
        if frame is None and hasattr(obj, "columns"):
            frame = obj
        out["data"] = data_credits(frame) if frame is not None else []
    # credit lines the run itself recorded (e.g. the JMA normals behind the default climate)
    out["data"] = list(dict.fromkeys([*out["data"], *(run.get("data_credit") or [])]))
    out["climate"] = run.get("climate_source") or params.get("climate_source")
    approx = run.get("climate_approximate", params.get("climate_approximate"))
    out["climate_approximate"] = None if approx is None else bool(approx)
    model = None
    if run.get("software") or run.get("pv_model"):
        model = ", ".join(str(v) for v in (run.get("software"), run.get("pv_model")) if v)
    elif params:
        from numazu_geo import __version__

        bits = [f"numazu-geo {__version__}"]
        if params.get("model"):
            bits.append(f"sky {params['model']}")
        if "shading" in params:
            bits.append("shading" if params["shading"] else "no shading")
        model = ", ".join(bits)
    out["model"] = model
    date = run.get("run_date") or attrs.get("run_date")
    out["date"] = str(date)[:10] if date else _dt.date.today().isoformat()
    return out


def caption(obj=None, lang: str = "ja", *, data=None, credits=None) -> str:
    """One line for the foot of a map or figure: data credit, then climate (approximate or measured),
    model, emission factor, run date and the weather credit.

    The single place that turns a result into its caption: the data credit comes from
    :func:`data_credits` (city and year of the buildings), the rest from the run's provenance via
    :func:`numazu_geo.provenance.provenance_caption` when the result has one; results without it
    (older GeoParquet files, plain GeoDataFrames) get what ``attrs["solar_parameters"]`` says, and
    at least the date the map was made.
    """
    from numazu_geo.maps.labels import check_lang

    check_lang(lang)
    p = provenance(obj, data=data, credits=credits)
    parts = []
    if p["data"]:
        parts.append(f"{_TXT['data'][lang]}: " + " / ".join(p["data"]))
    if p["run"]:
        from numazu_geo.provenance import provenance_caption

        run_text = provenance_caption(p["run"], lang, credits=False)  # its credits are in p["data"]
        if run_text:
            parts.append(run_text)
        if p["run"].get("run_date"):
            return CAPTION_SEPARATOR.join(parts)
    elif p["climate"]:
        note = ""
        climate = str(p["climate"])
        for stop in (":", ";", "("):
            if stop in climate[:CLIMATE_CHARS]:
                climate = climate.split(stop, 1)[0].strip()
        if len(climate) > CLIMATE_CHARS:
            climate = climate[:CLIMATE_CHARS - 1] + "…"
        if p["climate_approximate"] is True:
            note = f"（{_TXT['approx'][lang]}）" if lang == "ja" else f" ({_TXT['approx'][lang]})"
        parts.append(f"{_TXT['climate'][lang]}: {climate}{note}")
    if p["model"] and not p["run"]:
        parts.append(f"{_TXT['model'][lang]}: {p['model']}")
    parts.append(f"{_TXT['made'][lang]}: {p['date']}")
    return CAPTION_SEPARATOR.join(parts)
