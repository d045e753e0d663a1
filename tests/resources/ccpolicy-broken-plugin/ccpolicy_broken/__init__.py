"""Test fixture: a distribution whose policy entry points are broken on purpose."""
