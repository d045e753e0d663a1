"""Policies for the parity suite: a verdict chosen by parameter, and a concurrent switch."""
