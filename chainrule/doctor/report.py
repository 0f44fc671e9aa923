"""The doctor's report of a run: a rich table, diagnoses.json + metrics.json, and a self-contained report.html.

The HTML page embeds its plots as base64 PNGs (matplotlib's Agg canvas, no pyplot, no display):
gradient RMS per layer over time as a heat map, dead-unit fraction per ReLU layer, update-to-weight
ratios, and loss/accuracy curves with the findings marked where they were first reported.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._io import agg_figure, atomic_write, json_safe, png_base64, write_manifest
from chainrule.doctor.findings import Finding

DIAGNOSES = "diagnoses.json"
METRICS = "metrics.json"
HTML = "report.html"
FIXES = "fixes.json"
GRAD_FLOOR = 1e-12
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _floats(values: list[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


# ---------------------------------------------------------------------------- terminal


def findings_table(findings: list[Finding], title: str = "chainrule doctor") -> Any:
    """A rich Table with one row per finding: severity, kind, layer, when, evidence, top remedy."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{title}: {len(findings)} finding{'s' if len(findings) != 1 else ''}", show_lines=True)
    for column in ("severity", "finding", "layer", "when", "evidence", "try first"):
        table.add_column(column, overflow="fold")
    for f in findings:
        top = f.remedies[0].description if f.remedies else ""
        # Text, not markup: the table may be printed by a console with markup off (the progress bar's printer).
        table.add_row(Text(f.severity, style=SEVERITY_STYLE[f.severity]), f.kind, f.layer or "—",
                      f"epoch {f.epoch}, step {f.step}", str(f.evidence.get("summary", "")), top)
    if not findings:
        table.add_row("", "no problems found", "", "", "", "")
    return table


# ---------------------------------------------------------------------------- files


def write_report(doctor: Any, run_dir: str | Path, fixes: list[Any] | None = None) -> dict[str, Path]:
    """Write diagnoses.json, metrics.json and report.html for ``doctor`` into ``run_dir``.

    Args:
        doctor: a Doctor that watched a run.
        run_dir: the run folder (created if missing).
        fixes: optional FixResults from ``try_fixes``, saved as fixes.json and shown in the page.

    Returns:
        The written paths by name ("diagnoses", "metrics", "html"[, "fixes"]).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    paths = {"diagnoses": run_dir / DIAGNOSES, "metrics": run_dir / METRICS}
    atomic_write(paths["diagnoses"], json.dumps(json_safe(doctor.to_dict()), indent=2) + "\n")
    atomic_write(paths["metrics"], json.dumps(json_safe(doctor.metrics)) + "\n")
    if fixes is not None:
        paths["fixes"] = run_dir / FIXES
        atomic_write(paths["fixes"], json.dumps(json_safe([r.to_dict() for r in fixes]), indent=2) + "\n")
    paths["html"] = render_report(run_dir)
    write_manifest(run_dir)  # last: `chainrule report` refuses a folder without it
    return paths


def load_run(run_dir: str | Path) -> tuple[list[Finding], dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(findings, metrics, diagnoses dict, fixes) read back from a run folder written by ``write_report``.

    Raises:
        FileNotFoundError: the folder or its diagnoses.json is missing.
        ValueError: a file is not valid JSON or not shaped as ``write_report`` writes it (the message names the
            file and the field).
    """
    run_dir = Path(run_dir)
    path = run_dir / DIAGNOSES
    if not path.is_file():
        raise FileNotFoundError(
            f"chainrule report: expected {path} (written by `chainrule train` with the doctor on, or by "
            f"doctor.write_report); the folder {'exists' if run_dir.is_dir() else 'does not exist'}")

    def read(p: Path, default: Any) -> Any:
        if not p.is_file():
            return default
        try:
            value = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            raise ValueError(f"chainrule report: {p} is not valid JSON: {reason}") from None
        if type(value) is not type(default):
            raise ValueError(f"chainrule report: {p} holds a JSON {type(value).__name__}; expected a "
                             f"{type(default).__name__} as `chainrule train` writes")
        return value

    diagnoses = read(path, {})
    entries = diagnoses.get("findings", [])
    if not isinstance(entries, list):
        raise ValueError(f"chainrule report: {path}, field 'findings': expected a list, got {type(entries).__name__}")
    findings = []
    for i, entry in enumerate(entries):
        try:
            if not isinstance(entry, dict):
                raise TypeError(f"expected an object, got {type(entry).__name__}")
            findings.append(Finding.from_dict(entry))
        except (KeyError, TypeError, ValueError) as error:
            reason = error.args[0] if isinstance(error, KeyError) and error.args else error
            raise ValueError(f"chainrule report: {path}, field 'findings[{i}]': {reason}") from None
    metrics = read(run_dir / METRICS, {})
    _check_metrics(metrics, run_dir / METRICS)
    return findings, metrics, diagnoses, read(run_dir / FIXES, [])


# The shapes of the metrics.json fields the page plots: series of numbers, per-layer series, per-epoch logs.
_SERIES = ("loss", "steps")
_LAYER_SERIES = ("grad_rms", "dead_fraction", "update_ratio", "act_std", "saturation")


def _check_metrics(metrics: dict[str, Any], path: Path) -> None:
    """A ValueError naming the field if a plotted field of metrics.json is not shaped as ``write_report`` writes it."""

    def numbers(values: Any, field: str) -> None:
        if not isinstance(values, list):
            raise ValueError(f"chainrule report: {path}, field {field!r}: expected a list, got {type(values).__name__}")
        for i, v in enumerate(values):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise ValueError(f"chainrule report: {path}, field '{field}[{i}]': expected a number or null, "
                                 f"got {v!r}")

    for key in _SERIES:
        numbers(metrics.get(key, []), key)
    for key in _LAYER_SERIES:
        layers = metrics.get(key, {})
        if not isinstance(layers, dict):
            raise ValueError(f"chainrule report: {path}, field {key!r}: expected an object of per-layer series, "
                             f"got {type(layers).__name__}")
        for name, series in layers.items():
            numbers(series, f"{key}.{name}")
    epochs = metrics.get("epochs", [])
    if not isinstance(epochs, list) or not all(isinstance(e, dict) for e in epochs):
        raise ValueError(f"chainrule report: {path}, field 'epochs': expected a list of objects (one per epoch)")


def render_report(run_dir: str | Path) -> Path:
    """Re-render report.html from the diagnoses.json and metrics.json saved in ``run_dir``; returns its path.

    Raises:
        FileNotFoundError: no diagnoses.json in ``run_dir``.
    """
    findings, metrics, _, fixes = load_run(run_dir)
    page = render_html(findings, metrics, title=f"chainrule doctor: {Path(run_dir).resolve().name}", fixes=fixes)
    path = Path(run_dir) / HTML
    atomic_write(path, page)
    return path


# ---------------------------------------------------------------------------- plots


def _figure(width: float = 7.5, height: float = 3.2) -> tuple[Any, Any]:
    fig = agg_figure(width, height, dpi=80)
    # fixed margins: an automatic layout engine costs as much as drawing the plot itself
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.18, top=0.88)
    return fig, fig.add_subplot(1, 1, 1)


def _no_minor_ticks(ax: Any) -> None:
    from matplotlib.ticker import NullLocator

    ax.yaxis.set_minor_locator(NullLocator())  # log-scale minor ticks are most of a small plot's drawing time


def plot_gradient_heatmap(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: log10 gradient RMS per Linear (rows, input side at the bottom) over sample steps."""
    grad = metrics.get("grad_rms") or {}
    steps = metrics.get("steps") or []
    if not grad or not steps:
        return None
    names = list(grad)
    data = np.vstack([_floats(grad[n]) for n in names])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.maximum(data, GRAD_FLOOR))  # an exactly-zero gradient (dead layer) shows as the floor
    fig, ax = _figure(7.5, 0.45 * len(names) + 1.6)
    image = ax.imshow(logs, aspect="auto", interpolation="nearest", cmap="viridis", origin="lower",
                      extent=(steps[0], steps[-1] + 1, -0.5, len(names) - 0.5))
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("step")
    ax.set_title("gradient RMS per layer (log10); input side at the bottom")
    fig.colorbar(image, ax=ax, label=f"log10 RMS ∂loss/∂W (0 → {math.log10(GRAD_FLOOR):.0f})")
    return png_base64(fig)


def plot_dead(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: fraction of never-firing units per ReLU layer, per epoch (None without ReLUs)."""
    dead = metrics.get("dead_fraction") or {}
    if not any(dead.values()):
        return None
    fig, ax = _figure()
    for name, series in dead.items():
        ax.plot(range(len(series)), _floats(series), marker="o", label=name)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("fraction of units that never fired")
    ax.set_title("dead ReLU units per layer")
    ax.legend(fontsize=8)
    return png_base64(fig)


def plot_update_ratio(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: ‖Δw‖/‖w‖ per layer on a log scale, with the 1e-3 rule of thumb."""
    ratios = metrics.get("update_ratio") or {}
    steps = metrics.get("steps") or []
    if not ratios or not steps:
        return None
    fig, ax = _figure()
    for name, series in ratios.items():
        values = _floats(series)
        values[values <= 0] = np.nan
        ax.plot(steps[: len(values)], values, label=name, linewidth=1)
    ax.axhline(1e-3, color="gray", linestyle="--", linewidth=1)
    ax.text(steps[0], 1.1e-3, "≈1e-3 rule of thumb", fontsize=8, color="gray")
    ax.set_yscale("log")
    _no_minor_ticks(ax)
    ax.set_xlabel("step")
    ax.set_ylabel("‖Δw‖ / ‖w‖ per step")
    ax.set_title("update-to-weight ratio per layer")
    ax.legend(fontsize=8)
    return png_base64(fig)


def plot_curves(metrics: dict[str, Any], findings: list[Finding]) -> str | None:
    """Base64 PNG: batch and epoch losses, accuracies, and a dotted line where each finding appeared."""
    epochs = metrics.get("epochs") or []
    loss = _floats(metrics.get("loss") or [])
    if not epochs and not len(loss):
        return None
    fig = _figure(9.5, 3.6)[0]
    fig.clear()
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.9, wspace=0.2)
    ax, ax_acc = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ends = [e.get("step") or 0 for e in epochs]
    if len(loss):
        ax.plot(np.arange(len(loss)), loss, color="lightgray", linewidth=0.8, label="batch loss")
    for key, style in (("loss", "-o"), ("val_loss", "-s")):
        values = _floats([e.get(key) for e in epochs])
        if np.isfinite(values).any():
            ax.plot(ends, values, style, label=key)
    for key, style in (("accuracy", "-o"), ("val_accuracy", "-s")):
        values = _floats([e.get(key) for e in epochs])
        if np.isfinite(values).any():
            ax_acc.plot(range(len(values)), values, style, label=key)
    finite = loss[np.isfinite(loss)]
    if finite.size and finite.max() > 20 * max(np.median(finite), 1e-12):
        ax.set_yscale("log")
        _no_minor_ticks(ax)
    for f in findings:
        color = "red" if f.severity == "error" else "orange"
        ax.axvline(f.step, color=color, linestyle=":", linewidth=1)
        ax.text(f.step, 1.0, f.kind, rotation=90, fontsize=7, color=color, va="top",
                transform=ax.get_xaxis_transform())
        ax_acc.axvline(f.epoch, color=color, linestyle=":", linewidth=1)
    ax.set_xlabel("step")
    ax.set_title("loss (findings marked)")
    ax.legend(fontsize=8)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_title("accuracy")
    if ax_acc.lines:
        ax_acc.legend(fontsize=8)
    return png_base64(fig)


def plot_activations(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: activation std per layer and sigmoid/tanh saturated fractions over sample steps."""
    stds = metrics.get("act_std") or {}
    steps = metrics.get("steps") or []
    if not stds or not steps:
        return None
    fig, ax = _figure()
    for name, series in stds.items():
        ax.plot(steps[: len(series)], _floats(series), label=name, linewidth=1)
    sat = metrics.get("saturation") or {}
    for name, series in sat.items():
        ax.plot(steps[: len(series)], _floats(series), linestyle="--", label=f"{name} saturated fraction")
    ax.set_xlabel("step")
    ax.set_title("activation std per layer (growth or collapse with depth)")
    ax.legend(fontsize=8)
    return png_base64(fig)


def plot_dead_channels(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: fraction of never-firing channels per conv-fed ReLU, per epoch (None without one)."""
    dead = metrics.get("dead_channel_fraction") or {}
    if not any(dead.values()):
        return None
    fig, ax = _figure()
    for name, series in dead.items():
        ax.plot(range(len(series)), _floats(series), marker="o", label=name)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("fraction of channels that never fired")
    ax.set_title("dead filters per convolution's ReLU")
    ax.legend(fontsize=8)
    return png_base64(fig)


def plot_through_time(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: RMS ∂loss/∂h at the first step over the last, per recurrent layer, on sample steps (log)."""
    ratios = metrics.get("time_gradient_ratio") or {}
    steps = metrics.get("steps") or []
    if not any(ratios.values()):
        return None
    fig, ax = _figure()
    for name, series in ratios.items():
        values = _floats(series)
        ax.semilogy(steps[: len(values)], np.where(values > 0, values, np.nan), marker=".", label=name)
    ax.axhline(1e-3, color="red", linestyle=":", label="vanishing threshold (1e-3)")
    ax.set_xlabel("step")
    ax.set_ylabel("∇ first step / ∇ last step")
    ax.set_title("gradient reaching the first time step, relative to the last")
    ax.legend(fontsize=8)
    return png_base64(fig)


# ---------------------------------------------------------------------------- page


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #222; }
.finding { border-left: 6px solid #e0a000; padding: 0.5em 1em; margin: 1em 0; background: #fffaf0; }
.finding.error { border-color: #c00; background: #fff3f3; }
.finding.info { border-color: #08c; background: #f2f9ff; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }
code { background: #f2f2f2; padding: 0 3px; }
img { max-width: 100%; }
"""


def _evidence_rows(evidence: dict[str, Any]) -> str:
    rows = []
    for key, value in evidence.items():
        if key == "summary":
            continue
        text = json.dumps(json_safe(value)) if isinstance(value, dict | list) else str(value)
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{html.escape(text)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _updates_html(f: Finding) -> str:
    """The later observations in one line: the summary above stays what triggered the finding."""
    if not f.updates:
        return ""
    times = "once" if len(f.updates) == 1 else f"{len(f.updates)} times"
    return (f"<p><small>seen again {times} since, last at epoch {f.last_epoch}, step {f.last_step} "
            f"(each observation is in diagnoses.json under <code>updates</code>)</small></p>")


def finding_html(f: Finding) -> str:
    """One finding as an HTML card: what, where, when, the evidence, the remedies best first."""
    remedies = "".join(
        f"<li>{html.escape(r.description)}" + (f" <code>{html.escape(json.dumps(r.change))}</code>" if r.change
                                                else "") + "</li>" for r in f.remedies)
    where = f" at <b>{html.escape(f.layer)}</b>" if f.layer else ""
    return (f'<div class="finding {f.severity}"><h3>{html.escape(f.severity)}: {html.escape(f.title)}{where} '
            f'<small>(epoch {f.epoch}, step {f.step})</small></h3>'
            f'<p><b>{html.escape(str(f.evidence.get("summary", "")))}</b></p>{_updates_html(f)}'
            f"<p>{html.escape(f.explanation)}</p><p>What to try, best first:</p><ol>{remedies}</ol>"
            f"<details><summary>evidence</summary>{_evidence_rows(f.evidence)}</details></div>")


def findings_html(findings: list[Finding]) -> str:
    """The findings as an HTML fragment for a notebook: the report's cards, styled in place."""
    if not findings:
        return "<p>chainrule doctor: no problems found.</p>"
    cards = "".join(finding_html(f) for f in findings)
    return (f'<div class="chainrule-doctor"><style>{_scoped_style(".chainrule-doctor")}</style>'
            f"<p>chainrule doctor: {len(findings)} finding{'s' if len(findings) != 1 else ''}</p>{cards}</div>")


def doctor_html(findings: list[Finding], metrics: dict[str, Any]) -> str:
    """The doctor inline in a notebook: its findings and the gradient-flow heat map."""
    heatmap = plot_gradient_heatmap(metrics)
    image = (f'<h4>Gradient flow</h4><img alt="gradient flow" style="max-width:100%" '
             f'src="data:image/png;base64,{heatmap}">' if heatmap else "")
    return f"<div>{findings_html(findings)}{image}</div>"


def _scoped_style(scope: str) -> str:
    """The report's card and table rules under ``scope``: inline in a notebook they must not restyle the page."""
    scoped = []
    for rule in _STYLE.strip().splitlines():
        selectors, _, body = rule.partition("{")
        if selectors.startswith((".finding", "table", "td")):
            scoped.append(", ".join(f"{scope} {s.strip()}" for s in selectors.split(",")) + " {" + body)
    return "".join(scoped)


def _fixes_html(fixes: list[dict[str, Any]]) -> str:
    if not fixes:
        return ""
    keys = sorted({k for fix in fixes for k in (fix.get("before") or {}) if k != "kinds"})
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    rows = []
    for fix in fixes:
        # the verdict and how it was reached (metric, before → after, the second seed's spread)
        verdict = f"{fix.get('verdict', '')}: {'; '.join(fix.get('notes') or [])}"
        for label in ("before", "after"):
            values = fix.get(label) or {}
            cells = "".join(f"<td>{html.escape(_fmt(values.get(k)))}</td>" for k in keys)
            remedy = fix["remedy"]["description"] if label == "after" else ""
            rows.append(f"<tr><td>{html.escape(fix['kind'])}</td><td>{label}</td><td>{html.escape(remedy)}</td>"
                        f"<td>{html.escape(verdict if label == 'after' else '')}</td>{cells}</tr>")
    return (f"<h2>Try the fix</h2><table><tr><th>finding</th><th></th><th>remedy</th><th>verdict</th>{head}</tr>"
            + "".join(rows) + "</table>")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def render_html(findings: list[Finding], metrics: dict[str, Any], title: str = "chainrule doctor",
                fixes: list[dict[str, Any]] | None = None) -> str:
    """The whole report as one self-contained HTML string (plots embedded as base64 PNGs)."""
    plots = [
        ("Loss and accuracy", plot_curves(metrics, findings)),
        ("Gradient flow", plot_gradient_heatmap(metrics)),
        ("Dead units", plot_dead(metrics)),
        ("Update-to-weight ratio", plot_update_ratio(metrics)),
        ("Activations", plot_activations(metrics)),
        ("Dead filters", plot_dead_channels(metrics)),
        ("Gradient through time", plot_through_time(metrics)),
    ]
    body = [f"<h1>{html.escape(title)}</h1>"]
    if findings:
        body.append(f"<p>{len(findings)} finding{'s' if len(findings) != 1 else ''}, in the order they appeared.</p>")
        body.extend(finding_html(f) for f in findings)
    else:
        body.append("<p>No problems found: gradients flowed, units fired, and the loss went down.</p>")
    body.append(_fixes_html(fixes or []))
    for heading, png in plots:
        if png:
            body.append(f'<h2>{html.escape(heading)}</h2><img alt="{html.escape(heading)}" '
                        f'src="data:image/png;base64,{png}">')
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n")
