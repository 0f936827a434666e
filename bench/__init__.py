"""Dragonfly benchmark: one run on loopback, medians of interleaved rounds -> bench/RESULTS.md."""
