"""numazu_geo.pipeline (issue 10 part 4): a synthetic city of four meshes run mesh by mesh on a
Dask cluster equals solar_potential over the whole city; reruns redo nothing; a killed run
restarts to the same output; a corrupt file is reported and skipped."""

from __future__ import annotations

import gc
import json
import shutil
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed", reason="numazu-geo[dask]")

from numazu_geo.citygml import read_buildings, read_roof_surfaces  # noqa: E402
from numazu_geo.pipeline import read_manifest, run_city  # noqa: E402
from numazu_geo.sample import make_district  # noqa: E402
from numazu_geo.solar import potential, solar_potential  # noqa: E402
from numazu_geo.solar.roofs import roof_faces  # noqa: E402

SPACING_M = 3.0
# the corner of four 3rd-order squares (52385628/29/38/39) near Numazu Station
CORNER = (35.1 + 1 / 120, 138.85 + 1 / 80)


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    # threads keep the test fast; `numazu-geo run` (tested below) starts worker processes
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    root = tmp_path_factory.mktemp("city")
    sample = make_district(root / "city", n_buildings=90, center_lat=CORNER[0], center_lon=CORNER[1], progress=False)
    assert len(sample.files) == 4
    return sample


@pytest.fixture(scope="module")
def full_run(city, client, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    return run_city(city.path, out, client=client, spacing_m=SPACING_M, quick=True, progress=False)


def _parts(folder):
    return {p.name: gpd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def test_equals_solar_potential_over_the_whole_city(city, full_run):
    assert full_run.complete and not full_run.failed
    got = full_run.read("solar").set_index("building_key").sort_index()
    # the single-process reference: the whole city at once (default climate, one day a month)
    whole = solar_potential(city.path, climate_days="monthly", spacing_m=SPACING_M, progress=False)
    faces = roof_faces(read_roof_surfaces(city.path, progress=False))
    site = potential._data_site(faces)
    assert full_run.manifest["climate"]["site"] == [site.latitude_deg, site.longitude_deg]
    ref = whole.buildings.set_index("building_key").sort_index()
    assert list(got.index) == list(ref.index) and len(ref) == 90
    for col in ("kwh_year", "kwh_m2_year", "kw", "shading_loss", "sky_view_factor", "usable_area_m2"):
        np.testing.assert_allclose(got[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   err_msg=col)  # fmt: skip
    assert (got["geometry"].geom_equals_exact(ref.loc[got.index, "geometry"], 1e-9)).all()
    # the halo matters: every mesh is shaded by neighbours, and one mesh alone differs
    solar = {k: v for k, v in full_run.manifest["parts"].items() if k.startswith("solar/")}
    assert len(solar) == 4 and all(len(v["halo"]) >= 1 for v in solar.values())
    key = max(solar, key=lambda k: solar[k]["rows"]).split("/")[1]
    mesh_file = next(p for p in (city.path / "udx" / "bldg").glob(f"{key}_*.gml"))
    alone = solar_potential(mesh_file, climate_days="monthly", site=site, spacing_m=SPACING_M, progress=False).buildings
    alone = alone.set_index("building_key")["kwh_year"]
    assert not np.allclose(alone.to_numpy(), got.loc[alone.index, "kwh_year"].to_numpy(), rtol=1e-9)


def test_parts_are_geoparquet_per_mesh(city, full_run):
    out = full_run.out_dir
    assert sorted(p.stem for p in (out / "solar").glob("*.parquet")) == sorted(full_run.manifest["inputs"])
    buildings = gpd.read_parquet(out / "buildings")
    assert len(buildings) == 90 and buildings.crs.to_epsg() == 6676
    dgpd = pytest.importorskip("dask_geopandas")
    ddf = dgpd.read_parquet(out / "solar")
    assert ddf.npartitions == 4 and len(ddf.compute()) == 90
    m = json.loads((out / "manifest.json").read_text())
    for info in m["inputs"].values():
        assert info["size"] > 0 and len(info["sha256"]) == 64


def test_rerun_redoes_nothing(city, client, full_run, tmp_path):
    out = full_run.out_dir
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    # joining a running scheduler by its address (as `--scheduler` does) changes nothing else
    again = run_city(city.path, out, scheduler=client.scheduler.address, spacing_m=SPACING_M, quick=True,
                     progress=False)  # fmt: skip
    assert again.computed == {"ingest": [], "solar": []}
    assert sorted(again.skipped["solar"]) == sorted(full_run.manifest["inputs"])
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")} == before
    # a changed setting redoes the solar parts, not the ingest (in a copy: the run stays intact)
    shutil.copytree(out, tmp_path / "copy")
    changed = run_city(city.path, tmp_path / "copy", client=client, spacing_m=SPACING_M + 1, quick=True,
                       progress=False)  # fmt: skip
    assert changed.computed["ingest"] == [] and len(changed.computed["solar"]) == 4


def test_rerun_with_fewer_inputs_leaves_no_stale_parts(city, client, full_run, tmp_path):
    """A rerun into the same folder with fewer files: the folder then holds only this run's parts
    (reading it never mixes two runs' buildings), and the removal is recorded."""
    out = tmp_path / "out"
    shutil.copytree(full_run.out_dir, out)
    one = Path(city.path) / sorted(city.files)[0]
    again = run_city(one, out, client=client, spacing_m=SPACING_M, quick=True, progress=False)
    key = next(iter(again.manifest["inputs"]))
    assert sorted(p.stem for p in (out / "solar").glob("*.parquet")) == [key]
    assert sorted(p.stem for p in (out / "buildings").glob("*.parquet")) == [key]
    assert len(again.manifest["stale_parts_removed"]) == 3 * 4  # 3 meshes x buildings, roofs, solids, solar
    assert len(again.read("buildings")) < len(full_run.read("buildings"))


def test_killed_run_restarts_to_identical_output(city, client, full_run, tmp_path):
    out = tmp_path / "out"
    first = run_city(city.path, out, client=client, spacing_m=SPACING_M, quick=True, progress=False, max_tasks=3)
    assert not first.complete and len(first.computed["ingest"]) == 3 and first.computed["solar"] == []
    # what a kill can leave: a temporary file mid-write, and a part written but not yet recorded
    (out / "solar").mkdir(exist_ok=True)
    (out / "solar" / ".52385628.parquet.x1y2.parquet").write_bytes(b"PAR1 half")
    (out / "solar" / "52385639.parquet").write_bytes(b"not a finished part")
    second = run_city(city.path, out, client=client, spacing_m=SPACING_M, quick=True, progress=False)
    assert second.complete and len(second.computed["ingest"]) == 1 and len(second.computed["solar"]) == 4
    assert not list((out / "solar").glob(".*"))
    want, got = _parts(full_run.out_dir / "solar"), _parts(out / "solar")
    assert list(got) == list(want)
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=False, rtol=1e-12)


def test_corrupt_file_is_recorded_and_others_go_on(city, client, tmp_path):
    src = tmp_path / "city"
    shutil.copytree(city.path, src)
    good = next((src / "udx" / "bldg").glob("*.gml"))
    text = good.read_text(encoding="utf-8")
    bad = src / "udx" / "bldg" / "52385700_bldg_6697_op.gml"
    bad.write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-file
    run = run_city(src, tmp_path / "out", client=client, steps=("ingest",), progress=False)
    assert list(run.failed) == ["52385700"]
    fail = run.failed["52385700"]
    assert fail["step"] == "ingest" and "52385700_bldg_6697_op.gml" in fail["source"] and "line" in fail["error"]
    assert sorted(run.computed["ingest"]) == sorted(p.stem.split("_")[0] for p in city.path.glob("udx/bldg/*.gml"))
    assert read_manifest(tmp_path / "out")["failed"]["52385700"]["step"] == "ingest"
    assert len(gpd.read_parquet(tmp_path / "out" / "buildings")) == 90


def _flip_a_coordinate_digit(archive, after: str) -> None:
    """Damage a stored zip member (named ``after``) the way a bad download does: its CRC no longer matches."""
    data = bytearray(archive.read_bytes())
    pos = data.find(b"<gml:posList", data.find(after.encode())) + 40
    data[pos] = ord("7") if data[pos] != ord("7") else ord("8")
    archive.write_bytes(bytes(data))


def test_damaged_zip_member_is_recorded_and_others_go_on(city, client, tmp_path):
    """A zip member with a bad CRC (a damaged download) stopped the whole run while its bytes were
    hashed; now it is recorded as failed at the read step, and the other members are computed.
    An archive with nothing readable is an error that leaves the output folder alone."""
    import zipfile

    from numazu_geo.errors import NumazuGeoError

    gmls = sorted(city.path.glob("udx/bldg/*.gml"))[:2]
    archive = tmp_path / "city.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # stored, so one flipped byte reaches the CRC check
        for g in gmls:
            zf.write(g, f"city/udx/bldg/{g.name}")
    _flip_a_coordinate_digit(archive, after=gmls[1].name)
    run = run_city(archive, tmp_path / "out", client=client, steps=("ingest",), progress=False)
    bad_key = gmls[1].stem.split("_")[0]
    assert list(run.failed) == [bad_key] and run.failed[bad_key]["step"] == "read"
    assert "damaged zip member" in run.failed[bad_key]["error"] and gmls[1].name in run.failed[bad_key]["source"]
    assert run.computed["ingest"] == [gmls[0].stem.split("_")[0]]
    assert len(gpd.read_parquet(tmp_path / "out" / "buildings")) == len(read_buildings(gmls[0]))

    only_bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(only_bad, "w") as zf:
        zf.write(gmls[1], f"city/udx/bldg/{gmls[1].name}")
    _flip_a_coordinate_digit(only_bad, after=gmls[1].name)
    before = sorted(p.name for p in (tmp_path / "out").rglob("*"))
    with pytest.raises(NumazuGeoError, match="no readable input"):
        run_city(only_bad, tmp_path / "out", client=client, steps=("ingest",), progress=False)
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == before


def test_same_file_given_twice_is_read_once_and_recorded(city, client, tmp_path):
    """QA: `run A.zip A/udx/bldg/x.gml` (the zip and its extracted file) made two parts of the same
    mesh ('x' and 'x-2'), so the folder read back held every building twice."""
    import zipfile

    gml = sorted(city.path.glob("udx/bldg/*.gml"))[0]
    archive = tmp_path / "city.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(gml, f"city/udx/bldg/{gml.name}")
    run = run_city([archive, gml], tmp_path / "out", client=client, steps=("ingest",), progress=False)
    once = read_buildings(gml)
    got = gpd.read_parquet(tmp_path / "out" / "buildings")
    assert len(got) == len(once) > 0 and got["gml_id"].is_unique
    dup = read_manifest(tmp_path / "out")["duplicates_skipped"]
    assert len(dup) == 1 and list(dup.values())[0]["source"] == str(gml.resolve())
    assert "city.zip" in list(dup.values())[0]["same_as"] and len(run.manifest["inputs"]) == 1


def test_cli_run_on_a_local_cluster(city, tmp_path, capsys):
    """`numazu-geo run` with its default LocalCluster (worker processes), ingest only."""
    from numazu_geo.cli import main

    rc = main(["run", str(city.path), "-o", str(tmp_path / "out"), "--workers", "1", "--steps", "ingest"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "computed {'ingest': 4}" in captured.out
    assert "Dask dashboard http" in captured.out  # the link, printed when the run starts
    assert len(gpd.read_parquet(tmp_path / "out" / "buildings")) == 90


def test_a_killed_worker_loses_no_part(city, full_run, tmp_path):
    """A worker process killed in the middle of a task (SIGKILL, as the OOM killer does) is replaced by its
    nanny; the task runs again elsewhere and the run ends with every part, equal to an undisturbed run."""
    from dask.distributed import Client, LocalCluster

    from _worker_killer import KillWorkerOnce  # tests/ is on the workers' path too (spawned processes inherit it)

    flag = tmp_path / "killed"
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        with Client(cluster) as c:
            c.register_plugin(KillWorkerOnce(str(flag), "numazu-solar-"))
            run = run_city(city.path, tmp_path / "out", client=c, spacing_m=SPACING_M, quick=True, progress=False)
    finally:
        cluster.close()
    assert flag.exists() and "numazu-solar-" in flag.read_text()  # a worker did die mid-task
    assert not run.failed and len(run.computed["solar"]) == len(run.computed["ingest"]) == 4
    got = gpd.read_parquet(tmp_path / "out" / "solar").set_index("building_key").sort_index()
    want = gpd.read_parquet(full_run.out_dir / "solar").set_index("building_key").sort_index()
    pd.testing.assert_series_equal(got["kwh_year"], want["kwh_year"], rtol=1e-9)


def test_reader_leaves_the_garbage_collector_alone(city, client):
    from numazu_geo.citygml import reader

    gc.disable()
    try:
        read_buildings(city.path, progress=False)
        assert not gc.isenabled()  # the caller's choice is restored, not overridden
    finally:
        gc.enable()
    states = []

    def in_thread():
        read_buildings(city.path, progress=False)
        states.append(gc.isenabled())

    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    assert states == [True] and gc.isenabled()
    # inside a Dask worker the reader never starts its own process pool
    big = [type("S", (), {"size": 1 << 30})() for _ in range(4)]
    assert reader.default_processes(big) >= 1
    assert client.submit(reader.default_processes, big, pure=False).result() == 1
