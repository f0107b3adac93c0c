"""The scalar samplers of the reference implementation (benchmarks/reference.py): a draw from
a named prior, and exact Poisson and binomial counts by inversion of one uniform, in pure
Python with the ``random`` module (nothing from okma_sim)."""

from __future__ import annotations

import math
import random

__all__ = ["draw_prior", "poisson", "binomial", "binomial_normal"]


def draw_prior(dist: str, a: dict[str, float], rng: random.Random) -> float:
    """One draw from a named prior."""
    if dist == "fixed":
        return float(a["value"])
    if dist == "uniform":
        return rng.uniform(a["low"], a["high"])
    if dist == "triangular":
        return rng.triangular(a["low"], a["high"], a["mode"])
    if dist == "pert":
        w = a["high"] - a["low"]
        al = 1 + 4 * (a["mode"] - a["low"]) / w
        be = 1 + 4 * (a["high"] - a["mode"]) / w
        return a["low"] + w * rng.betavariate(al, be)
    if dist == "normal":
        lo, hi = a.get("low", -math.inf), a.get("high", math.inf)
        while True:  # truncation by rejection
            x = rng.gauss(a["mu"], a["sigma"])
            if lo <= x <= hi:
                return x
    if dist == "lognormal":
        return a["median"] * math.exp(a["sigma"] * rng.gauss(0.0, 1.0))
    if dist == "gamma":
        return rng.gammavariate(a["shape"], a["scale"])
    if dist == "beta":
        return rng.betavariate(a["a"], a["b"])
    raise ValueError(f"unknown distribution {dist!r}")


def poisson(lam: float, rng: random.Random) -> int:
    """Exact Poisson(lam), by inversion of one uniform (split when exp(-lam) would underflow)."""
    if lam <= 0.0:
        return 0
    if lam > 500.0:
        half = lam / 2.0
        return poisson(half, rng) + poisson(lam - half, rng)
    u = rng.random()
    k, p = 0, math.exp(-lam)
    F = p
    while u > F and k < 10_000:
        k += 1
        p *= lam / k
        F += p
        if p == 0.0:
            break
    return k


def binomial(n: int, q: float, rng: random.Random) -> int:
    """Exact Binomial(n, q), by inversion of one uniform (from the shorter side)."""
    if n <= 0 or q <= 0.0:
        return 0
    if q >= 1.0:
        return n
    if q > 0.5:
        return n - binomial(n, 1.0 - q, rng)
    u = rng.random()
    k, p = 0, (1.0 - q) ** n
    F, r = p, q / (1.0 - q)
    while u > F and k < n:
        k += 1
        p *= r * (n - k + 1) / k
        F += p
    return k


def binomial_normal(n: int, q: float, rng: random.Random) -> int:
    """The engine's revisit law: ceil(nq + z sqrt(nq(1-q)) - 1/2) clipped to [0, n]."""
    mu = n * q
    k = math.ceil(mu + rng.gauss(0.0, 1.0) * math.sqrt(max(mu * (1.0 - q), 0.0)) - 0.5)
    return int(min(max(k, 0), n))


