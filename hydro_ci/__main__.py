import sys

from hydro_ci.cli import main

sys.exit(main())
