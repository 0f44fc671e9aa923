"""``chainrule train``: train an MLP on a built-in data set or a CSV/NPZ file and write a run folder.

The run folder holds ``model.safetensors`` (weights, with the architecture in its metadata;
``chainrule.load`` rebuilds it), ``model.json`` (the same architecture, for people and tools),
``history.jsonl`` (one JSON line per epoch), ``history.csv`` (the same rows as Keras's CSVLogger
writes them, for any CSV reader) and ``summary.json`` (final and test metrics, the config, the
seconds it took). ``--json`` prints the summary to stdout and nothing else there.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from chainrule import nn
from chainrule._fit import fit
from chainrule._io import atomic_folder, atomic_write, json_safe
from chainrule.cli.checks import finite_float, hidden_widths, whole_number, writable_path
from chainrule.data import load_dataset
from chainrule.doctor import cli as doctor_cli
from chainrule.serialization import architecture, save
from chainrule.training.callbacks import csv_rows
from chainrule.training.models import ACTIVATIONS, MLPSpec, build_mlp
from chainrule.training.progress import ProgressBar
from chainrule.training.tensorboard import TensorBoard
from chainrule.training.trainer import OPTIMIZERS, evaluate


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train", help="train an MLP on a data set and write a run folder",
        description="Train an MLP on a built-in data set (--dataset) or a .csv/.npz file (--data), "
                    "show a progress bar, and write model, history and summary to a run folder.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, help="a built-in data set (default: digits)")
    source.add_argument("--data", default=None, help="a .csv or .npz file (last CSV column = label)")
    parser.add_argument("--hidden", type=hidden_widths, default=(64, 64), help="hidden widths, e.g. 64,64 (default)")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    parser.add_argument("--batch-norm", action="store_true", help="BatchNorm1d after each hidden Linear")
    parser.add_argument("--dropout", type=finite_float("dropout", 0.0, 1.0), default=0.0,
                        help="dropout after each hidden activation")
    parser.add_argument("--init", default="default", help="default | he | xavier | normal:<std>")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--lr", type=finite_float("lr", 0.0), default=None,
                        help="learning rate (default: the optimizer's)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--clip-grad", type=finite_float("clip-grad", 0.0), default=None,
                        help="clip the gradient norm to this")
    parser.add_argument("--seed", type=whole_number("seed", 0), default=0)
    parser.add_argument("--out", default=None, help="run folder (default: runs/<dataset>-<timestamp>)")
    parser.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="also write TensorBoard events (metrics, histograms, the doctor's findings) to DIR")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout, nothing else")
    doctor_cli.add_arguments(parser)
    parser.set_defaults(func=run)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write(path, "".join(json.dumps(json_safe(row), allow_nan=False) + "\n" for row in rows))


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule train``; returns the exit status."""
    started = time.perf_counter()
    doctor_cli.check_arguments(args)
    console = Console(stderr=True) if args.json else Console()
    source = args.data if args.data is not None else (args.dataset or "digits")
    name = Path(source).stem if args.data is not None else source
    run_dir = Path(args.out) if args.out else Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    writable_path(run_dir, "out", folder=True)  # before training: a bad --out must not cost the run
    if args.tensorboard is not None:
        writable_path(Path(args.tensorboard), "tensorboard", folder=True)
    splits = load_dataset(source, seed=args.seed)
    train, val, test = splits.train, splits.val, splits.test
    classify = train.num_classes is not None
    out_features = (train.num_classes if train.num_classes is not None  # classify
                    else 1 if train.y.ndim == 1 else train.y.shape[1])
    spec = MLPSpec(
        in_features=train.num_features, hidden=args.hidden, out_features=out_features, activation=args.activation,
        batch_norm=args.batch_norm, dropout=args.dropout, init=args.init,
    )
    model = build_mlp(spec, seed=args.seed)
    fit_kwargs: dict[str, Any] = {
        "train": train, "val": val, "loss": "cross_entropy" if classify else "mse", "optimizer": args.optimizer,
        "lr": args.lr, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
        "clip_grad_norm": args.clip_grad, "doctor": args.doctor,
    }
    # With the doctor watching, a diverging run is reported once in plain words (non_finite, exploding_gradients),
    # not as NumPy's overflow warnings pointing into the engine's source.
    watched = fit_kwargs["doctor"]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore") if watched else nullcontext():
        callbacks: list[Any] = [ProgressBar(console=console)]
        if args.tensorboard is not None:
            callbacks.append(TensorBoard(args.tensorboard))
        history = fit(model, callbacks=callbacks, verbose=1, **fit_kwargs)
        loss_fn = nn.CrossEntropyLoss() if classify else nn.MSELoss()
        test_metrics: dict[str, Any] = {}
        if test is not None:
            targets = test.y if classify or test.y.ndim > 1 else test.y.reshape(-1, 1)
            test_metrics = evaluate(model, test.X, targets, loss_fn, test.y if classify else None)
    config = {"dataset": source, "spec": spec.to_dict(),
              **{k: v for k, v in fit_kwargs.items() if k not in ("train", "val")}}
    summary = json_safe({
        "run_dir": str(run_dir), "dataset": source, "epochs_run": len(history.epochs),
        "stopped_early": history.stopped_early, "final": history.epochs[-1] if history.epochs else {},
        "test_loss": test_metrics.get("loss"), "test_accuracy": test_metrics.get("accuracy"),
        "samples": {split: len(ds) for split, ds in splits.items()}, "config": config,
        "seconds": time.perf_counter() - started,
    })
    # The run folder appears whole or not at all (a run rejected by its checks leaves none), and replaces an
    # earlier run at the same --out entirely: no file of the old run survives next to the new one.
    with atomic_folder(run_dir) as staging:
        save(model, staging / "model.safetensors")
        atomic_write(staging / "model.json", json.dumps(architecture(model), indent=2) + "\n")
        _write_jsonl(staging / "history.jsonl", history.epochs)
        atomic_write(staging / "history.csv", csv_rows(history.epochs))
        atomic_write(staging / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
        doctor_cli.after_training(args, history, staging, console, fit_kwargs, shown_dir=run_dir)
    if args.json:
        print(json.dumps(summary, allow_nan=False))
    else:
        _print_summary(console, summary)
    return 0


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title=f"chainrule train: {summary['dataset']}", show_header=False)
    final = summary["final"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if final.get(key) is not None:
            table.add_row(key, f"{final[key]:.4f}")
    for key in ("test_loss", "test_accuracy"):
        if summary.get(key) is not None:
            table.add_row(key, f"{summary[key]:.4f}")
    table.add_row("epochs", str(summary["epochs_run"]))
    table.add_row("seconds", f"{summary['seconds']:.1f}")
    table.add_row("run folder", summary["run_dir"])
    console.print(table)
