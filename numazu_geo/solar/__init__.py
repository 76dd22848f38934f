"""numazu_geo.solar (see ../shared/ARCHITECTURE.md)."""
