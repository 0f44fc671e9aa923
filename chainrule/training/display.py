"""How a History shows itself: a matplotlib figure of its curves and an HTML table for notebooks."""

from __future__ import annotations

import io
import math
from typing import Any

from chainrule._io import agg_figure, png_base64
from chainrule.training.progress import epochs_html, notebook_shell


def _series(epochs: list[dict[str, Any]], key: str) -> list[float]:
    return [math.nan if log.get(key) is None else float(log[key]) for log in epochs]


def history_figure(epochs: list[dict[str, Any]], width: float = 7.5, height: float = 2.8) -> Any:
    """A Figure (Agg canvas, no pyplot) with loss per epoch on the left and accuracy on the right.

    Without accuracy in the logs there is one panel. Accuracy runs from 0 to 1 so noise does not look like swings.
    """
    from matplotlib.ticker import MaxNLocator

    numbers = [n + 1 for n in range(len(epochs))]
    with_accuracy = any(log.get(k) is not None for log in epochs for k in ("accuracy", "val_accuracy"))
    fig = agg_figure(width, height, dpi=80)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.2, top=0.88, wspace=0.3)
    panels = (("loss", ("loss", "val_loss")), ("accuracy", ("accuracy", "val_accuracy")))[:1 + with_accuracy]
    for index, (title, keys) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), index + 1)
        for key in keys:
            if any(log.get(key) is not None for log in epochs):
                ax.plot(numbers, _series(epochs, key), marker="o", markersize=3, label=key)
        if title == "accuracy":
            ax.set_ylim(0, 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title(title)
        if ax.lines:
            ax.legend(fontsize=8, loc="best")
    return fig


def show_figures_as_png() -> None:
    """In a notebook, have a returned Figure drawn as a PNG, as the inline backend does once pyplot is imported.

    A Figure built without pyplot (as ``history_figure`` is) otherwise shows as ``<Figure size ...>``;
    a format the user chose already (svg, retina) is left alone.
    """
    shell = notebook_shell()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    if any(Figure in formatter.type_printers for formatter in formatters.values()):
        return
    formatters["image/png"].for_type(Figure, _png_bytes)


def _png_bytes(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def history_html(epochs: list[dict[str, Any]]) -> str:
    """The epochs as a table, with the figure under it, as one HTML fragment."""
    if not epochs:
        return "<p>History: no epochs ran.</p>"
    total = epochs[-1]["epoch"] + 1
    image = png_base64(history_figure(epochs))
    return (f"<div>{epochs_html(epochs, total)}"
            f'<img alt="loss and accuracy per epoch" style="max-width:100%" src="data:image/png;base64,{image}">'
            "</div>")
