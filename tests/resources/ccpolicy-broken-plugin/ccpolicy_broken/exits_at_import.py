"""A policy module that calls sys.exit() at import, as a careless script-turned-plugin does."""

import sys

sys.exit(3)
