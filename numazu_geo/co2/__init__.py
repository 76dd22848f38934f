"""numazu_geo.co2 (see ../shared/ARCHITECTURE.md)."""
