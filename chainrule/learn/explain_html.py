"""The explainer as one self-contained HTML page: the network drawn in inline SVG, then every step.

No scripts, no external files: the page opens anywhere, offline.
"""

from __future__ import annotations

import html
import itertools

from chainrule.learn.explain import Explanation
from chainrule.learn.explain_text import fmt

RADIUS = 26
COLUMN = 270
ROW = 140
MARGIN_X, MARGIN_TOP = 90, 60
# Beyond this many edges their labels would pile up: values stay in each edge's tooltip.
MAX_LABELLED_EDGES = 24

STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 2em auto; max-width: 70em;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.92em; }
caption { text-align: left; font-weight: 600; padding: 0.2em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
.check { background: #eef7ee; border: 1px solid #9c9; padding: 0.6em 1em; border-radius: 6px; }
figure { margin: 1em 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
svg text { font-family: ui-monospace, Menlo, Consolas, monospace; }
svg .unit { fill: #fff; stroke: #333; stroke-width: 2; }
svg .name { font-weight: 700; font-size: 14px; }
svg .value { font-size: 11px; fill: #222; }
svg .grad { font-size: 11px; fill: #a33; }
svg .edge-label { font-size: 10px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
"""


def _columns(sizes: tuple[int, ...]) -> list[float]:
    """x of each layer: wider gaps after wide layers, so the labels of edges from different units stay apart."""
    xs = [float(MARGIN_X)]
    for n in sizes[:-1]:
        xs.append(xs[-1] + max(COLUMN, 120 * n + 80))
    return xs


def _position(e: Explanation, layer: int, j: int, height: float) -> tuple[float, float]:
    n = e.sizes[layer]
    top = MARGIN_TOP + (height - MARGIN_TOP - 90 - (n - 1) * ROW) / 2
    return _columns(e.sizes)[layer], top + j * ROW


def network_svg(e: Explanation) -> str:
    """The network as SVG: each unit a circle with x, y, b and ∂E/∂x; each edge labelled with w and ∂E/∂w."""
    sizes = e.sizes
    height = MARGIN_TOP + 90 + (max(sizes) - 1) * ROW
    width = MARGIN_X + _columns(sizes)[-1]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
             f'viewBox="0 0 {width} {height + 30}" role="img" aria-label="the network with its values and gradients">']
    edges = sum(a * b for a, b in itertools.pairwise(sizes))
    biggest = max(float(abs(w).max()) for w in e.weights) or 1.0
    for k, w in enumerate(e.weights):
        for j in range(sizes[k + 1]):
            for i in range(sizes[k]):
                x1, y1 = _position(e, k, i, height)
                x2, y2 = _position(e, k + 1, j, height)
                x1, x2 = x1 + RADIUS, x2 - RADIUS
                value, grad = w[j, i], e.grad_weights[k][j, i]
                colour = "#2b6cb0" if value >= 0 else "#c53030"
                thickness = 1 + 3 * abs(value) / biggest
                name = f"w({e.unit_name(k, i)}→{e.unit_name(k + 1, j)})"
                tip = html.escape(f"{name} = {fmt(value)}, ∂E/∂w = {fmt(grad)}, new w = {fmt(e.new_weights[k][j, i])}")
                parts.append(f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                             f'stroke="{colour}" stroke-width="{thickness:.2f}"><title>{tip}</title></line>')
                if edges <= MAX_LABELLED_EDGES:
                    # Each source unit labels its edges at its own distance along them: labels of edges from
                    # one unit fan out vertically, those of different units sit apart horizontally.
                    t = 0.3 + 0.5 * i / (sizes[k] - 1) if sizes[k] > 1 else 0.5
                    lx, ly = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
                    parts.append(
                        f'<text class="edge-label" x="{lx:.1f}" y="{ly - 4:.1f}" text-anchor="middle">'
                        f'<tspan fill="{colour}">w={fmt(value)}</tspan>'
                        f'<tspan x="{lx:.1f}" dy="12" fill="#a33">∂E/∂w={fmt(grad)}</tspan></text>')
    for layer, n in enumerate(sizes):
        for j in range(n):
            cx, cy = _position(e, layer, j, height)
            name = e.unit_name(layer, j)
            if layer == 0:
                lines = [("value", f"y={fmt(e.y[0][j])}"), ("grad", f"∂E/∂y={fmt(e.grad_y[0][j])}")]
            else:
                lines = [("value", f"x={fmt(e.x[layer - 1][j])}"), ("value", f"y={fmt(e.y[layer][j])}"),
                         ("value", f"b={fmt(e.biases[layer - 1][j])}"),
                         ("grad", f"∂E/∂x={fmt(e.grad_x[layer - 1][j])}")]
            if layer == len(sizes) - 1:
                lines.append(("value", f"t={fmt(e.targets[j])}"))
            tip = html.escape("; ".join(text for _, text in lines))
            parts.append(f'<g class="unit-group"><title>{html.escape(name)}: {tip}</title>'
                         f'<circle class="unit" cx="{cx:.1f}" cy="{cy:.1f}" r="{RADIUS}"/>'
                         f'<text class="name" x="{cx:.1f}" y="{cy + 5:.1f}" text-anchor="middle">'
                         f'{html.escape(name)}</text>')
            for row, (cls, text) in enumerate(lines):
                parts.append(f'<text class="{cls}" x="{cx:.1f}" y="{cy + RADIUS + 14 + 13 * row:.1f}" '
                             f'text-anchor="middle">{html.escape(text)}</text>')
            parts.append("</g>")
    parts.append(f'<text class="value" x="10" y="{height + 20}">blue: positive weight, red: negative; '
                 f'thickness ∝ |w|; gradients in red</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(e: Explanation) -> str:
    """The whole page: title, the drawing, one section per step, and how the numbers were checked."""
    body = [
        "<h1>One step of backpropagation</h1>",
        f"<p>A {'-'.join(map(str, e.sizes))} network, every number computed by chainrule's engine. "
        "Hover over a unit or an edge for its numbers.</p>",
        f'<figure id="network">{network_svg(e)}</figure>',
    ]
    for section in e.sections():
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        body.extend(f"<p>{html.escape(note)}</p>" for note in section.notes)
        for table in section.tables:
            head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                           for row in table.rows)
            body.append(f"<table><caption>{html.escape(table.title)}</caption><thead><tr>{head}</tr></thead>"
                        f"<tbody>{rows}</tbody></table>")
    body.append(f'<p class="check">{html.escape(e.summary())}</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>chainrule explain: one step of backpropagation</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
