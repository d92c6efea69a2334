"""Benchmarks (not tests): each module prints a table; `make bench` runs them."""
