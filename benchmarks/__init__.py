"""Benchmarks: tasks and their protocols, models, exact search, metrics, statistics and results."""
