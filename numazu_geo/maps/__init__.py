"""numazu_geo.maps (see ../shared/ARCHITECTURE.md)."""
