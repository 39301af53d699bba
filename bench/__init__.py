"""Benchmarks, each measured next to a baseline in the same run: `make bench` (python -m bench)."""
