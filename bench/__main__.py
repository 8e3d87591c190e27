"""``python -m bench``: run the benchmark (see :mod:`bench.runner`)."""

from .runner import main

raise SystemExit(main())
