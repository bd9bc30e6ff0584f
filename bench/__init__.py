"""Benchmarks (not tests): run with `make bench` or `python -m bench.room_bench`; see bench/README.md."""
