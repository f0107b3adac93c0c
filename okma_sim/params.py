"""Uncertain parameters: a small named family of distributions, plus any scipy.stats frozen one.

The engine never calls ``rvs``: it draws uniforms (plain Monte Carlo, Latin hypercube or
scrambled Sobol), optionally rank-correlates them, and maps them through ``ppf``. That is what
lets it build designs, pin a parameter at its p10/p90 for a tornado, and reweight on actuals.

Named distributions (the ones a scenario file can hold):

===========  =======================  ====================================================
name         keys                     meaning
===========  =======================  ====================================================
fixed        value                    a constant (no uncertainty)
uniform      low, high                flat on [low, high]
triangular   low, mode, high          triangular
pert         low, mode, high          Beta-PERT (lambda = 4) on [low, high]
normal       mu, sigma                normal; optional ``low``/``high`` truncate it
lognormal    median, sigma            log X ~ Normal(log median, sigma)
gamma        shape, scale             gamma, mean shape*scale
beta         a, b                     beta on [0, 1]
===========  =======================  ====================================================
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from scipy import stats

from okma_sim._core.errors import PlanError
from okma_sim._core.numbers import MAX_MAGNITUDE, magnitude_problem

__all__ = ["Distribution", "DIST_KEYS", "as_distribution", "ppf", "describe"]

#: Required keys of each named distribution, and optional ones.
DIST_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fixed": (("value",), ()),
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "pert": (("low", "mode", "high"), ()),
    "normal": (("mu", "sigma"), ("low", "high")),
    "lognormal": (("median", "sigma"), ()),
    "gamma": (("shape", "scale"), ()),
    "beta": (("a", "b"), ()),
}


@dataclass(frozen=True)
class Distribution:
    """A named distribution, as written in a scenario file.

    Parameters
    ----------
    dist : str
        One of ``fixed, uniform, triangular, pert, normal, lognormal, gamma, beta``.
    args : dict
        Its keys (see the module docstring).

    Examples
    --------
    >>> d = Distribution("pert", {"low": 0.0, "mode": 0.1, "high": 0.19})
    >>> round(float(d.ppf(0.5)), 4)
    0.0987
    """

    dist: str
    args: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", dict(self.args))
        _check(self.dist, self.args, key="")

    # scipy-like surface -------------------------------------------------------------------
    def frozen(self):
        """The equivalent scipy.stats frozen distribution (``None`` for ``fixed``)."""
        a = self.args
        d = self.dist
        if d == "fixed":
            return None
        if d == "uniform":
            return stats.uniform(loc=a["low"], scale=a["high"] - a["low"])
        if d == "triangular":
            width = a["high"] - a["low"]
            c = 0.5 if width == 0 else (a["mode"] - a["low"]) / width
            return stats.triang(c, loc=a["low"], scale=width)
        if d == "pert":
            width = a["high"] - a["low"]
            al = 1 + 4 * (a["mode"] - a["low"]) / width
            be = 1 + 4 * (a["high"] - a["mode"]) / width
            return stats.beta(al, be, loc=a["low"], scale=width)
        if d == "normal":
            lo = a.get("low", -math.inf)
            hi = a.get("high", math.inf)
            if math.isinf(lo) and math.isinf(hi):
                return stats.norm(a["mu"], a["sigma"])
            return stats.truncnorm((lo - a["mu"]) / a["sigma"], (hi - a["mu"]) / a["sigma"],
                                   loc=a["mu"], scale=a["sigma"])
        if d == "lognormal":
            return stats.lognorm(a["sigma"], scale=a["median"])
        if d == "gamma":
            return stats.gamma(a["shape"], scale=a["scale"])
        if d == "beta":
            return stats.beta(a["a"], a["b"])
        raise AssertionError(d)  # unreachable: checked in __post_init__

    def ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Quantile function, vectorised over ``u`` in (0, 1)."""
        if self.dist == "fixed":
            return np.full(np.shape(u), float(self.args["value"]))
        return self.frozen().ppf(u)

    def mean(self) -> float:
        if self.dist == "fixed":
            return float(self.args["value"])
        return float(self.frozen().mean())

    def support(self) -> tuple[float, float]:
        if self.dist == "fixed":
            v = float(self.args["value"])
            return v, v
        lo, hi = self.frozen().support()
        return float(lo), float(hi)

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.dist, **self.args}


def _num(x: Any, key: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise PlanError("must be a number", key=key, value=x)
    problem = magnitude_problem(int(x) if isinstance(x, (int, np.integer)) else float(x))
    if problem:
        raise PlanError(problem, key=key, value=x)
    return x


def _check(dist: str, args: Mapping[str, Any], key: str) -> None:
    sep = "." if key else ""
    if dist not in DIST_KEYS:
        raise PlanError(f"unknown distribution; use one of {', '.join(DIST_KEYS)}",
                        key=f"{key}{sep}dist", value=dist)
    required, optional = DIST_KEYS[dist]
    for k in args:
        if k not in required and k not in optional:
            raise PlanError(f"unknown key for a {dist} distribution; it takes "
                            f"{', '.join(required + optional)}", key=f"{key}{sep}{k}", value=args[k])
    for k in required:
        if k not in args:
            raise PlanError(f"a {dist} distribution needs '{k}'", key=f"{key}{sep}{k}",
                            value=None)
    a = {k: _num(v, f"{key}{sep}{k}") for k, v in args.items()}

    def bad(k: str, why: str) -> PlanError:
        return PlanError(why, key=f"{key}{sep}{k}", value=a[k])

    if dist in ("uniform", "triangular", "pert"):
        if a["low"] > a["high"]:
            raise bad("low", f"low must not exceed high ({a['high']})")
        if a["low"] == a["high"]:
            raise bad("high", f"a {dist} distribution needs low < high (use dist = 'fixed' "
                              "for a constant)")
        if dist in ("triangular", "pert") and not a["low"] <= a["mode"] <= a["high"]:
            raise bad("mode", f"mode must lie in [low, high] = [{a['low']}, {a['high']}]")
    elif dist == "normal":
        if a["sigma"] <= 0:
            raise bad("sigma", "sigma must be positive")
        if "low" in a and "high" in a and a["low"] >= a["high"]:
            raise bad("low", f"low must be below high ({a['high']})")
    elif dist == "lognormal":
        if a["median"] <= 0:
            raise bad("median", "median must be positive")
        if a["sigma"] <= 0:
            raise bad("sigma", "sigma must be positive")
    elif dist == "gamma":
        for k in ("shape", "scale"):
            if a[k] <= 0:
                raise bad(k, f"{k} must be positive")
    elif dist == "beta":
        for k in ("a", "b"):
            if a[k] <= 0:
                raise bad(k, f"{k} must be positive")
    _check_tails(dist, a, bad)


#: the tail probability whose quantiles must stay within MAX_MAGNITUDE (a million paths draw
#: beyond it about once in a thousand runs, and then only a little)
_TAIL = 1e-9
#: the key that stretches each unbounded distribution's tail
_SPREAD_KEY = {"normal": "sigma", "lognormal": "sigma", "gamma": "scale"}


def _check_tails(dist: str, a: Mapping[str, float], bad) -> None:
    """Refuse a distribution whose draws would leave the size a number may have (a lognormal
    with a huge sigma): the models would overflow on them."""
    if dist not in _SPREAD_KEY:
        return  # bounded by low/high or [0, 1], already checked
    frozen = Distribution.__new__(Distribution)
    object.__setattr__(frozen, "dist", dist)
    object.__setattr__(frozen, "args", dict(a))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy on extreme shapes: the result is checked
        tails = np.asarray(frozen.frozen().ppf([_TAIL, 1 - _TAIL]), dtype=float)
    worst = float(np.max(np.abs(tails))) if np.all(np.isfinite(tails)) else math.inf
    if worst > MAX_MAGNITUDE:
        raise bad(_SPREAD_KEY[dist], f"too wide: its draws reach {worst:.3g}, beyond the "
                  f"{MAX_MAGNITUDE:g} a number may have")


# scipy frozen -> named, so that plans built in Python with scipy objects can still be saved.
def _from_scipy(obj) -> Distribution | None:
    name = getattr(getattr(obj, "dist", None), "name", None)
    try:
        # scipy's own parser splits positional/keyword args into (shapes, loc, scale)
        shapes, loc, scale = obj.dist._parse_args(*obj.args, **obj.kwds)
        shapes, loc, scale = [float(s) for s in shapes], float(loc), float(scale)
    except Exception:
        return None
    if name == "norm":
        return Distribution("normal", {"mu": loc, "sigma": scale})
    if name == "uniform":
        return Distribution("uniform", {"low": loc, "high": loc + scale})
    if name == "lognorm" and loc == 0.0:
        return Distribution("lognormal", {"median": scale, "sigma": shapes[0]})
    if name == "gamma" and loc == 0.0:
        return Distribution("gamma", {"shape": shapes[0], "scale": scale})
    if name == "beta" and loc == 0.0 and scale == 1.0:
        return Distribution("beta", {"a": shapes[0], "b": shapes[1]})
    if name == "triang":
        return Distribution("triangular", {"low": loc, "mode": loc + shapes[0] * scale,
                                           "high": loc + scale})
    return None


def as_distribution(spec: Any, key: str = "") -> Any:
    """Normalise a parameter spec: a mapping with ``dist``, a number, a Distribution, or a
    scipy.stats frozen distribution (kept as is when it has no named equivalent).

    Examples
    --------
    >>> as_distribution({"dist": "normal", "mu": 0.1, "sigma": 0.04})
    Distribution(dist='normal', args={'mu': 0.1, 'sigma': 0.04})
    >>> as_distribution(0.3)
    Distribution(dist='fixed', args={'value': 0.3})
    """
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return Distribution("fixed", {"value": _num(spec, key)})
    if isinstance(spec, Mapping):
        if "dist" not in spec:
            raise PlanError("a parameter needs a 'dist' key", key=f"{key}.dist", value=None)
        name = spec["dist"]
        if not isinstance(name, str):
            raise PlanError("dist must be a string", key=f"{key}.dist", value=name)
        args = {k: v for k, v in spec.items() if k != "dist"}
        try:
            return Distribution(name, args)
        except PlanError as exc:
            # re-locate: Distribution checked with an empty key path
            raise _relocate(exc, key) from None
    if hasattr(spec, "ppf") and hasattr(spec, "dist"):
        return spec  # scipy frozen: usable in Python, refused by save() unless named
    raise PlanError("a parameter must be a number, a table with 'dist', or a scipy.stats "
                    "frozen distribution", key=key, value=spec)


def _relocate(exc: PlanError, prefix: str) -> PlanError:
    k = exc.key or ""
    return PlanError(exc.message, key=f"{prefix}.{k}" if prefix else k, value=exc.value)


def to_named(spec: Any, key: str = "") -> Distribution:
    """The named form of a spec, or a PlanError if it has none (used by ``save``)."""
    if isinstance(spec, Distribution):
        return spec
    named = _from_scipy(spec)
    if named is None:
        name = getattr(getattr(spec, "dist", None), "name", type(spec).__name__)
        raise PlanError("this distribution cannot be saved to a scenario file; use one of "
                        f"{', '.join(DIST_KEYS)}", key=key, value=f"scipy.stats.{name}")
    return named


def ppf(spec: Any, u: np.ndarray) -> np.ndarray:
    """Quantile function of any accepted spec (named or scipy frozen)."""
    return np.asarray(spec.ppf(u), dtype=float)


def describe(spec: Any) -> str:
    """Short human text, e.g. ``pert(low=0, mode=0.1, high=0.19)``."""
    d = spec if isinstance(spec, Distribution) else _from_scipy(spec)
    if d is None:
        return f"scipy.stats.{spec.dist.name}{tuple(spec.args)}"
    inner = ", ".join(f"{k}={v:g}" for k, v in d.args.items())
    return f"{d.dist}({inner})"
