"""Statistics behind the built-in policies; the public names live in :mod:`ccpolicy.stats`."""
