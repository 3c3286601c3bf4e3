# ruff: noqa: RUF001, RUF002, RUF003
# (λ, σ and κ are the USL's own names)
"""The Universal Scalability Law fitted to a sweep: throughput X(N) = λN / (1 + σ(N-1) + κN(N-1)).

λ is the throughput of one connection, σ the contention (a serial share: Amdahl's law alone
gives a ceiling λ/σ), κ the coherency cost (the retrograde part: past N* = √((1-σ)/κ) more
connections lower throughput). Fitted with scipy's ``curve_fit`` with bounds (σ, κ in [0, 1],
λ > 0), weighted by each point's noise, started from usl4j's guess (λ from the smallest N); the
standard errors are the square roots of the covariance's diagonal.

A pool sweep often does not follow the USL: a fixed thread count or an arrival rate caps the
throughput with a corner (linear, then flat), which the smooth USL cannot bend into. That is a
plateau, and ``Fit.plateau`` says so plainly instead of calling its N* a peak.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_POINTS = 4  # fewer distinct sizes: no fit (three parameters)
FEW_POINTS = 6  # usl4j's minimum for a fit worth trusting: fewer is said
KNEE_SHARE = 0.95  # the knee: the smallest N reaching this share of the peak
PLATEAU_BAND = 0.05  # points past the knee within this share of the peak: a plateau
POOR_R2 = 0.9  # below: the curve does not follow the USL


def usl(n: Any, lam: float, sigma: float, kappa: float) -> Any:
    """X(N): works on a number or a numpy array."""
    n = np.asarray(n, dtype=float)
    return lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


@dataclass(frozen=True)
class Fit:
    """The fitted law, its uncertainties and how well it follows the points."""

    lam: float
    sigma: float
    kappa: float
    lam_se: float
    sigma_se: float
    kappa_se: float
    r2: float
    residuals: tuple[float, ...]  # measured - fitted, per point (in the points' order)
    sizes: tuple[int, ...]
    plateau: bool  # the points flatten out without a retrograde part
    points: int

    @property
    def peak_n(self) -> float | None:
        """N* = √((1-σ)/κ): None when κ is 0 (no retrograde part: no peak)."""
        if self.kappa <= 0:
            return None
        return math.sqrt(max(0.0, 1.0 - self.sigma) / self.kappa)

    @property
    def peak_throughput(self) -> float:
        """X(N*), or the ceiling λ/σ without a peak (inf when σ is 0 too)."""
        peak = self.peak_n
        if peak is not None:
            return float(usl(peak, self.lam, self.sigma, self.kappa))
        return self.lam / self.sigma if self.sigma > 0 else math.inf

    def predict(self, n: float) -> float:
        return float(usl(n, self.lam, self.sigma, self.kappa))

    @property
    def kappa_is_zero(self) -> bool:
        """κ within two standard errors of 0: the data shows no retrograde part."""
        return self.kappa <= 2 * self.kappa_se or self.kappa < 1e-9

    @property
    def follows_usl(self) -> bool:
        return self.r2 >= POOR_R2 and not self.plateau

    def sentence(self) -> str:
        """What the fit says, plainly (one or two sentences)."""
        few = f" (only {self.points} sizes: a rough fit)" if self.points < FEW_POINTS else ""
        if self.plateau:
            return (
                "throughput plateaus: it rises with the pool size, then stays flat within "
                f"{PLATEAU_BAND:.0%} with no retrograde part, so the limit is outside the pool "
                "(the threads, the arrival rate or the server) and the USL's N* does not apply; "
                f"the knee is the size to use{few}."
            )
        if self.r2 < POOR_R2:
            return (
                f"the points do not follow the USL (R² {self.r2:.2f}): trust the measured points, "
                f"not the curve{few}."
            )
        peak = self.peak_n
        if (peak is None or self.kappa_is_zero) and self.sigma <= 2 * self.sigma_se:
            return (
                f"throughput still rises about linearly (σ {self.sigma:.2g} ±{self.sigma_se:.2g}, "
                f"κ {self.kappa:.2g} ±{self.kappa_se:.2g}): no ceiling within the sizes "
                f"measured; more connections than these would still help{few}."
            )
        if peak is None or self.kappa_is_zero:
            return (
                f"no retrograde part within the sizes measured (κ {self.kappa:.2g} ±"
                f"{self.kappa_se:.2g}): throughput still rises or levels towards "
                f"{_rate(self.peak_throughput)}{few}."
            )
        return (
            f"the USL peaks at N* ≈ {peak:.1f} ({_rate(self.peak_throughput)}); past it more "
            f"connections lower throughput{few}."
        )

    def as_dict(self) -> dict[str, Any]:
        peak = self.peak_n
        return {
            "lambda": _r(self.lam),
            "sigma": _r(self.sigma),
            "kappa": _r(self.kappa),
            "lambda_se": _r(self.lam_se),
            "sigma_se": _r(self.sigma_se),
            "kappa_se": _r(self.kappa_se),
            "peak_n": None if peak is None else _r(peak),
            "peak_throughput_rps": None
            if math.isinf(self.peak_throughput)
            else _r(self.peak_throughput),
            "r2": _r(self.r2),
            "residuals": [_r(v) for v in self.residuals],
            "sizes": list(self.sizes),
            "plateau": self.plateau,
            "follows_usl": self.follows_usl,
            "sentence": self.sentence(),
        }


def _r(value: float) -> float:
    return round(float(value), 6) if math.isfinite(value) else float(value)


def _rate(value: float) -> str:
    return "no ceiling" if math.isinf(value) else f"{value:.0f} req/s"


def knee(
    sizes: Sequence[int], throughputs: Sequence[float], share: float = KNEE_SHARE
) -> int | None:
    """The smallest measured size whose throughput reaches ``share`` of the best measured."""
    if not sizes:
        return None
    best = max(throughputs)
    for n, x in sorted(zip(sizes, throughputs, strict=True)):
        if x >= share * best:
            return n
    return None


def flat_top(sizes: Sequence[int], throughputs: Sequence[float]) -> bool:
    """The points past the knee (at least two) all stay within PLATEAU_BAND of the peak."""
    k = knee(sizes, throughputs)
    if k is None:
        return False
    best = max(throughputs)
    beyond = [x for n, x in zip(sizes, throughputs, strict=True) if n > k]
    return len(beyond) >= 2 and all(x >= (1 - PLATEAU_BAND) * best for x in beyond)


def corner_sse(sizes: Sequence[int], throughputs: Sequence[float]) -> float:
    """The squared error of the best corner ``min(λN, M)`` (linear, then flat): the shape a
    thread count or an arrival rate gives, which the smooth USL cannot take."""
    n = np.asarray(sizes, dtype=float)
    x = np.asarray(throughputs, dtype=float)
    order = np.argsort(n)
    n, x = n[order], x[order]
    best = math.inf
    for split in range(1, len(n)):
        rising, flat = slice(0, split), slice(split, len(n))
        lam = float(np.dot(n[rising], x[rising]) / np.dot(n[rising], n[rising]))
        top = float(np.mean(x[flat]))
        sse = float(np.sum((np.minimum(lam * n, top) - x) ** 2))
        best = min(best, sse)
    return best


def fit(
    sizes: Sequence[int], throughputs: Sequence[float], noise: Sequence[float] | None = None
) -> Fit | None:
    """The USL through the points (one per size, its median; ``noise`` its absolute spread,
    used as the weights), or None with fewer than MIN_POINTS distinct sizes or a failed fit."""
    from scipy.optimize import curve_fit

    if len(set(sizes)) < MIN_POINTS:
        return None
    n = np.asarray(sizes, dtype=float)
    x = np.asarray(throughputs, dtype=float)
    if not np.all(np.isfinite(x)) or x.max() <= 0:
        return None
    smallest = int(np.argmin(n))
    lam0 = max(x[smallest] / n[smallest], 1e-9)
    sigma_w = None
    if noise is not None:
        floor = max(1e-9, 0.01 * float(np.median(x)))  # a point with no spread is not exact
        sigma_w = np.maximum(np.asarray(noise, dtype=float), floor)
    try:
        params, cov = curve_fit(
            usl,
            n,
            x,
            p0=(lam0, 0.01, 0.0001),
            bounds=((0.0, 0.0, 0.0), (np.inf, 1.0, 1.0)),
            sigma=sigma_w,
            absolute_sigma=False,
            maxfev=20000,
        )
    except (RuntimeError, ValueError):
        return None
    fitted = usl(n, *params)
    residuals = x - fitted
    total = float(np.sum((x - x.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residuals**2)) / total if total > 0 else 1.0
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None)) if np.all(np.isfinite(cov)) else [np.inf] * 3
    lam, sigma, kappa = (float(v) for v in params)
    return Fit(
        lam=lam,
        sigma=sigma,
        kappa=kappa,
        lam_se=float(errors[0]),
        sigma_se=float(errors[1]),
        kappa_se=float(errors[2]),
        r2=r2,
        residuals=tuple(float(v) for v in residuals),
        sizes=tuple(int(v) for v in sizes),
        plateau=flat_top(sizes, throughputs)
        and corner_sse(sizes, throughputs) < float(np.sum(residuals**2)),
        points=len(set(sizes)),
    )
