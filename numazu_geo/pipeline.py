"""Whole cities on Dask: :func:`run_city` and ``numazu-geo run``.

Each CityGML file (one 3rd-order grid square, "mesh", in a PLATEAU dataset) is a task:

1. **ingest** reads the file's buildings, roof surfaces and 3D shells in the run's one CRS and
   writes ``OUT/buildings/<mesh>.parquet`` (the :func:`~numazu_geo.read_buildings` table) and,
   for the solar step, ``OUT/_work/roofs|solids/<mesh>.parquet``.
2. **solar** computes :func:`~numazu_geo.solar_potential` for the mesh's buildings with a *halo*:
   the shells of every mesh within the shading radius of the mesh's tiles. Each tile's scene holds
   exactly the triangles within ``neighbour_radius_m`` of its 500 m square
   (:class:`~numazu_geo.solar.potential.SceneTriangles`), and the climate (site = centre of the
   whole city's roofs) is fixed before any task starts, so every building's result equals a
   single-process ``solar_potential`` over the whole city. Output: ``OUT/solar/<mesh>.parquet``.

Parts are GeoParquet files (``geopandas.read_parquet(OUT / "solar")`` and
``dask_geopandas.read_parquet`` read the folder). ``OUT/manifest.json`` records the CRS, the
climate, every input (size, SHA-256) and every finished part with what it was made from; a rerun
skips parts whose inputs and settings are unchanged. Parts and the manifest are written
atomically (a killed run leaves no half-written part); a file that fails is recorded in the
manifest's ``failed`` table and the others go on; tasks of a lost worker are retried.

The default cluster is a :class:`dask.distributed.LocalCluster` with one single-threaded worker
process per core; ``scheduler=`` (``--scheduler``) joins an existing cluster instead, and nothing
else changes. Needs ``pip install 'numazu-geo[dask]'``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from numazu_geo.errors import NumazuGeoError

log = logging.getLogger(__name__)

STEPS = ("ingest", "solar")
MANIFEST_NAME = "manifest.json"
#: bump when the meaning of parts changes; a manifest of another version starts a fresh run
FORMAT_VERSION = 1
#: task retries after a worker is lost or a task raises unexpectedly (dask ``retries=``)
RETRIES = 2
_HASH_CHUNK = 1 << 20


@dataclass
class CityRun:
    """What :func:`run_city` did. ``manifest`` is the content of ``out_dir/manifest.json``."""

    out_dir: Path
    manifest: dict
    computed: dict = field(default_factory=dict)  # step -> keys computed in this run
    skipped: dict = field(default_factory=dict)  # step -> keys already finished before
    failed: dict = field(default_factory=dict)  # key -> {"step", "error"}
    seconds: float = 0.0
    dashboard_link: str | None = None

    @property
    def complete(self) -> bool:
        """True when every input has all its steps finished."""
        parts = self.manifest.get("parts", {})
        steps = self.manifest.get("steps", [])
        return all(f"{s}/{k}" in parts for k in self.manifest.get("inputs", {}) for s in steps)

    def read(self, step: str = "solar"):
        """All parts of a step as one GeoDataFrame (``geopandas.read_parquet`` of the folder)."""
        import geopandas as gpd

        folder = self.out_dir / step
        if not any(folder.glob("*.parquet")):
            raise NumazuGeoError(f"{folder}: no parts written")
        return gpd.read_parquet(folder)

    def __repr__(self) -> str:
        done = {s: len(v) for s, v in self.computed.items()}
        return f"CityRun({str(self.out_dir)!r}, computed={done}, failed={len(self.failed)}, {self.seconds:.1f} s)"


# ----------------------------------------------------------------------------------------------
# inputs, keys, manifest


def _file_key(src) -> str:
    """Part name of a source: its mesh code, else its file name without extension."""
    if src.mesh_code:
        return src.mesh_code
    stem = src.name.rsplit(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) or "file"


def _keys(sources) -> dict:
    """{key: GMLSource}, keys unique (a suffix where two files share a mesh code)."""
    out: dict = {}
    for src in sources:
        key = base = _file_key(src)
        n = 1
        while key in out:
            n += 1
            key = f"{base}-{n}"
        out[key] = src
    return out


def fingerprint(src) -> dict:
    """Size and SHA-256 of a source's bytes (a zip member: of its uncompressed content)."""
    h = hashlib.sha256()
    size = 0
    with src.open() as fh:
        while True:
            block = fh.read(_HASH_CHUNK)
            if not block:
                break
            h.update(block)
            size += len(block)
    return {"source": src.label, "size": size, "sha256": h.hexdigest()}


def _drop_same_content(keyed: dict, inputs: dict) -> dict:
    """Read once the inputs whose bytes repeat an earlier input (the same file given twice, e.g. the
    zip and its extracted folder): they are removed from ``keyed``/``inputs`` (in place), logged and
    returned as ``{key: {"source", "same_as"}}`` for the manifest, so no building is counted twice."""
    first: dict = {}
    dropped: dict = {}
    for key in list(keyed):
        digest = inputs[key]["sha256"]
        if digest not in first:
            first[digest] = key
            continue
        dropped[key] = {"source": inputs[key]["source"], "same_as": inputs[first[digest]]["source"]}
        log.warning("%s: same content as %s; read once", dropped[key]["source"], dropped[key]["same_as"])
        del keyed[key], inputs[key]
    return dropped


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_manifest(out_dir) -> dict | None:
    path = Path(out_dir) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NumazuGeoError(f"{path}: unreadable manifest ({exc}); remove it to start afresh") from exc
    if data.get("format") != FORMAT_VERSION:
        log.warning("%s: manifest of format %s; starting a fresh run", path, data.get("format"))
        return None
    return data


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    from numazu_geo.io import write_text_atomic

    write_text_atomic(out_dir / MANIFEST_NAME, json.dumps(manifest, indent=1, ensure_ascii=False, default=str))


def _choose_crs(crs, keyed, manifest):
    """One CRS for the whole run: the manifest's on a rerun, else ``crs``, else the Japan Plane
    Rectangular zone of the meshes' centres (file-name city codes as hints)."""
    import pyproj

    from numazu_geo.citygml import crs as crs_mod
    from numazu_geo.citygml.mesh import mesh_bounds

    if manifest and manifest.get("crs"):
        chosen = pyproj.CRS.from_user_input(manifest["crs"])
        wanted = crs_mod.resolve_crs(crs)
        if wanted is not None and not wanted.equals(chosen):
            raise NumazuGeoError(
                f"{manifest.get('out_dir', 'this output folder')}: made in {chosen.to_string()}, not {crs}; "
                "use another output folder"
            )
        return chosen
    target = crs_mod.resolve_crs(crs)
    if target is not None:
        return target
    lat, lon, cities = [], [], []
    for src in keyed.values():
        code = src.mesh_code
        if code:
            w, s, e, n = mesh_bounds(code)
            lat.append(0.5 * (s + n))
            lon.append(0.5 * (w + e))
            cities.append(_city_code_in(src))
    hints = [crs_mod.city_hint_from_path(src.label) for src in keyed.values()]
    if lat:  # one vote per mesh, with the municipality code its buildings carry
        return crs_mod.auto_crs(cities, lat, lon, hints=hints)
    from numazu_geo.citygml import read_buildings

    first = next(iter(keyed.values()))
    return read_buildings(first, progress=False, processes=1).crs  # no mesh codes: read one file


_CITY_RE = re.compile(rb"<uro:city[^>]*>\s*([0-9]{5})\s*<|>\s*([0-9]{5})-bldg-")


def _city_code_in(src, nbytes: int = 1 << 18) -> str | None:
    """The municipality code of the first building of a file (``uro:city`` or a building ID),
    from its first ``nbytes``; None when absent."""
    try:
        with src.open() as fh:
            head = fh.read(nbytes)
    except OSError:
        return None
    m = _CITY_RE.search(head)
    return (m.group(1) or m.group(2)).decode() if m else None


# ----------------------------------------------------------------------------------------------
# tasks (run on workers; inputs and outputs are plain picklable values)


def _ingest_task(src, key: str, out_dir: str, crs_wkt: str, face_options: dict) -> dict:
    """Read one CityGML file; write its buildings part and the roofs/solids the solar step needs."""
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        from numazu_geo.citygml import read_buildings, read_roof_surfaces, read_solids
        from numazu_geo.io import to_parquet
        from numazu_geo.solar.roofs import roof_faces

        out = Path(out_dir)
        buildings = read_buildings(src, crs=crs_wkt, progress=False, processes=1)
        roofs = read_roof_surfaces(src, crs=crs_wkt, progress=False, processes=1)
        solids = read_solids(src, crs=crs_wkt, progress=False, processes=1)
        faces = roof_faces(roofs, **face_options) if len(roofs) else None
        to_parquet(roofs, out / "_work" / "roofs" / f"{key}.parquet")
        to_parquet(solids, out / "_work" / "solids" / f"{key}.parquet")
        to_parquet(buildings, out / "buildings" / f"{key}.parquet")  # last: it marks the step done
        return {
            "key": key, "rows": len(buildings), "roofs": len(roofs), "solids": len(solids),
            "faces_bounds": _bounds(faces), "solids_bounds": _bounds(solids),
            "seconds": round(time.perf_counter() - t0, 3), "cpu_seconds": round(time.process_time() - c0, 3),
        }  # fmt: skip
    except Exception as exc:  # recorded in the manifest; the run goes on with the other files
        return {"key": key, "error": f"{type(exc).__name__}: {exc}", "seconds": round(time.perf_counter() - t0, 3)}


def _part_files(out: Path, step: str, key: str) -> list[Path]:
    """The files a finished part consists of."""
    if step == "ingest":
        return [out / "buildings" / f"{key}.parquet"] + [out / "_work" / w / f"{key}.parquet" for w in ("roofs", "solids")]
    return [out / "solar" / f"{key}.parquet"]


def _remove_unrecorded_parts(out: Path, manifest: dict) -> list[str]:
    """Delete part files the manifest does not list (an earlier run's parts of inputs no longer
    given, now failing, or invalidated and not yet redone), so reading a step's folder with
    ``geopandas.read_parquet`` never mixes two runs. Returns the removed files, relative to ``out``."""
    removed = []
    for step in STEPS:
        for key in {p.stem for p in (out / ("buildings" if step == "ingest" else step)).glob("[!.]*.parquet")}:
            if f"{step}/{key}" not in manifest["parts"]:
                for path in _part_files(out, step, key):
                    if path.exists():
                        path.unlink()
                        removed.append(str(path.relative_to(out)))
    return sorted(removed)


def _bounds(gdf) -> list | None:
    if gdf is None or len(gdf) == 0:
        return None
    b = gdf.total_bounds
    return [float(v) for v in b] if np.isfinite(b).all() else None


def _solar_task(key: str, halo: list, out_dir: str, climate, options: dict, region) -> dict:
    """Solar potential of one mesh's buildings, shaded by its own and its halo's shells."""
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        import pandas as pd
        import shapely

        from numazu_geo.io import read_parquet, to_parquet
        from numazu_geo.solar.potential import solar_potential

        out = Path(out_dir)
        buildings = read_parquet(out / "buildings" / f"{key}.parquet")
        roofs = read_parquet(out / "_work" / "roofs" / f"{key}.parquet")
        parts = []
        for k in [key, *halo]:
            s = read_parquet(out / "_work" / "solids" / f"{k}.parquet")
            if region is not None and len(s):  # only shells whose bounds reach this mesh's tiles
                b = shapely.bounds(s.geometry.values)
                s = s[(b[:, 2] >= region[0]) & (b[:, 0] <= region[2]) & (b[:, 3] >= region[1]) & (b[:, 1] <= region[3])]
            if len(s):
                parts.append(s)
        solids = pd.concat(parts, ignore_index=True) if parts else None
        if solids is not None:
            import geopandas as gpd

            solids = gpd.GeoDataFrame(solids, geometry="geometry", crs=parts[0].crs)
        result = solar_potential(
            buildings, roof_surfaces=roofs, solids=solids, climate=climate, progress=False, **options
        )
        table = result.buildings
        table.attrs = {k: v for k, v in table.attrs.items() if k != "solar_parameters"}
        to_parquet(table, out / "solar" / f"{key}.parquet")
        return {
            "key": key, "rows": len(table), "halo": list(halo),
            "kw": float(table["kw"].sum()), "kwh_year": float(table["kwh_year"].sum()),
            "rays_cast": int(result.parameters.get("rays_cast", 0)),
            "seconds": round(time.perf_counter() - t0, 3), "cpu_seconds": round(time.process_time() - c0, 3),
        }  # fmt: skip
    except Exception as exc:
        return {"key": key, "error": f"{type(exc).__name__}: {exc}", "seconds": round(time.perf_counter() - t0, 3)}


# ----------------------------------------------------------------------------------------------
# halo and climate


def _tile_region(faces_bounds, tile_size_m: float, radius_m: float | None):
    """The square of everything that can shade a mesh: its faces' 500 m tiles grown by the radius."""
    if faces_bounds is None or radius_m is None:
        return None
    minx, miny, maxx, maxy = faces_bounds
    # faces are assigned to tiles by the mean of their points, which lies within the faces' bounds
    x0, y0 = np.floor(minx / tile_size_m) * tile_size_m, np.floor(miny / tile_size_m) * tile_size_m
    x1, y1 = (np.floor(maxx / tile_size_m) + 1) * tile_size_m, (np.floor(maxy / tile_size_m) + 1) * tile_size_m
    r = float(radius_m) + 1.0  # + a metre: the region is a superset, the scene cut is exact
    return [float(x0 - r), float(y0 - r), float(x1 + r), float(y1 + r)]


def halo_keys(key: str, ingest: dict, tile_size_m: float, radius_m: float | None) -> tuple[list, list | None]:
    """(neighbouring keys whose shells reach the mesh's shading region, the region)."""
    if radius_m is not None and ingest[key].get("faces_bounds") is None:
        return [], None  # no roof faces: nothing to shade
    region = _tile_region(ingest[key].get("faces_bounds"), tile_size_m, radius_m)
    out = []
    for other, info in sorted(ingest.items()):
        if other == key or info.get("solids_bounds") is None:
            continue
        if region is None:
            out.append(other)  # no radius: everything shades everything
            continue
        b = info["solids_bounds"]
        if not (b[2] < region[0] or b[0] > region[2] or b[3] < region[1] or b[1] > region[3]):
            out.append(other)
    return out, region


def _city_site(ingest: dict, crs):
    """Where the sun is computed for every mesh: the centre of all roof faces of the city, as
    :func:`~numazu_geo.solar_potential` picks it for the whole city at once."""
    from pyproj import Transformer

    from numazu_geo.solar.sun import Site, default_site

    boxes = np.array([v["faces_bounds"] for v in ingest.values() if v.get("faces_bounds")], dtype=float)
    if not len(boxes):
        return None
    b = [boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()]
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3]))
    base = default_site()
    return Site(float(lat), float(lon), base.altitude_m, base.tz, "data centre")


def _city_climate(climate, year: int, site, quick: bool):
    """(the climate every task gets, keyword arguments for solar_potential, the climate as used)."""
    from numazu_geo.solar.climate import climate_for_site, default_climate, load_climate

    if climate is None:  # each task derives the default at the city's site, as a whole-city run does
        days = "monthly" if quick else None
        return None, {"climate_days": days}, default_climate(site, year, days=days)
    raw = load_climate(climate, year=year, site=site)
    if quick:
        raw = raw.representative_days(15)
    return raw, {}, climate_for_site(raw, site)


# ----------------------------------------------------------------------------------------------
# the driver


def _client(client, scheduler, workers):
    """(client, cluster to close or None)."""
    from numazu_geo.extras import require

    require("dask", "numazu_geo.pipeline")
    from dask.distributed import Client, LocalCluster

    if client is not None:
        return client, None, False
    if scheduler:
        return Client(scheduler), None, True
    n = int(workers) if workers else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    # the workers' own INFO lines (start, stop, comms) would drown the progress bar; warnings still show
    cluster = LocalCluster(n_workers=max(1, n), threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.WARNING)  # fmt: skip
    return Client(cluster), cluster, True


def run_city(
    source,
    out_dir,
    *,
    steps=STEPS,
    workers: int | None = None,
    client=None,
    scheduler: str | None = None,
    crs="auto",
    climate=None,
    year: int | None = None,
    spacing_m: float | None = None,
    solar_options: dict | None = None,
    quick: bool = False,
    retries: int = RETRIES,
    max_tasks: int | None = None,
    progress: bool = True,
) -> CityRun:
    """Ingest and compute solar potential for a whole city, one task per CityGML file.

    Parameters
    ----------
    source : a PLATEAU zip, dataset folder, .gml file or a list of these.
    out_dir : output folder: ``buildings/``, ``solar/`` (one GeoParquet part per mesh),
        ``manifest.json`` and the intermediate ``_work/``.
    steps : ``("ingest",)`` or ``("ingest", "solar")``.
    workers : worker processes of the default LocalCluster (default: one per core).
    client : a ``dask.distributed.Client`` to use (not closed here).
    scheduler : address of a running scheduler (``tcp://host:8786``) to join instead.
    crs : ``"auto"`` (the Plane Rectangular zone of the meshes, chosen once for the whole run) or
        anything pyproj accepts. A rerun keeps the CRS recorded in the manifest.
    climate, year, spacing_m, solar_options : as :func:`~numazu_geo.solar_potential`
        (``solar_options``: its other keyword arguments, e.g. ``{"svf_rays": 64}``).
    quick : one day per month instead of every hour (a preview; as ``numazu-geo solar --quick``).
    retries : retries of a task whose worker was lost.
    max_tasks : stop after this many tasks (the rest on the next run); None: all.
    progress : tqdm progress bar and the dashboard link on the terminal.

    Returns
    -------
    CityRun : the manifest, which parts were computed or skipped, the failures.
    """

    from numazu_geo.citygml.sources import resolve_sources
    from numazu_geo.solar.potential import SPACING_M, TILE_SIZE_M
    from numazu_geo.solar.shading import NEIGHBOUR_RADIUS_M
    from numazu_geo.solar.sun import DEFAULT_YEAR

    t_start = time.perf_counter()
    steps = tuple(steps)
    if not steps or any(s not in STEPS for s in steps) or ("solar" in steps and "ingest" not in steps):
        raise ValueError(f"steps must be ('ingest',) or ('ingest', 'solar'), not {steps!r}")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    keyed = _keys(resolve_sources(source))
    manifest = read_manifest(out) or {}
    inputs, unreadable = {}, {}
    for key, src in keyed.items():
        try:
            inputs[key] = fingerprint(src)
        except OSError as exc:  # a damaged zip member or an unreadable file: recorded, the others go on
            unreadable[key] = {"step": "read", "error": str(exc), "source": src.label}
            log.warning("read %s failed: %s", src.label, exc)
    keyed = {key: src for key, src in keyed.items() if key in inputs}
    if not keyed:  # nothing readable: nothing in the output folder is replaced
        first = next(iter(unreadable.values()))
        raise NumazuGeoError(f"{first['source']}: no readable input ({len(unreadable)} unreadable; {first['error']})")
    target = _choose_crs(crs, keyed, manifest)
    options = dict(solar_options or {})
    options["spacing_m"] = float(spacing_m if spacing_m is not None else options.get("spacing_m", SPACING_M))
    year = int(year if year is not None else DEFAULT_YEAR)
    face_options = dict(options.get("face_options") or {})
    radius = options.get("neighbour_radius_m", NEIGHBOUR_RADIUS_M)
    tile = float(TILE_SIZE_M)

    for step in ("buildings", "solar"):  # temporary files of a killed run (never parts)
        for stray in (out / step).glob(".*.parquet*"):
            stray.unlink(missing_ok=True)
    duplicates = _drop_same_content(keyed, inputs)
    old_parts = manifest.get("parts", {}) if manifest.get("crs") else {}
    manifest = {
        "format": FORMAT_VERSION,
        "out_dir": str(out),
        "crs": target.to_wkt(),
        "crs_epsg": target.to_epsg(),
        "steps": list(steps),
        "inputs": inputs,
        "parts": {},
        "duplicates_skipped": duplicates,
        "failed": dict(unreadable),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    ingest_params = _digest({"crs": manifest["crs"], "face_options": face_options})
    for name, part in old_parts.items():  # keep what is still valid; the rest is redone
        step, key = name.split("/", 1)
        if key in inputs and all(p.exists() for p in _part_files(out, step, key)):
            manifest["parts"][name] = part
    run = CityRun(out, manifest, {s: [] for s in steps}, {s: [] for s in steps})
    cluster_state: dict = {}
    budget = [max_tasks if max_tasks is not None else np.inf]
    try:
        # ------------------------------------------------------------------ ingest
        todo = []
        for key, src in keyed.items():
            part = manifest["parts"].get(f"ingest/{key}")
            if part and part.get("sha256") == inputs[key]["sha256"] and part.get("params") == ingest_params:
                run.skipped["ingest"].append(key)
            else:
                manifest["parts"].pop(f"ingest/{key}", None)
                todo.append(key)

        def get_client():
            """The cluster, started (or joined) only when there is work for it."""
            if "client" not in cluster_state:
                c_, cl_, own_ = _client(client, scheduler, workers)
                cluster_state.update(client=c_, cluster=cl_, own=own_)
                run.dashboard_link = getattr(c_, "dashboard_link", None)
                if progress and run.dashboard_link:
                    print(f"numazu-geo run: Dask dashboard {run.dashboard_link}")
            return cluster_state["client"]

        wkt = manifest["crs"]

        def on_ingest(key, res):
            if "error" in res:
                manifest["failed"][key] = {"step": "ingest", "error": res["error"], "source": inputs[key]["source"]}
                log.warning("ingest %s failed: %s", inputs[key]["source"], res["error"])
                return
            res.update(sha256=inputs[key]["sha256"], params=ingest_params)
            manifest["parts"][f"ingest/{key}"] = res
            run.computed["ingest"].append(key)

        _run_tasks(get_client, [(k, _ingest_task, (keyed[k], k, str(out), wkt, face_options)) for k in todo],
                   on_ingest, out, manifest, retries, budget, "ingest", progress)  # fmt: skip

        # ------------------------------------------------------------------ solar
        if "solar" in steps and budget[0] > 0:
            ingest = {k: manifest["parts"][f"ingest/{k}"] for k in keyed if f"ingest/{k}" in manifest["parts"]}
            site = _city_site(ingest, target)
            raw, climate_kw, clim = _city_climate(climate, year, site, quick)
            manifest["climate"] = {"source": clim.source, "approximate": bool(clim.approximate), "year": year,
                                   "site": None if site is None else [site.latitude_deg, site.longitude_deg]}  # fmt: skip
            task_options = {**options, **climate_kw, "site": site, "year": year}
            solar_params = _digest({"crs": wkt, "options": options, "climate": clim.source, "year": year,
                                    "site": manifest["climate"]["site"]})  # fmt: skip
            jobs = []
            for key in ingest:
                halo, region = halo_keys(key, ingest, tile, radius)
                deps = {k: inputs[k]["sha256"] for k in [key, *halo]}
                part = manifest["parts"].get(f"solar/{key}")
                if part and part.get("params") == solar_params and part.get("inputs") == deps:
                    run.skipped["solar"].append(key)
                    continue
                manifest["parts"].pop(f"solar/{key}", None)
                jobs.append((key, _solar_task, (key, halo, str(out), raw, task_options, region), deps))
            missing = sorted(set(keyed) - set(ingest))
            if missing:
                manifest["halo_incomplete"] = missing  # failed files cast no shade on their neighbours

            deps_of = {j[0]: j[3] for j in jobs}

            def on_solar(key, res):
                if "error" in res:
                    manifest["failed"][key] = {"step": "solar", "error": res["error"], "source": inputs[key]["source"]}
                    log.warning("solar %s failed: %s", inputs[key]["source"], res["error"])
                    return
                res.update(params=solar_params, inputs=deps_of[key])
                manifest["parts"][f"solar/{key}"] = res
                run.computed["solar"].append(key)

            _run_tasks(get_client, [j[:3] for j in jobs], on_solar, out, manifest, retries, budget, "solar", progress)
        stale = _remove_unrecorded_parts(out, manifest)
        if stale:
            manifest["stale_parts_removed"] = stale
            log.warning("%s: removed %d part file(s) of an earlier run that this run does not hold "
                        "(inputs no longer given, failed or not yet redone)", out, len(stale))
        manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        _write_manifest(out, manifest)
    finally:
        if cluster_state.get("own"):
            cluster_state["client"].close()
        if cluster_state.get("cluster") is not None:
            cluster_state["cluster"].close()
    run.failed = dict(manifest["failed"])
    run.seconds = time.perf_counter() - t_start
    return run


def _run_tasks(get_client, jobs, on_result, out, manifest, retries, budget, desc, progress) -> None:
    """Submit ``jobs`` = [(key, function, args)], record each result as it arrives (the manifest
    is rewritten after every part), stop early when the task budget is spent."""
    if not jobs:
        return
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    if budget[0] <= 0:
        return
    if budget[0] < len(jobs):
        jobs = jobs[: int(budget[0])]
    client = get_client()
    futures = {}
    for key, fn, args in jobs:
        fut = client.submit(fn, *args, key=f"numazu-{desc}-{key}-{time.time_ns()}", retries=retries, pure=False)
        futures[fut] = key
    bar = tqdm(total=len(futures), desc=desc, unit="mesh", disable=not progress)
    try:
        for fut in as_completed(list(futures)):
            key = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # the task itself died (e.g. its worker, after the retries)
                res = {"key": key, "error": f"{type(exc).__name__}: {exc}"}
            on_result(key, res)
            _write_manifest(out, manifest)
            budget[0] -= 1
            bar.update(1)
    finally:
        bar.close()


# ----------------------------------------------------------------------------------------------
# command line


def register(subparsers):
    p = subparsers.add_parser(
        "run",
        help="whole city on Dask: ingest + solar per mesh -> partitioned GeoParquet (resumable)",
        description="One task per CityGML file (3rd-order mesh): buildings and rooftop solar with a halo of "
                    "neighbouring meshes, written as OUT_DIR/buildings/ and OUT_DIR/solar/ (one GeoParquet part "
                    "per mesh) with OUT_DIR/manifest.json. A rerun skips finished parts.",
    )  # fmt: skip
    p.add_argument("source", nargs="+", help="PLATEAU zip, dataset folder or .gml files")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="join a running Dask scheduler")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core)")
    p.add_argument("--steps", default="ingest,solar", help="ingest or ingest,solar (default)")
    p.add_argument("--crs", default="auto", help="output CRS (default: the Plane Rectangular zone of the data)")
    p.add_argument("--climate", default=None, help=".epw or METPV .csv (default: approximate climate from the JMA normals of the station nearest the buildings)")
    p.add_argument("--spacing", type=float, default=None, help="roof sample spacing in metres (default 1.0)")
    p.add_argument("--quick", action="store_true", help="one day per month instead of every hour (preview)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=_cli_run)
    return p


def _cli_run(args) -> int:
    from numazu_geo.io import check_output_dir

    check_output_dir(args.out)  # before any work
    if not getattr(args, "verbose", False):  # Dask's INFO lines (workers starting, closing) only with -v
        try:
            import distributed  # noqa: F401  (its import sets the level this overrides)
        except ImportError:
            pass  # run_city names the missing extra
        logging.getLogger("distributed").setLevel(logging.WARNING)
    source = args.source if len(args.source) > 1 else args.source[0]
    run = run_city(
        source, args.out, steps=tuple(s.strip() for s in args.steps.split(",") if s.strip()),
        workers=args.workers, scheduler=args.scheduler, crs=args.crs, climate=args.climate,
        spacing_m=args.spacing, quick=args.quick, progress=not args.no_progress,
    )  # fmt: skip
    m = run.manifest
    done = {s: len(v) for s, v in run.computed.items()}
    skipped = {s: len(v) for s, v in run.skipped.items()}
    print(f"numazu-geo run: {len(m['inputs'])} files, computed {done}, already done {skipped}, "
          f"failed {len(run.failed)} ({run.seconds:.1f} s) -> {run.out_dir}")  # fmt: skip
    for key, dup in sorted(m.get("duplicates_skipped", {}).items()):
        print(f"  skipped {dup['source']}: same content as {dup['same_as']}")
    for key, fail in sorted(run.failed.items()):
        print(f"  failed {fail['step']} {fail['source']}: {fail['error']}")
    return 0 if not run.failed else 3
