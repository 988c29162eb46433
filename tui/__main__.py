"""Provides ``python -m tui``: the same as the ``ferryman`` command."""

import sys

from tui.cli import main

sys.exit(main())
