"""How close are the diagnosis' queueing predictions to what a real PooledDB does?

Open-loop (Poisson) workloads on PostgreSQL against a warm pool of N connections (mincached =
maxcached = maxconnections = N, blocking=True) with rates chosen for 50-95 % utilisation. For
each, the Erlang C prediction (P(wait) and mean wait, from the *measured* arrival rate and mean
hold, i.e. A = lambda x W_s) is compared with the measured figures (core/diagnosis/verify.py):

* P(wait) measured: the fraction of acquires that found every connection busy on arrival;
  "timed" beside it is the fraction whose acquire took longer than 1 ms.
* mean wait measured: the mean of every acquire time, waiting or not.

Two hold shapes. ``const``: the engine's own workload, SELECT 1 then a fixed ``hold_ms`` (an
M/D/N queue: less variable holds than the model assumes, so less waiting than predicted).
``exp``: the hold is ``pg_sleep`` of an exponentially distributed time (an M/M/N queue, the
model's own assumption). Goal: |predicted - measured| P(wait) <= 0.1 for every workload.

Near saturation an M/M/N queue relaxes slowly (about W_s / (1 - sqrt(rho))^2: some 4 s at
rho = 0.85 but 20 s at 0.93 for N = 8), so a run of a few seconds samples only a few busy
periods there and its P(wait) scatters by +-0.1 from run to run; the workloads therefore
stop at a planned 85 % (the measured rho comes out a few points higher, because a
connection is also busy for the query round trip and DBUtils' rollback on return).

    .venv/bin/python bench/model_accuracy.py [--seconds 8] [--dsn postgresql://...] [--only exp]
"""

from __future__ import annotations

import argparse
import sys
import time

from pooltui.core.config import PoolConfig, Workload
from pooltui.core.diagnosis import queueing as q
from pooltui.core.diagnosis.verify import measure
from pooltui.core.targets import parse_dsn

DSN = "postgresql://postgres@127.0.0.1:5432/test"
GOAL = 0.1
# (hold shape, N connections, mean hold in ms, planned utilisation)
WORKLOADS = (
    ("const", 4, 30.0, 0.55),
    ("const", 4, 40.0, 0.85),
    ("const", 6, 25.0, 0.70),
    ("const", 8, 30.0, 0.85),
    ("exp", 4, 30.0, 0.60),
    ("exp", 6, 30.0, 0.75),
    ("exp", 8, 25.0, 0.85),
)


def workload_for(shape: str, n: int, hold_ms: float, rho: float, seconds: float) -> Workload:
    """Poisson at rho x N / hold; 4 N threads so arrivals queue at the pool, not for a thread."""
    rate = rho * n / (hold_ms / 1000.0)
    if shape == "const":
        return Workload(
            threads=4 * n,
            duration_s=seconds,
            query="SELECT 1",
            hold_ms=hold_ms,
            pattern="poisson",
            rate=rate,
        )
    # -ln(1 - U) is Exp(1) for U uniform in [0, 1): an exponential hold with the given mean
    query = f"SELECT pg_sleep(-ln(1.0 - random()) * {hold_ms / 1000.0:.6f})"
    return Workload(
        threads=4 * n, duration_s=seconds, query=query, hold_ms=0.0, pattern="poisson", rate=rate
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument("--dsn", default=DSN)
    parser.add_argument("--only", choices=("const", "exp"))
    args = parser.parse_args()
    target = parse_dsn(args.dsn)
    started = time.perf_counter()
    header = (
        f"{'hold':<6}{'N':>3}{'W_s ms':>8}{'rate/s':>8}{'A':>6}{'rho':>6}  "
        f"{'P(wait) pred':>12}{'meas':>7}{'timed':>7}{'error':>8}  "
        f"{'mean wait pred':>14}{'meas':>8}{'ratio':>7}"
    )
    print(
        f"model accuracy on {target.redacted}, {args.seconds:g} s per workload "
        f"({args.seconds * 1.5:g} s at >= 85 % utilisation)"
    )
    print(header)
    errors: dict[str, list[float]] = {"const": [], "exp": []}
    for shape, n, hold_ms, rho in WORKLOADS:
        if args.only and shape != args.only:
            continue
        # near saturation busy periods are long and P(wait) steep in A: measure longer
        seconds = args.seconds * (1.5 if rho >= 0.85 else 1.0)
        workload = workload_for(shape, n, hold_ms, rho, seconds)
        config = PoolConfig(mincached=n, maxcached=n, maxconnections=n, blocking=True)
        m = measure(target, config, workload, warm=True, seed=n * 1000 + int(hold_ms))
        a = m.offered_load
        p_pred = q.erlang_c(n, a)
        wait_pred = q.mean_wait_s(n, a, m.hold_ms / 1000.0) * 1000.0
        error = m.p_wait - p_pred
        errors[shape].append(error)
        ratio = f"{m.mean_wait_ms / wait_pred:.2f}" if wait_pred else "-"
        print(
            f"{shape:<6}{n:>3}{m.hold_ms:>8.1f}{m.rate_per_s:>8.1f}{a:>6.2f}{a / n:>6.0%}  "
            f"{p_pred:>12.3f}{m.p_wait:>7.3f}{m.p_wait_timed:>7.3f}{error:>+8.3f}  "
            f"{wait_pred:>14.2f}{m.mean_wait_ms:>8.2f}{ratio:>7}",
            flush=True,
        )
        if m.errors:
            print(f"      ({m.errors} failed requests: {m.result.error_kinds})")
    worst = max((abs(e) for values in errors.values() for e in values), default=0.0)
    for shape, values in errors.items():
        if values:
            print(f"max |P(wait) error| {shape}: {max(abs(e) for e in values):.3f}")
    verdict = "met" if worst <= GOAL else "NOT met"
    print(
        f"max |P(wait) error| overall: {worst:.3f} (goal <= {GOAL:g}: {verdict}); "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
