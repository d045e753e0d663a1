"""Test support: what the tests and the benchmarks need and the product does not ship."""
