"""`python -m surveillance.cli`: the same as the `surveillance` command."""

import sys

from surveillance.cli import main

sys.exit(main())
