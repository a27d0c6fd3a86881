"""outreach benchmarks: `python -m benchmarks` measures each hot path against its honest alternative.

One module per case (`bench_<case>.py`, each with `run(ctx) -> list[Row]`); `common` holds the shared pieces
(sizes, timing, generated data, the machine description) and `report` writes docs/performance.md.
"""
