"""What the dashboard shows: the table of probabilities (HTML) and the fan chart (a PNG,
refreshed by blitting while its axes can stay)."""

from __future__ import annotations

import html
import io
import math
from typing import Any, Mapping

import numpy as np

from okma_sim.plan import KeyResult
from okma_sim.results import achievable_target
from okma_sim.viz import SYMBOL, fan_chart, fmt_level, main_target

__all__ = ["FanChart", "png_bytes", "table_html"]

BAND_QS = (0.05, 0.25, 0.5, 0.75, 0.95)  # the fan chart's quantiles


def png_bytes(fig: Any) -> bytes:
    """PNG bytes of a drawn Agg figure; fast zlib level (the image is redrawn on every
    refresh)."""
    from PIL import Image
    w, h = fig.canvas.get_width_height()
    img = Image.frombuffer("RGBA", (w, h), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.save(buf, format="png", compress_level=1)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------
def table_html(res: Any, estimates: Mapping[str, Any], conf: float) -> str:
    """One row per objective and KR, then all objectives and all key results: the target,
    P(met) as a bar with its ±1.96 SE whisker and a mark at the confidence ``conf``, and the
    level achievable at that confidence."""
    rows = []
    head = ("<tr><th style='text-align:left'>Objective / key result</th><th>Target</th>"
            "<th>Chance met, with ±1.96 SE</th><th>Chance ± SE</th>"
            f"<th>Achievable at {conf:.0%}</th></tr>")
    for t in res.plan.targets:
        e = estimates[t.id]
        kind = "key_result" if isinstance(t, KeyResult) else "objective"
        ach = achievable_target(res, t.id, conf)
        ach_s = "—" if not math.isfinite(ach) else fmt_level(ach, t.metric)
        name = ("KR: " if kind == "key_result" else "Objective: ") + t.id
        target = f"{SYMBOL[t.comparison]} {fmt_level(t.target, t.metric)}"
        rows.append(_row(t.id, kind, name, target, e, conf, ach_s))
    for rid, name in (("all_met", "All objectives"),
                      ("all_key_results_met", "All key results")):
        rows.append(_row(rid, "all", name, "", estimates[rid], conf, ""))
    return ("<table class='okma-probs' style='border-collapse:collapse;"
            "font-size:13px'>" + head + "".join(rows) + "</table>")


def _row(rid: str, kind: str, name: str, target: str, e: Any, conf: float, ach: str) -> str:
    p, se = e.probability, e.stderr
    lo, hi = max(0.0, p - 1.96 * se), min(1.0, p + 1.96 * se)
    color = "#2a7" if p >= conf else ("#d90" if hi >= conf else "#c33")
    bar = (f"<div style='position:relative;width:180px;height:14px;background:#eee'>"
           f"<div class='okma-bar' style='position:absolute;left:0;top:0;height:14px;"
           f"width:{p * 100:.2f}%;background:{color}'></div>"
           f"<div class='okma-whisker' data-lo='{lo:.6f}' data-hi='{hi:.6f}' "
           f"style='position:absolute;top:6px;height:2px;left:{lo * 100:.2f}%;"
           f"width:{(hi - lo) * 100:.2f}%;background:#000'></div>"
           f"<div style='position:absolute;top:0;height:14px;width:1px;"
           f"left:{conf * 100:.2f}%;background:#555'></div></div>")
    weight = "bold" if kind == "all" else "normal"
    return (f"<tr class='okma-row okma-{kind}' data-id='{html.escape(rid)}' "
            f"data-p='{p:.6f}' data-se='{se:.6f}' style='font-weight:{weight}'>"
            f"<td style='text-align:left;padding-right:12px'>{html.escape(name)}</td>"
            f"<td style='padding-right:12px'>{html.escape(target)}</td><td>{bar}</td>"
            f"<td class='okma-p' style='padding:0 12px'>{p:.1%} ± {se:.1%}</td>"
            f"<td>{html.escape(ach)}</td></tr>")


# --------------------------------------------------------------------------------------------
# the fan chart
# --------------------------------------------------------------------------------------------
class FanChart:
    """The dashboard's fan chart of ``metric``, kept between refreshes.

    The figure is built once. While the fan and the target stay well inside the current
    y-range (and the path count is unchanged), a refresh only moves the bands, the median
    and the target line over a saved background (blitting: no axes, ticks or text are
    re-rendered, several times faster than a full draw). Otherwise the axes are re-scaled
    and the whole figure redrawn. Steady axes also let the eye see the fan move.
    """

    def __init__(self, metric: str):
        self.metric = metric
        self.fig: Any = None
        self.ax: Any = None
        self.blit_count = 0  # refreshes that moved only the fan (no full redraw)
        self._key: tuple | None = None  # the run and target shown
        self._bg: Any = None  # the chart without its fan, for blitting
        self._bg_for: int | None = None  # the path count that background was drawn for
        self._fan_key: tuple | None = None  # the run the fan shows
        self._fan_span = np.empty(0)  # its finite p05 and p95 values

    def draw(self, res: Any, actions: Mapping[str, float], precise: bool) -> bytes | None:
        """The chart of ``res`` (run at ``actions``, fast or precise) as PNG bytes; None when
        it already shows that run and target."""
        target = main_target(res.plan, self.metric)
        fan_key = (tuple(sorted(actions.items())), precise)  # the run behind the fan
        if (fan_key, target) == self._key:
            return None
        df = None  # None: the fan has not changed (only the target moved)
        if fan_key != self._fan_key:
            df = res.bands(self.metric, BAND_QS)
            vals = np.concatenate([df["p05"].to_numpy(float), df["p95"].to_numpy(float)])
            self._fan_span = vals[np.isfinite(vals)]
        vals = self._fan_span if target is None else np.append(self._fan_span, target)
        if self._bg is not None and res.n_paths == self._bg_for and self._fits(vals):
            self._blit(df, target)
        else:
            self._full_draw(res, target, df, vals)
        self._fan_key = fan_key
        self._key = (fan_key, target)
        return png_bytes(self.fig)

    def _dynamic_artists(self) -> list:
        ax = self.ax
        # the target line is drawn last, so the bands never hide it
        return [c for c in ax.collections if (c.get_gid() or "").startswith("band_")] + \
            [ln for ln in ax.lines if ln.get_gid() == "median"] + \
            [ln for ln in ax.lines if ln.get_gid() == "target"]

    def _fits(self, vals: np.ndarray) -> bool:
        """Whether the fan and target lie inside the current y-range and fill at least 40%
        of it."""
        if not vals.size:
            return True
        lo, hi = self.ax.get_ylim()
        return bool(vals.min() >= lo and vals.max() <= hi
                    and vals.max() - vals.min() >= 0.4 * (hi - lo))

    def _set_data(self, df: Any | None, target: float | None) -> None:
        """Move the fan (unless ``df`` is None) and the target line."""
        for artist in self._dynamic_artists():
            gid = artist.get_gid()
            if df is not None and gid.startswith("band_"):
                lo, hi = (float(v) for v in gid[5:].split("_"))
                artist.set_data(np.arange(len(df)), df[f"p{round(lo * 100):02d}"],
                                df[f"p{round(hi * 100):02d}"])
            elif df is not None and gid == "median":
                artist.set_ydata(df["p50"].to_numpy())
            elif gid == "target" and target is not None:
                artist.set_ydata([target, target])

    def _blit(self, df: Any | None, target: float | None) -> None:
        self.fig.canvas.restore_region(self._bg)
        self._set_data(df, target)
        self.blit_count += 1
        for a in self._dynamic_artists():
            self.ax.draw_artist(a)

    def _build(self, res: Any, target: float | None) -> None:
        """The figure, drawn once by :func:`okma_sim.viz.fan_chart`."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        fig = Figure(figsize=(8, 3.6), dpi=80)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        fan_chart(res, self.metric, ax=ax, target=target)
        self.fig, self.ax = fig, ax
        # outside the axes: it never hides the fan, nor jumps about as the fan moves; it
        # names the target line without its level (the table shows it), so it never changes
        for line in ax.lines:
            if line.get_gid() == "target":
                line.set_label("target")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
        fig.tight_layout()

    def _full_draw(self, res: Any, target: float | None, df: Any | None,
                   vals: np.ndarray) -> None:
        if self.fig is None:
            self._build(res, target)
        else:
            self._set_data(df, target)
            title = self.ax.get_title()
            if ", " in title:
                self.ax.set_title(title[:title.rfind(", ") + 2]
                                  + f"{res.n_paths:,} simulated paths")
        ax = self.ax
        if vals.size:
            # leave room for the fan to move before the axes must change again
            lo, hi = vals.min(), vals.max()
            pad = 0.15 * (hi - lo or 1.0)
            ax.set_ylim(lo - pad, hi + pad)
        # the background is everything but the bands, the median and the target line
        dyn = self._dynamic_artists()
        for a in dyn:
            a.set_visible(False)
        self.fig.canvas.draw()
        self._bg = self.fig.canvas.copy_from_bbox(ax.bbox)
        self._bg_for = res.n_paths
        for a in dyn:
            a.set_visible(True)
            ax.draw_artist(a)
