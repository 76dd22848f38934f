"""numazu_geo.greenview (see ../shared/ARCHITECTURE.md)."""
