"""Benchmarks and load drivers for cityflow; run with ``make bench`` (never part of ``make test``)."""
