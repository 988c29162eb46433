"""Provides where Ferryman keeps its files (platformdirs: XDG on Linux).

``FERRYMAN_HOME``, when set, puts everything under one folder (config/ and data/): tests and
sandboxes use it to stay hermetic.
"""

from __future__ import annotations

import os

import platformdirs


def config_dir() -> str:
    home = os.environ.get("FERRYMAN_HOME")
    return os.path.join(home, "config") if home else platformdirs.user_config_dir("ferryman")


def data_dir() -> str:
    home = os.environ.get("FERRYMAN_HOME")
    return os.path.join(home, "data") if home else platformdirs.user_data_dir("ferryman")
