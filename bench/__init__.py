"""vrooli benchmarks: engine throughput, scaling, concurrency, memory and start-up time.

Run ``python -m bench`` (or ``python bench/run.py``) from the repository root; see ``bench/README.md``.
Each case runs in its own subprocess and prints one JSON object. Nothing here is a unit test: the
numbers are compared against targets and reported, never asserted.
"""
