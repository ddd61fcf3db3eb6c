"""Benchmark scripts and their data generators (not part of the installed package)."""
