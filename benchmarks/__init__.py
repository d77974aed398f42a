"""framecast's benchmark suite: ``python benchmarks/run.py [--quick] [--scenario NAME]``.

Never part of the default test run (``tests/test_benchmarks_smoke.py`` runs each scenario
with tiny sizes so the suite cannot rot). See ``docs/performance.md``.
"""
