"""The one number formatter for text shown to people (tables, messages, chart labels).

Files keep their own exact forms (a sweep CSV writes round-tripping numbers); this is for
reading at a glance.
"""

from __future__ import annotations

import math

__all__ = ["format_amount", "format_chance", "format_number", "format_odds", "format_percent",
           "format_share"]


def format_number(x: float | None, *, digits: int = 3) -> str:
    """A number for people: ``36.15M``, ``12.3k``, ``250``, ``0.302``; ``nan`` when missing.

    Millions get two decimals, tens of thousands one, whole numbers and anything of 100 or
    more none, and smaller numbers ``digits`` decimals.

    Examples
    --------
    >>> format_number(36_150_000), format_number(12_345), format_number(7.0)
    ('36.15M', '12.3k', '7')
    >>> format_number(0.30215), format_number(None), format_number(8.7e20)
    ('0.302', 'nan', '8.7e+20')
    """
    if x is None:
        return "nan"
    x = float(x)
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    ax = abs(x)
    if ax >= 1e12:  # beyond any sales figure: say so in scientific form, not 20 digits of M
        return f"{x:.3g}"
    if ax >= 1e6:
        return f"{x / 1e6:.2f}M"
    if ax >= 1e4:
        return f"{x / 1e3:.1f}k"
    if ax >= 100 or x.is_integer():
        return f"{x:.0f}"
    return f"{x:.{digits}f}"


def format_share(x: float) -> str:
    """A share in [0, 1] as a percentage with one decimal, never rounding a positive share
    down to "0.0%" (a reader would take it for none).

    Examples
    --------
    >>> format_share(0.0), format_share(0.00001), format_share(0.0394), format_share(1.0)
    ('0.0%', '<0.1%', '3.9%', '100.0%')
    """
    if 0 < x < 0.0005:
        return "<0.1%"
    return f"{x:.1%}"


__all__ += ["format_amount"]


def format_amount(x: float | None, currency: str = "") -> str:
    """A money amount for people, with a space before its unit: ``36.15 M CNY``, ``250 k``.

    Millions and thousands keep up to two decimals, trailing zeros dropped (also the form of
    an axis tick: ``1.2 M``, never an offset such as ``1e6``); smaller amounts are whole.

    Examples
    --------
    >>> format_amount(36_153_000, "CNY"), format_amount(1_200_000), format_amount(250_000)
    ('36.15 M CNY', '1.2 M', '250 k')
    >>> format_amount(2_500), format_amount(0), format_amount(-40.4, "EUR")
    ('2.5 k', '0', '-40 EUR')
    """
    if x is None or not math.isfinite(float(x)) or abs(float(x)) >= 1e12:
        text = format_number(x)
    else:
        x = float(x)
        for scale, unit in ((1e6, " M"), (1e3, " k")):
            if abs(x) >= scale:
                text = f"{x / scale:.2f}".rstrip("0").rstrip(".") + unit
                break
        else:
            text = f"{x:.0f}" if round(x) != 0 else "0"
    return f"{text} {currency}" if currency else text


def format_percent(x: float | None, *, digits: int = 0, signed: bool = False) -> str:
    """A fraction as a percentage: ``0.3`` is ``30%`` (``+30%`` with ``signed``).

    A positive share that would round to zero reads ``<1%`` (``<0.1%`` with one digit), and
    one short of 1 that would round up reads ``>99%``: a reader takes "0%" for never.

    Examples
    --------
    >>> format_percent(0.3), format_percent(0.3, signed=True), format_percent(-0.074, digits=1)
    ('30%', '+30%', '-7.4%')
    >>> format_percent(0.002), format_percent(0.9999), format_percent(None)
    ('<1%', '>99%', 'nan')
    """
    if x is None or not math.isfinite(float(x)):
        return "nan"
    x = float(x)
    step = 10.0 ** -(digits + 2)  # the smallest share the format shows
    if 0 < x < step / 2 and not signed:
        return f"<{100 * step:.{digits}f}%"
    if 1 - step / 2 < x < 1 and not signed:
        return f">{100 * (1 - step):.{digits}f}%"
    text = f"{100 * x:{'+' if signed else ''}.{digits}f}%"
    return text.replace("+0%", "0%").replace("-0%", "0%") if digits == 0 else text


def format_odds(p: float | None) -> str:
    """A probability as odds a reader pictures: ``about 1 in 25``, ``about 7 in 10``.

    Up to about one half: "about 1 in N" (N rounded to a whole number under 20, to 5 up to
    100, to two significant figures beyond); from 55%: "about k in 10"; "nearly certain"
    from 95%; the ends say "never" and "always" in the simulated runs.

    Examples
    --------
    >>> format_odds(0.041), format_odds(0.37), format_odds(0.702), format_odds(0.003)
    ('about 1 in 25', 'about 1 in 3', 'about 7 in 10', 'about 1 in 330')
    >>> format_odds(0.0), format_odds(0.97), format_odds(1.0)
    ('in none of the simulated runs', 'nearly certain', 'in every simulated run')
    """
    if p is None or not math.isfinite(float(p)):
        return "unknown odds"
    p = float(p)
    if p <= 0:
        return "in none of the simulated runs"
    if p >= 1:
        return "in every simulated run"
    if p >= 0.95:
        return "nearly certain"
    if p >= 0.55:
        return f"about {round(10 * p)} in 10"
    n = 1.0 / p
    if n < 20:
        k = round(n)
    elif n < 100:
        k = 5 * round(n / 5)
    else:
        k = int(float(f"{n:.2g}"))
    return f"about 1 in {k}"


def format_chance(p: float, stderr: float | None = None) -> str:
    """A probability with its Monte Carlo standard error and its odds, for a verdict:
    ``4% chance (± 0.4%), about 1 in 25``.

    Examples
    --------
    >>> format_chance(0.041, 0.0044)
    '4% chance (± 0.4%), about 1 in 25'
    """
    se = "" if stderr is None else f" (± {format_percent(stderr, digits=1)})"
    return f"{format_percent(p)} chance{se}, {format_odds(p)}"


__all__ += ["format_estimate", "format_points"]


def format_estimate(p: float, stderr: float, *, digits: int = 0) -> str:
    """A probability and its Monte Carlo standard error in %, for a table cell: ``4% ± 0.6%``
    (the standard error with at least one decimal).

    Examples
    --------
    >>> format_estimate(0.041, 0.0058), format_estimate(0.137, 0.0052, digits=1)
    ('4% ± 0.6%', '13.7% ± 0.5%')
    """
    return f"{format_percent(p, digits=digits)} ± {format_percent(stderr, digits=max(digits, 1))}"


def format_points(x: float, stderr: float) -> str:
    """A change of a probability in percentage points with its standard error:
    ``+4.7 ± 1.2 points``.

    Examples
    --------
    >>> format_points(0.047, 0.012), format_points(-0.003, 0.003)
    ('+4.7 ± 1.2 points', '-0.3 ± 0.3 points')
    """
    return f"{100 * x:+.1f} ± {100 * stderr:.1f} points"
