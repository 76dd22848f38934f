"""Building addresses: ``bldg:address/core:Address/core:xalAddress`` (OASIS xAL 2.0; xAL 3 in CityGML 3).

PLATEAU writes the address as xAL ``AddressDetails``: ``Country/CountryName`` (日本) and
``Locality/LocalityName`` holding the whole address text (e.g. 「東京都大田区南六郷三丁目」), sometimes
with ``ThoroughFare``/``Premise`` parts. :func:`xal_address` joins the parts a person reads, in
document order, leaving out the country and the postal code (own columns would be needed for those).

Reference: MLIT, 3D都市モデル標準製品仕様書 第4.0版 (2024), 建築物 bldg:address; OASIS xAL 2.0.
"""

from __future__ import annotations

#: xAL element names (local names) whose text is part of the address a person reads
ADDRESS_PARTS = frozenset({
    "AdministrativeAreaName", "SubAdministrativeAreaName", "LocalityName", "DependentLocalityName",
    "ThoroughfareName", "ThoroughFareName", "ThoroughfareNumber", "ThoroughFareNumber", "PremiseName",
    "PremiseNumber", "SubPremiseName", "SubPremiseNumber", "AddressLine", "NameElement",
})


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def xal_address(el) -> str | None:
    """The address text under ``el`` (a ``bldg:address`` or ``core:Address`` element), or None.

    >>> from lxml import etree
    >>> x = etree.fromstring('<a xmlns:x="urn:oasis:names:tc:ciq:xsdschema:xAL:2.0"><x:Country>'
    ...     '<x:CountryName>日本</x:CountryName><x:Locality><x:LocalityName>東京都大田区南六郷三丁目'
    ...     '</x:LocalityName></x:Locality></x:Country></a>')
    >>> xal_address(x)
    '東京都大田区南六郷三丁目'
    """
    parts: list[str] = []
    for node in el.iter():
        if _local(node.tag) in ADDRESS_PARTS and node.text and node.text.strip():
            text = " ".join(node.text.split())
            if text not in parts:
                parts.append(text)
    return " ".join(parts) or None
