"""Survey of a photo folder: EXIF GPS / time, GPano XMP heading, corrupt files, masks, CLI."""

from __future__ import annotations

import argparse
import io
import math

import numpy as np
import pytest
from PIL import Image

from numazu_geo.greenview import green_view_survey, read_photo_metadata
from numazu_geo.greenview.survey import parse_xmp_gpano

from test_greenview_panorama import GREEN, GreenSegmenter, make_pano

XMP_ATTR = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    b'xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" GPano:ProjectionType="equirectangular" '
    b'GPano:PoseHeadingDegrees="271.5" GPano:FullPanoWidthPixels="512"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
XMP_ELEM = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:GPano="http://ns.google.com/photos/1.0/panorama/">'
    b'<GPano:ProjectionType>equirectangular</GPano:ProjectionType>'
    b'<GPano:PoseHeadingDegrees> 12.25 </GPano:PoseHeadingDegrees></rdf:Description></rdf:RDF></x:xmpmeta>'
)


def exif_with_gps(lat, lon, *, alt=None, direction=None, when=None, offset=None):
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)

    def dms(v):
        v = abs(v)
        d = int(v)
        m = int((v - d) * 60)
        s = round(((v - d) * 60 - m) * 60, 4)
        return (float(d), float(m), s)

    gps.update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)})
    if alt is not None:
        gps.update({5: b"\x00", 6: float(alt)})
    if direction is not None:
        gps[17] = float(direction)
    if when is not None:
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = when
        if offset:
            sub[0x9011] = offset
    return exif


def save_jpeg(path, arr, **kw):
    Image.fromarray(arr).save(path, "JPEG", quality=92, **kw)
    return path


def test_read_exif_gps_time_and_xmp_heading(tmp_path):
    p = save_jpeg(tmp_path / "a.jpg", make_pano(64),
                  exif=exif_with_gps(35.1025, 138.86, alt=12.5, direction=90.0, when="2024:05:01 10:11:12",
                                     offset="+09:00"), xmp=XMP_ATTR)
    m = read_photo_metadata(p)
    assert m.lat_deg == pytest.approx(35.1025, abs=1e-6)
    assert m.lon_deg == pytest.approx(138.86, abs=1e-6)
    assert m.altitude_m == pytest.approx(12.5)
    assert m.heading_deg == pytest.approx(271.5)  # GPano pose wins over EXIF GPSImgDirection
    assert m.captured_at.isoformat() == "2024-05-01T10:11:12"
    assert m.utc_offset == "+09:00"
    assert m.gpano["ProjectionType"] == "equirectangular"
    assert m.gpano["FullPanoWidthPixels"] == 512


def test_southern_western_and_missing_tags(tmp_path):
    p = save_jpeg(tmp_path / "b.jpg", np.zeros((20, 30, 3), np.uint8),
                  exif=exif_with_gps(-33.8688, -151.2093, direction=45.0))
    m = read_photo_metadata(p)
    assert m.lat_deg == pytest.approx(-33.8688, abs=1e-6) and m.lon_deg == pytest.approx(-151.2093, abs=1e-6)
    assert m.heading_deg == pytest.approx(45.0)  # EXIF direction when no GPano
    assert m.captured_at is None and m.gpano == {}
    bare = read_photo_metadata(save_jpeg(tmp_path / "c.jpg", np.zeros((20, 30, 3), np.uint8)))
    assert not bare.has_position and bare.heading_deg is None


def test_parse_xmp_element_form():
    g = parse_xmp_gpano(XMP_ELEM)
    assert g["ProjectionType"] == "equirectangular" and g["PoseHeadingDegrees"] == pytest.approx(12.25)


def build_survey(folder):
    folder.mkdir()
    pano = make_pano(128, [((0, 45, -90, 0), GREEN)])
    save_jpeg(folder / "01_pano.jpg", pano, exif=exif_with_gps(35.0951, 138.8634, when="2024:06:02 09:30:00"),
              xmp=XMP_ATTR)
    photo = np.full((120, 160, 3), 128, np.uint8)
    photo[:, :40] = GREEN
    save_jpeg(folder / "02_nogps.jpg", photo)
    (folder / "03_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg at all" * 10)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG")
    (folder / "04_truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_survey_rows_points_errors_and_masks(tmp_path):
    folder = build_survey(tmp_path / "photos")
    gdf = green_view_survey(folder, segmenter=GreenSegmenter(), mask_dir=tmp_path / "masks", progress=False)
    assert list(gdf["path"].map(lambda s: s.rsplit("/", 1)[-1])) == [
        "01_pano.jpg", "02_nogps.jpg", "03_corrupt.jpg", "04_truncated.jpg"]
    assert gdf.crs.to_epsg() == 4326
    for col in ("gvi", "sky_share", "sky_view", "building_view", "captured_at", "heading_deg", "path", "error"):
        assert col in gdf.columns
    pano_row, photo_row, corrupt, truncated = (gdf.iloc[i] for i in range(4))
    assert pano_row.error == "" and pano_row.projection == "equirectangular"
    assert pano_row.geometry.x == pytest.approx(138.8634, abs=1e-6)
    assert pano_row.geometry.y == pytest.approx(35.0951, abs=1e-6)
    assert pano_row.heading_deg == pytest.approx(271.5)
    assert str(pano_row.captured_at) == "2024-06-02 09:30:00"
    expected = 100 * math.radians(90) * math.sin(math.radians(45)) / (2 * math.pi * (1 + math.sin(math.radians(60))))
    assert pano_row.gvi == pytest.approx(expected, rel=0.08)
    assert photo_row.error == "" and photo_row.projection == "perspective"
    assert photo_row.geometry is None or photo_row.geometry.is_empty
    assert photo_row.gvi == pytest.approx(25.0, abs=1.0)
    assert "not a readable image" in corrupt.error and math.isnan(corrupt.gvi)
    assert truncated.error != "" and math.isnan(truncated.gvi)
    assert [e["file"].rsplit("/", 1)[-1] for e in gdf.attrs["errors"]] == ["03_corrupt.jpg", "04_truncated.jpg"]
    mask = np.asarray(Image.open(pano_row.mask_path))
    assert mask.shape == (128, 256) and set(np.unique(mask)) <= {0, 255}
    assert mask.mean() > 0
    assert not (tmp_path / "masks" / "03_corrupt_vegetation.png").exists()


def test_survey_missing_folder(tmp_path):
    from numazu_geo.errors import SourceNotFoundError

    with pytest.raises(SourceNotFoundError, match="nowhere"):
        green_view_survey(tmp_path / "nowhere", segmenter=GreenSegmenter(), progress=False)


def test_cli_writes_geoparquet(tmp_path, capsys):
    import json

    import pyarrow.parquet as pq

    from numazu_geo.greenview.cli import register

    folder = build_survey(tmp_path / "photos")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "gvi.parquet"
    args = parser.parse_args(["greenview", str(folder), "-o", str(out), "--method", "exg", "--no-progress"])
    assert args.func(args) == 0
    table = pq.read_table(out)  # written by numazu_geo.io.to_parquet (geometry as WKB, attrs kept)
    back = table.to_pandas()
    assert len(back) == 4 and "geometry" in back.columns
    assert (back["error"] != "").sum() == 2
    assert back["segmenter"].iloc[0] == "exg"
    attrs = json.loads(table.schema.metadata[b"numazu_geo_attrs"])
    assert len(attrs["errors"]) == 2
    printed = capsys.readouterr().out
    assert "2 of 4 photos analysed (1 with GPS)" in printed
