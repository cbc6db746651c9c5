"""`python -m stdf_duck.cli`: the `stdf-duck` command."""

import sys

from .main import main

sys.exit(main())
