"""The instrumented pool: a real DBUtils PooledDB with the gauges, counters and timings it lacks
(``instrumented``), each thread's way in (``leases``), the raw-connection proxy DBUtils calls
(``raw_connection``), the stats it reports (``stats``) and its histograms (``histogram``)."""

from pooltui.core.pool.instrumented import InstrumentedPool, LeakReport, PoolEvent

__all__ = ["InstrumentedPool", "LeakReport", "PoolEvent"]
