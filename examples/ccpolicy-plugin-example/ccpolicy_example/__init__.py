"""Example champion-challenger policy plugin: promote on a minimum lift in the top-scored rows."""
