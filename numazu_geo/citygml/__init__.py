"""numazu_geo.citygml (see ../shared/ARCHITECTURE.md)."""
