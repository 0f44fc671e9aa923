"""Show the failure gallery's results: a story and a table in the terminal, plots in an HTML page."""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from chainrule._io import agg_figure, atomic_write, png_base64
from chainrule.learn.demos import DemoResult


def _pct(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.1%}"


def _sci(value: float) -> str:
    """A ratio spanning orders of magnitude, as the demos' stories and checks write it (2 significant digits)."""
    if math.isnan(value):
        return "—"  # undefined (a NaN loss or 0/0 ratio): a learner reads "nan" as a bug in the table
    return str(value) if not math.isfinite(value) else f"{value:.1e}"


def _loss(value: float) -> str:
    """A loss, as the demos' stories and checks write it (3 significant digits); NaN or inf is a diverged run."""
    if not math.isfinite(value):
        return "diverged"
    return _sci(value) if abs(value) >= 1e4 else f"{value:#.3g}"


LEARNS_BY = 0.2  # validation accuracy this far above chance: the run learns (noise on a few hundred examples is less)


def doctor_label(result: DemoResult, run: Any) -> str:
    """What the doctor's column says of a run: its findings, or "healthy" only for a run that clearly learns."""
    if run.kinds:
        return ", ".join(kind.replace("_", " ") for kind in sorted(run.kinds))
    if run.val_accuracy >= result.chance + LEARNS_BY:
        return "healthy"
    return f"no finding, but it does not learn (chance is {result.chance:.0%})"


def summary_table(result: DemoResult) -> Table:
    """One row per run: accuracy, final loss, gradient flow, dead units and the doctor's findings."""
    table = Table(title=result.title, show_lines=False)
    for column in ("run", "train acc", "val acc", "loss", "∇ first/last", "dead", "doctor"):
        table.add_column(column, overflow="fold")
    for run in result.runs:
        rms = list(run.grad_rms.values())
        ratio = _sci(rms[0] / rms[-1]) if rms and rms[-1] else "—"
        dead = f"{sum(run.dead_fraction.values()) / len(run.dead_fraction):.0%}" if run.dead_fraction else "—"
        table.add_row(run.label, _pct(run.train_accuracy), _pct(run.val_accuracy), _loss(run.final_loss), ratio,
                      dead, doctor_label(result, run))
    return table


def print_result(result: DemoResult, console: Console) -> None:
    """The demo's story, its table and each checked claim, in the terminal."""
    body = "\n\n".join([f"[italic]{result.claim}[/]", *result.story])
    console.print(Panel(body, title=f"[bold]{result.title}[/]", expand=False))
    console.print(summary_table(result))
    for text, ok in result.checks:
        console.print(f"  {'[green]✓' if ok else '[red]✗'}[/] {text}")
    verdict = "[green]the claim holds[/]" if result.claim_holds else "[red]the claim does NOT hold[/]"
    console.print(f"  → {verdict} ({result.seconds:.1f} s)\n")


def _through_time(fig: Any, result: DemoResult) -> None:
    """Left: the untrained RNN's first/last-step gradient ratio against the gap. Right: that ratio as the doctor
    measured it on each sample step of training, per network."""
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    gaps = result.numbers["ratio_by_gap"]
    left.semilogy([int(g) for g in gaps], list(gaps.values()), marker="o", label="untrained RNN")
    left.set_xlabel("gap (steps)")
    for run in result.runs:
        for series in run.watched.get("time_gradient_ratio", {}).values():
            right.semilogy([v if v > 0 else float("nan") for v in series], marker=".", label=run.label)
    right.set_xlabel("sample step of training (every 10th step)")
    for ax in (left, right):
        ax.axhline(1e-3, color="red", linestyle=":", label="vanishing threshold 1e-3")
        ax.set_ylabel("RMS ∂loss/∂h: first step / last step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)


def _residual_depth(fig: Any, result: DemoResult) -> None:
    """Left: training accuracy against depth, plain and residual. Right: weight-gradient RMS per layer."""
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    depths = result.numbers["depths"]
    left.plot(depths, [result.numbers["train_accuracy"][str(d)] for d in depths], marker="o", label="plain")
    left.plot([depths[-1]], [result.numbers["residual_train_accuracy"]], marker="*", markersize=12, linestyle="",
              label="residual")
    left.set_xlabel("hidden layers")
    left.set_ylabel("training accuracy")
    left.set_ylim(0, 1.05)
    for label, rms in result.numbers["grad_rms"].items():
        right.semilogy(range(len(rms)), list(rms.values()), marker=".", label=label)
    right.set_xlabel("weight layer (input side → output side)")
    right.set_ylabel("weight gradient RMS (epoch 1)")
    for ax in (left, right):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)


def _dead_filters(fig: Any, result: DemoResult) -> None:
    """Per run and conv-fed ReLU, the fraction of channels that never fired in each epoch, as the doctor measured."""
    ax = fig.add_subplot()
    for run in result.runs:
        for layer, series in run.watched.get("dead_channel_fraction", {}).items():
            ax.plot(range(len(series)), series, marker="o", label=f"{run.label}: {layer}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("fraction of channels (filters) never active")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


NET_FIGURES = {"vanishing-through-time": _through_time, "residual-depth": _residual_depth,
               "cnn-dead-filters": _dead_filters}


def _figure(result: DemoResult) -> str:
    """The demo's plot as a base64 PNG."""
    fig = agg_figure(7, 3.6)
    if result.name in NET_FIGURES:
        NET_FIGURES[result.name](fig, result)
        fig.tight_layout()
        return png_base64(fig)
    ax = fig.add_subplot()
    if result.name == "vanishing":
        for run in result.runs:
            ax.semilogy(range(len(run.grad_rms)), list(run.grad_rms.values()), marker="o", label=run.label)
        ax.set_xticks(range(len(result.runs[0].grad_rms)), list(result.runs[0].grad_rms), rotation=45, fontsize=7)
        ax.set_xlabel("layer (input side → output side)")
        ax.set_ylabel("weight gradient RMS")
    elif result.name == "exploding":
        for run in result.runs:
            shown = run.grad_norms[:80]  # the explosion happens in the first steps
            ax.semilogy([v if math.isfinite(v) else float("nan") for v in shown], label=run.label)
            bad = next((i for i, v in enumerate(run.grad_norms) if not math.isfinite(v)), None)
            if bad is not None:
                ax.axvline(bad, color="red", linestyle=":", label=f"overflow at step {bad}")
        ax.set_xlabel("step")
        ax.set_ylabel("gradient norm")
    elif result.name == "dead-relu":
        runs = [r for r in result.runs if r.dead_fraction]
        layers = list(runs[0].dead_fraction)
        width = 0.8 / len(runs)
        for k, run in enumerate(runs):
            ax.bar([i + k * width for i in range(len(layers))], [run.dead_fraction[name] for name in layers],
                   width=width, label=run.label)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(layers))], layers)
        ax.set_ylabel("fraction of dead units")
        ax.set_ylim(0, 1)
    else:  # dropout
        rates = result.numbers["rates"]
        ax.plot(rates, [result.numbers["train_accuracy"][p] for p in rates], marker="o", label="train accuracy")
        ax.plot(rates, [result.numbers["val_accuracy"][p] for p in rates], marker="o", label="validation accuracy")
        ax.set_xlabel("dropout rate p")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_base64(fig)


def _section(result: DemoResult) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(r.label)}</td><td>{_pct(r.train_accuracy)}</td><td>{_pct(r.val_accuracy)}</td>"
        f"<td>{_loss(r.final_loss)}</td><td>{html.escape(doctor_label(result, r))}</td></tr>"
        for r in result.runs
    )
    checks = "".join(f"<li class='{'ok' if ok else 'bad'}'>{'✓' if ok else '✗'} {html.escape(t)}</li>"
                     for t, ok in result.checks)
    story = "".join(f"<p>{html.escape(s)}</p>" for s in result.story)
    verdict = "The claim holds." if result.claim_holds else "The claim does NOT hold."
    return (
        f"<section id='{result.name}'><h2>{html.escape(result.title)}</h2>"
        f"<p class='claim'>{html.escape(result.claim)}</p>{story}"
        f"<img alt='{html.escape(result.title)} plot' src='data:image/png;base64,{_figure(result)}'>"
        "<table><tr><th>run</th><th>train acc</th><th>val acc</th><th>final loss</th><th>doctor</th></tr>"
        f"{rows}</table><ul>{checks}</ul><p class='verdict'>{verdict}</p></section>"
    )


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.claim{font-style:italic}.ok{color:#176d2b}.bad{color:#b3261e}img{max-width:100%}section{margin-bottom:3rem}"""


def write_html(results: Sequence[DemoResult], path: str | os.PathLike) -> Path:
    """Write one self-contained HTML page for the given demos (atomically) and return its path."""
    path = Path(path)
    title = "chainrule failure gallery" if len(results) > 1 else f"chainrule demo: {results[0].title}"
    nav = " · ".join(f"<a href='#{r.name}'>{html.escape(r.title)}</a>" for r in results)
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1><nav>{nav}</nav>"
            + "".join(_section(r) for r in results) + "</body></html>")
    atomic_write(path, page)
    return path
