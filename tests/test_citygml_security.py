"""Hostile input: entity-expansion bombs and external entities must neither expand nor reach out."""

from __future__ import annotations

import io
import socket
import time

import pytest
from lxml import etree

from numazu_geo.citygml import read_buildings
from numazu_geo.citygml.reader import SECURE_PARSER_OPTIONS
from numazu_geo.errors import CityGMLError

_HEAD = (
    '<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:uro="https://www.geospatial.jp/iur/uro/3.1">'
)


def _building(name: str) -> str:
    ring = "35.1 138.86 0 35.1 138.8601 0 35.1001 138.8601 0 35.1001 138.86 0 35.1 138.86 0"
    return (
        f'<core:cityObjectMember><bldg:Building gml:id="b1"><gml:name>{name}</gml:name>'
        "<bldg:lod0FootPrint><gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
        f"<gml:posList>{ring}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
        "</gml:MultiSurface></bldg:lod0FootPrint></bldg:Building></core:cityObjectMember>"
    )


def _bomb_doc() -> str:
    ents = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
    )
    return f'<?xml version="1.0"?>\n<!DOCTYPE core:CityModel [{ents}]>\n{_HEAD}{_building("&lol9;")}</core:CityModel>'


@pytest.fixture
def listener():
    """A local TCP socket that records whether anyone connected (an external entity fetch)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(0.2)
    yield srv
    srv.close()


def _connected(srv) -> bool:
    try:
        conn, _ = srv.accept()
    except (socket.timeout, OSError):
        return False
    conn.close()
    return True


def test_plain_file_reads(tmp_path):
    path = tmp_path / "53385628_bldg_6697_op.gml"
    path.write_text(f'<?xml version="1.0"?>\n{_HEAD}{_building("ok")}</core:CityModel>', encoding="utf-8")
    gdf = read_buildings(path, progress=False)
    assert list(gdf["name"]) == ["ok"] and gdf.crs.to_epsg() == 6676


def test_entity_bomb_is_refused_quickly(tmp_path):
    path = tmp_path / "bomb_bldg_6697_op.gml"
    path.write_text(_bomb_doc(), encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(CityGMLError, match="DOCTYPE"):
        read_buildings(path, progress=False)
    gdf = read_buildings(path, errors="skip", progress=False)
    assert len(gdf) == 0 and "bomb_bldg_6697_op.gml" in gdf.attrs["errors"][0]["file"]
    assert time.perf_counter() - t0 < 5


def test_parser_options_alone_do_not_expand_a_bomb():
    """Even past the DOCTYPE check, the parser itself refuses to expand (libxml2 amplification limit)."""
    t0 = time.perf_counter()
    with pytest.raises(etree.XMLSyntaxError):
        for _ in etree.iterparse(io.BytesIO(_bomb_doc().encode()), events=("end",), **SECURE_PARSER_OPTIONS):
            pass
    assert time.perf_counter() - t0 < 2


def test_external_entities_are_not_resolved(tmp_path, listener):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    port = listener.getsockname()[1]
    doc = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE core:CityModel [<!ENTITY xxe SYSTEM "file://{secret}">'
        f'<!ENTITY net SYSTEM "http://127.0.0.1:{port}/evil.xml">]>\n'
        f"{_HEAD}{_building('&xxe;&net;')}</core:CityModel>"
    )
    path = tmp_path / "xxe_bldg_6697_op.gml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(CityGMLError, match="entity"):
        read_buildings(path, progress=False)
    # the parser options on their own keep the references unexpanded and do not connect
    names = []
    for _, el in etree.iterparse(io.BytesIO(doc.encode()), events=("end",), **SECURE_PARSER_OPTIONS):
        if el.tag == "{http://www.opengis.net/gml}name":
            names.append(etree.tostring(el, encoding="unicode"))
    assert names and "TOPSECRET" not in names[0]
    assert not _connected(listener)


def test_not_xml_at_all(tmp_path):
    path = tmp_path / "53385628_bldg_6697_op.gml"
    path.write_bytes(b"\x00\x01 this is not xml")
    with pytest.raises(CityGMLError) as info:
        read_buildings(path, progress=False)
    assert "53385628_bldg_6697_op.gml" in str(info.value)


def test_truncated_file_names_the_line(tmp_path):
    text = f'<?xml version="1.0"?>\n{_HEAD}\n{_building("a")}\n{_building("b")}'
    path = tmp_path / "53385628_bldg_6697_op.gml"
    path.write_text(text[: len(text) - 40], encoding="utf-8")
    with pytest.raises(CityGMLError) as info:
        read_buildings(path, progress=False)
    assert info.value.line is not None and info.value.line >= 3
    assert str(path) in str(info.value)
