"""Benchmarks, run by ``make bench`` (``python -m bench``); results as JSON in bench/results/."""
