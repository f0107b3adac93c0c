"""One self-contained HTML page from a report: inline styles, figures as PNG data URIs, no
script and no external resource."""

from __future__ import annotations

import base64
import html

from ._blocks import Bullets, Figure, Paragraph, Report, Section, Table

__all__ = ["render_html"]

_STYLE = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1000px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.8em}.sub{color:#666;margin-top:0}table{border-collapse:collapse;margin:.8em 0;
font-size:.92em}th,td{border:1px solid #ddd;padding:.3em .6em;vertical-align:top;
text-align:left}th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}.warn{color:#8a4b00}nav ol{columns:2}
""".strip()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _block(b: object, figure_no: list[int]) -> str:
    if isinstance(b, Paragraph):
        return f"<p>{_e(b.text)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Table):
        head = "".join(f"<th>{_e(h)}</th>" for h in b.headers)
        body = "".join("<tr>" + "".join(
            f"<td{' class=num' if j in b.numeric else ''}>{_e(c)}</td>"
            for j, c in enumerate(row)) + "</tr>" for row in b.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(b, Figure):
        figure_no[0] += 1
        n = figure_no[0]
        data = base64.b64encode(b.png).decode("ascii")
        return (f'<figure id="figure-{n}"><img src="data:image/png;base64,{data}" '
                f'alt="Figure {n}: {_e(b.caption)}"><figcaption>Figure {n}. {_e(b.caption)}'
                "</figcaption></figure>")
    raise TypeError(f"not a report block: {type(b).__name__}")


def _section(s: Section, figure_no: list[int]) -> str:
    return (f'<section id="{_e(s.key)}"><h2>{_e(s.title)}</h2>'
            + "\n".join(_block(b, figure_no) for b in s.blocks) + "</section>")


def render_html(report: Report) -> str:
    """The report as one HTML page that loads nothing from elsewhere.

    The contents list the sections, and the figure list (``<ol id="figure-list">``) names
    every figure, one ``<img>`` each.

    Examples
    --------
    >>> from okma_sim.report import Paragraph, Report, Section
    >>> page = render_html(Report("Plan & goals", (), (Section("a", "A", (Paragraph("1 < 2"),)),)))
    >>> "<h1>Plan &amp; goals</h1>" in page, "<p>1 &lt; 2</p>" in page, "<script" in page
    (True, True, False)
    """
    figure_no = [0]
    body = "\n".join(_section(s, figure_no) for s in report.sections)
    toc = "".join(f'<li><a href="#{_e(s.key)}">{_e(s.title)}</a></li>'
                  for s in report.sections)
    figs = "".join(f'<li><a href="#figure-{i}">{_e(f.caption)}</a></li>'
                   for i, f in enumerate(report.figures, 1))
    warn = "".join(f'<p class="warn">Note: {_e(w)}</p>' for w in report.warnings)
    sub = "".join(f'<p class="sub">{_e(s)}</p>' for s in report.subtitle)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(report.title)}</title><style>{_STYLE}</style></head>
<body><h1>{_e(report.title)}</h1>{sub}{warn}
<nav><h2>Contents</h2><ol>{toc}</ol><h3>Figures</h3><ol id="figure-list">{figs}</ol></nav>
{body}
</body></html>
"""
