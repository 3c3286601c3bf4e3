"""The instrumented pool: a real DBUtils PooledDB with the gauges, counters and timings it lacks
(``instrumented``), each thread's way in (``leases``), leak detection (``leaks``), the
raw-connection proxy DBUtils calls (``raw_connection``), the stats it reports (``stats``), its
histograms (``histogram``), every private DBUtils internal it reads (``_dbutils``), and what
the engine needs of a pool (``protocol``: PoolLike)."""

from pooltui.core.pool.instrumented import InstrumentedPool, PoolEvent
from pooltui.core.pool.leaks import LeakReport
from pooltui.core.pool.protocol import BorrowerLike, PoolLike

__all__ = ["BorrowerLike", "InstrumentedPool", "LeakReport", "PoolEvent", "PoolLike"]
