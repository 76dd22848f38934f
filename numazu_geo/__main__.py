import sys

from numazu_geo.cli import main

sys.exit(main())
