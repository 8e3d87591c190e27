"""litebridge benchmarks: ``python -m bench`` (see :mod:`bench.runner`)."""
