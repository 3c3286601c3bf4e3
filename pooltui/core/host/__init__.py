"""The pool host: the console's pool and its load in a child process of their own.

A burst's threads are GIL-bound: every CPU millisecond the console's UI thread spends drawing
was a millisecond none of them ran (the console measured 0.78 of the headless throughput).
``HostedPool`` (hosted.py) has the InstrumentedPool surface the console uses, while the pool,
its warm-ups and its runs live in a process started from a forkserver (child.py); the two
talk over one pipe (protocol.py).
"""

from pooltui.core.host.hosted import HostedPool

__all__ = ["HostedPool"]
