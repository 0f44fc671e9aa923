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
    metrics = {**doctor.metrics, **_model_facts(doctor.model)}
    atomic_write(paths["metrics"], json.dumps(json_safe(metrics)) + "\n")
    if fixes is not None:
        paths["fixes"] = run_dir / FIXES
        atomic_write(paths["fixes"], json.dumps(json_safe([r.to_dict() for r in fixes]), indent=2) + "\n")
    paths["html"] = render_report(run_dir)
    write_manifest(run_dir)  # last: `chainrule report` refuses a folder without it
    return paths


def layer_labels(model: Any) -> dict[str, str]:
    """What each named layer is, for plots and legends: ``layers.0`` → ``layers.0 (Linear 64→32)``.

    Works on chainrule and PyTorch modules alike (both have ``named_modules`` and PyTorch's size names).
    """
    labels = {}
    for name, module in model.named_modules():
        if not name:
            continue
        sizes = next(((getattr(module, a), getattr(module, b)) for a, b in _SIZE_NAMES
                      if hasattr(module, a) and hasattr(module, b)), None)
        kind = type(module).__name__
        labels[name] = f"{name} ({kind} {sizes[0]}→{sizes[1]})" if sizes else f"{name} ({kind})"
    return labels


_SIZE_NAMES = (("in_features", "out_features"), ("in_channels", "out_channels"), ("input_size", "hidden_size"))


def _model_facts(model: Any) -> dict[str, Any]:
    """What the page needs to know of the model beyond the doctor's series: layer labels, chance accuracy."""
    if model is None or not hasattr(model, "named_modules"):
        return {}
    outputs = [m.out_features for _, m in model.named_modules() if hasattr(m, "out_features")]
    facts: dict[str, Any] = {"layer_labels": layer_labels(model)}
    if outputs and isinstance(outputs[-1], int):
        # one output unit is a binary classifier (a sigmoid), n ≥ 2 a softmax over n classes
        facts["chance_accuracy"] = 1 / max(outputs[-1], 2)
    return facts


def _label(metrics: dict[str, Any], name: str) -> str:
    return str((metrics.get("layer_labels") or {}).get(name, name))


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
    labels = metrics.get("layer_labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ValueError(f"chainrule report: {path}, field 'layer_labels': expected an object of layer name → text")
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


def _few(steps: list[Any]) -> str | None:
    """A marker when a series has too few samples to draw a line (a run that diverged early)."""
    return "o" if len(steps) < 3 else None


def _finish(ax: Any) -> None:
    """The legend inside the axes where it hides the least (two columns when long), and a readable step axis
    when a run diverged before a second sample (matplotlib would span ±0.05 around the one point)."""
    count = len(ax.get_legend_handles_labels()[0])
    if count:  # matplotlib warns "No artists with labels" for an empty legend (a run with no samples)
        ax.legend(fontsize=7, loc="best", framealpha=0.85, ncol=2 if count > 5 else 1)
    low, high = ax.get_xlim()
    if high - low < 1:
        middle = (low + high) / 2
        ax.set_xlim(middle - 1, middle + 1)


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
    labels = [_label(metrics, n) for n in names]
    # room on the left for the longest label (about 0.011 of the width per character at this size)
    fig.subplots_adjust(left=min(0.45, max(0.16, 0.04 + 0.011 * max(map(len, labels)))), right=0.9)
    image = ax.imshow(logs, aspect="auto", interpolation="nearest", cmap="viridis", origin="lower",
                      extent=(steps[0], steps[-1] + 1, -0.5, len(names) - 0.5))
    ax.set_yticks(range(len(names)), labels)
    ax.set_xlabel("step")
    ax.set_title("gradient RMS per layer (log10); input side at the bottom")
    fig.colorbar(image, ax=ax, label=f"log10 RMS ∂loss/∂W (0 → {math.log10(GRAD_FLOOR):.0f})")
    return png_base64(fig)


def plot_dead(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: fraction of never-firing units per ReLU layer, per epoch (None without ReLUs)."""
    return _plot_never_fired(metrics, "dead_fraction", "units", "dead ReLU units per layer")


def _plot_never_fired(metrics: dict[str, Any], key: str, what: str, title: str) -> str | None:
    """Base64 PNG of ``metrics[key]``: per layer and epoch, the fraction of ``what`` that never fired."""
    dead = metrics.get(key) or {}
    if not any(dead.values()):
        return None
    fig, ax = _figure()
    for name, series in dead.items():
        ax.plot(range(len(series)), _floats(series), marker="o", label=_label(metrics, name))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"fraction of {what} that never fired")
    ax.set_title(title)
    _finish(ax)
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
        ax.plot(steps[: len(values)], values, label=_label(metrics, name), linewidth=1, marker=_few(steps))
    ax.axhline(1e-3, color="gray", linestyle="--", linewidth=1)
    ax.text(steps[0], 1.1e-3, "≈1e-3 rule of thumb", fontsize=8, color="gray")
    ax.set_yscale("log")
    _no_minor_ticks(ax)
    ax.set_xlabel("step")
    ax.set_ylabel("‖Δw‖ / ‖w‖ per step")
    ax.set_title("update-to-weight ratio per layer")
    _finish(ax)
    return png_base64(fig)


def divergence_step(metrics: dict[str, Any]) -> int | None:
    """The first step whose batch loss was NaN or infinite (None if the loss stayed finite)."""
    loss = _floats(metrics.get("loss") or [])
    bad = np.flatnonzero(~np.isfinite(loss))
    return int(bad[0]) if bad.size else None


def plot_curves(metrics: dict[str, Any], findings: list[Finding]) -> str | None:
    """Base64 PNG: batch and epoch losses, accuracies on 0..1 (with chance), and where each finding appeared."""
    from matplotlib.ticker import MaxNLocator

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
        ax.plot(np.arange(len(loss)), loss, color="lightgray", linewidth=0.8, marker="." if len(loss) < 30 else None,
                label="batch loss")
    for key, style in (("loss", "-o"), ("val_loss", "-s")):
        values = _floats([e.get(key) for e in epochs])
        if np.isfinite(values).any():
            ax.plot(ends, values, style, label=key.replace("val_", "validation ").replace("loss", "loss (epoch)"))
    for key, style in (("accuracy", "-o"), ("val_accuracy", "-s")):
        values = _floats([e.get(key) for e in epochs])
        if np.isfinite(values).any():
            ax_acc.plot(range(len(values)), values, style, label=key.replace("val_", "validation "))
    chance = metrics.get("chance_accuracy")
    if not ax_acc.lines:  # a regression, or a run that stopped before its first epoch ended
        ax_acc.text(0.5, 0.5, "no accuracy recorded", ha="center", color="gray", transform=ax_acc.transAxes)
    elif isinstance(chance, int | float):
        ax_acc.axhline(chance, color="gray", linestyle="--", linewidth=1, label=f"chance ({chance:.0%})")
    # the whole 0..1 range: zoomed to the data, noise around chance looks like progress or collapse
    ax_acc.set_ylim(0, 1.02)
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.set_xlim(-0.2, max(len(epochs) - 1, 1) + 0.2)
    finite = loss[np.isfinite(loss)]
    if finite.size and finite.max() > 20 * max(np.median(finite), 1e-12):
        ax.set_yscale("log")
        _no_minor_ticks(ax)
    middle = (len(loss) - 1) / 2 if len(loss) else 0
    for i, f in enumerate(findings, start=1):
        color = "red" if f.severity == "error" else "darkorange"
        ax.axvline(f.step, color=color, linestyle=":", linewidth=1)
        # numbered like the cards above, written level and stacked so neighbouring findings do not overlap
        ax.text(f.step, 0.97 - 0.09 * ((i - 1) % 5), f" {i}. {f.kind.replace('_', ' ')} ", fontsize=8,
                color=color, va="top", ha="left" if f.step <= middle else "right",
                transform=ax.get_xaxis_transform(), bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
        ax_acc.axvline(f.epoch, color=color, linestyle=":", linewidth=1)
    diverged = divergence_step(metrics)
    if diverged is not None:
        ax.axvline(diverged, color="red", linewidth=1.5)
        ax.text(diverged, 0.03, f"loss NaN/inf from step {diverged} ", fontsize=8, color="red", ha="right",
                va="bottom", transform=ax.get_xaxis_transform())
    ax.set_xlabel("step")
    ax.set_title("loss (findings marked)")
    if ax.get_legend_handles_labels()[0]:  # a run that diverged at once may have no loss line to name
        ax.legend(fontsize=8, loc="center right", framealpha=0.9)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_title("accuracy")
    if ax_acc.get_legend_handles_labels()[0]:  # a regression run has no accuracy, only the findings' lines
        ax_acc.legend(fontsize=8, loc="best", framealpha=0.9)
    return png_base64(fig)


def plot_activations(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: activation std per layer and sigmoid/tanh saturated fractions over sample steps."""
    stds = metrics.get("act_std") or {}
    steps = metrics.get("steps") or []
    if not stds or not steps:
        return None
    fig, ax = _figure()
    for name, series in stds.items():
        ax.plot(steps[: len(series)], _floats(series), label=_label(metrics, name), linewidth=1, marker=_few(steps))
    sat = metrics.get("saturation") or {}
    for name, series in sat.items():
        ax.plot(steps[: len(series)], _floats(series), linestyle="--", marker=_few(steps),
                label=f"{_label(metrics, name)} saturated fraction")
    ax.set_xlabel("step")
    ax.set_title("activation std per layer (growth or collapse with depth)")
    _finish(ax)
    return png_base64(fig)


def plot_dead_channels(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: fraction of never-firing channels per conv-fed ReLU, per epoch (None without one)."""
    return _plot_never_fired(metrics, "dead_channel_fraction", "channels", "dead filters per convolution's ReLU")


def plot_through_time(metrics: dict[str, Any]) -> str | None:
    """Base64 PNG: RMS ∂loss/∂h at the first step over the last, per recurrent layer, on sample steps (log)."""
    ratios = metrics.get("time_gradient_ratio") or {}
    steps = metrics.get("steps") or []
    if not any(ratios.values()):
        return None
    fig, ax = _figure()
    for name, series in ratios.items():
        values = _floats(series)
        ax.semilogy(steps[: len(values)], np.where(values > 0, values, np.nan), marker=".",
                    label=_label(metrics, name))
    ax.axhline(1e-3, color="red", linestyle=":", label="vanishing threshold (1e-3)")
    ax.set_xlabel("step")
    ax.set_ylabel("∇ first step / ∇ last step")
    ax.set_title("gradient reaching the first time step, relative to the last")
    _finish(ax)
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
table { max-width: 100%; }
td { overflow-wrap: break-word; }
.fixes td:nth-child(2) { min-width: 16em; }
.diverged { border-left: 6px solid #c00; background: #fff3f3; padding: 0.5em 1em; }
"""


def _rounded(value: Any) -> Any:
    """Floats to 4 significant digits, inside lists and dicts too: the page shows evidence, diagnoses.json keeps
    every digit."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def _evidence_rows(evidence: dict[str, Any]) -> str:
    rows = []
    for key, value in evidence.items():
        if key == "summary":
            continue
        value = _rounded(value)
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


def finding_html(f: Finding, number: int | None = None, labels: dict[str, str] | None = None) -> str:
    """One finding as an HTML card: what, where, when, the evidence, the remedies best first.

    ``number`` matches the finding's mark on the loss plot; ``labels`` says what each layer is (``layer_labels``).
    """
    remedies = "".join(
        f"<li>{html.escape(r.description)}" + (f" <code>{html.escape(json.dumps(r.change))}</code>" if r.change
                                                else "") + "</li>" for r in f.remedies)
    where = f" at <b>{html.escape((labels or {}).get(f.layer, f.layer))}</b>" if f.layer else ""
    mark = f"{number}. " if number else ""
    return (f'<div class="finding {f.severity}"><h3>{mark}{html.escape(f.severity)}: {html.escape(f.title)}{where} '
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


# The try-the-fix table's columns: each summary number fixes.py measures, by the name a reader knows, and the one
# format that quantity has everywhere on the page.
_FIX_COLUMNS = {
    "val_accuracy": ("validation accuracy", "percent"), "accuracy": ("training accuracy", "percent"),
    "val_loss": ("validation loss", "loss"), "best_val_loss": ("best validation loss", "loss"),
    "final_loss": ("training loss", "loss"), "grad_ratio": ("gradient RMS first / last layer", "ratio"),
    "dead_fraction": ("dead ReLU units", "percent"), "saturation": ("saturated units", "percent"),
    "non_finite": ("NaN or inf", "flag"),
}


def _number(value: Any, form: str) -> str:
    """``value`` in the page's one format for its kind of quantity (percent, loss, ratio, flag)."""
    if value is None:
        return "—"
    if isinstance(value, bool) or form == "flag":
        return "yes" if value else "no"
    value = float(value)
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if form == "percent":
        return f"{value:.1%}"
    if form == "ratio":
        return f"{value:.2e}"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.2e}"


def _fixes_html(fixes: list[dict[str, Any]]) -> str:
    """One row per remedy tried: what, the verdict, and before → after for the numbers that judge it."""
    if not fixes:
        return ""
    # validation accuracy for everyone, then each fix's deciding metric and its finding's own measure
    wanted = ["val_accuracy"] + [fix.get(key) for fix in fixes for key in ("metric", "target")]
    keys = [k for k in _FIX_COLUMNS if k in wanted]
    head = "".join(f"<th>{html.escape(_FIX_COLUMNS[k][0])}<br><small>before → after</small></th>" for k in keys)
    rows = []
    for fix in fixes:
        before, after = fix.get("before") or {}, fix.get("after") or {}
        cells = "".join(f"<td>{_number(before.get(k), _FIX_COLUMNS[k][1])} → "
                        f"<b>{_number(after.get(k), _FIX_COLUMNS[k][1])}</b></td>" for k in keys)
        notes = "; ".join(fix.get("notes") or [])
        rows.append(f"<tr><td>{html.escape(fix['kind'].replace('_', ' '))}</td>"
                    f"<td>{html.escape(fix['remedy']['description'])}</td>"
                    f"<td><b>{html.escape(str(fix.get('verdict', '')))}</b><br><small>{html.escape(notes)}</small></td>"
                    f"{cells}</tr>")
    return (f'<h2>Try the fix</h2><p>Each finding\'s top remedy, re-run from the same seed.</p>'
            f'<table class="fixes"><tr><th>finding</th><th>remedy tried</th><th>verdict</th>{head}</tr>'
            + "".join(rows) + "</table>")


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
        labels = metrics.get("layer_labels") or {}
        body.extend(finding_html(f, i, labels) for i, f in enumerate(findings, start=1))
    else:
        body.append("<p>No problems found: gradients flowed, units fired, and the loss went down.</p>")
    body.append(_fixes_html(fixes or []))
    diverged = divergence_step(metrics)
    if diverged is not None:
        samples = metrics.get("steps") or []
        body.append(f'<p class="diverged"><b>The run diverged at step {diverged}</b>: the loss became NaN or '
                    f"infinite and training stopped. The plots show the run up to that step; the per-layer "
                    f"statistics were sampled {len(samples)} time{'s' if len(samples) != 1 else ''} before it "
                    f"(at step{'s' if len(samples) != 1 else ''} {', '.join(map(str, samples[:8]))}"
                    f"{'…' if len(samples) > 8 else ''}), so their plots show only those points.</p>")
    for heading, png in plots:
        if png:
            body.append(f'<h2>{html.escape(heading)}</h2><img alt="{html.escape(heading)}" '
                        f'src="data:image/png;base64,{png}">')
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n")
