"""`python -m pooltui` is the `pooltui` command."""

import sys

from pooltui.cli import main

sys.exit(main())
