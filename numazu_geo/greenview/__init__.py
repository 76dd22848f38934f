"""numazu_geo.greenview: green view index (緑視率) from street photos and 360-degree panoramas."""
