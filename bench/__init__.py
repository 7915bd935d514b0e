"""Linli's benchmark harness (issue 6): ``python -m bench run --people 100000 --runs 3``.

The orchestrator (:mod:`bench.cli`) never imports Django: it prepares databases by scale
(:mod:`bench.prepare`), then runs every measurement in a fresh child process
(:mod:`bench.worker`, with ``DATABASE_URL`` and ``LINLI_VAR_DIR`` of the prepared database), so
that each figure's peak memory is its own process's and no run warms the next one's caches in
Python. Figures are collected as :class:`bench.figures.Figure`, printed as a table (median of
the runs, reference measured in the same run, ratio, target, pass/fail) and written as JSON.
See docs/performance.md for how to run it and the figures it produced.
"""
