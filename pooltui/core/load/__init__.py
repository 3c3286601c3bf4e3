"""Load against a pool: warm-up, the run loop and its results (``engine``)."""
