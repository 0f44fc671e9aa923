"""The doctor benchmark in PyTorch: labelled torch training runs, chainrule's doctor and torchmortem on each.

    python benchmarks/doctor_torch/torch_run.py [--subset fast] [--only NAME ...] [--no-torchmortem] [--json PATH]

Each run (the MLP rows of benchmarks/doctor/cases.py as torch models, and the conv, recurrent and transformer
rows of torch_cases.NET_CASES) trains in the plain PyTorch loop of issue 12 with two observers: the
benchmark's own ``TorchRecorder`` (hooks that only read) and ``cr.Doctor().watch(model, optimizer)``. The
true labels come from the recorder's measurements (benchmarks/doctor/measure.py's rules, plus the
through-time rule of torch_measure.py), never from the doctor. The run is then trained a second time, from
the same seed, with torchmortem's ``Autopsy`` as its only observer (its hooks rewrap module outputs, which
would hide the doctor's view of functional activations, so the two are not stacked); that the second run is
the same run is checked: its losses must equal the first's, bit for bit. Metrics, tables and the JSON layout
are benchmarks/doctor/run.py's.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "doctor"))

import run as bench  # benchmarks/doctor/run.py: score, metrics, tables
import torch_cases
import torch_measure

import chainrule as cr

# torchmortem's findings (by title) -> the doctor's kinds: the kind whose problem the finding names or whose
# first remedy it gives. Findings about something no kind covers (catapult phase, edge of stability, gradient
# noise, rank collapse) map to None: they count as neither hit nor false alarm, and are tallied apart.
TORCHMORTEM_KINDS: dict[str, str | None] = {
    "Vanishing gradients detected": "vanishing_gradients",
    "Gradient stalling in": "vanishing_gradients",  # a layer's gradient < 1e-8 for 30% of steps
    "Exploding gradients detected": "exploding_gradients",
    "Dead units in": "dead_relu",
    "Activation saturation in": "saturation",
    "Update ratio too high in": "learning_rate_too_high",
    "Training divergence detected": "learning_rate_too_high",  # "typically ... the learning rate is too high"
    "Weight norm explosion": "learning_rate_too_high",  # "training instability"; remedies: decay, lower the rate
    "Update ratio too low in": "learning_rate_too_low",
    "Loss plateau detected": "learning_rate_too_low",  # its first remedy: raise the learning rate
    "Stagnant weight norms": "learning_rate_too_low",
    "Inter-layer weight norm imbalance": "bad_initialization",  # "check weight initialization"
    "Catapult phase detected": None,
    "Edge of stability regime detected": None,
    "High gradient noise (low SNR)": None,
    "Rank collapse in": None,
}


def torchmortem_kind(title: str) -> str | None:
    for prefix, kind in TORCHMORTEM_KINDS.items():
        if title.startswith(prefix):
            return kind
    raise KeyError(f"torchmortem finding {title!r} has no entry in TORCHMORTEM_KINDS")


# ------------------------------------------------------------------------------------------------ the loop
def train(c: Any, seed: int, observe: Any) -> dict[str, Any]:
    """The issue's loop on a case: zero_grad, forward, backward, ``observe.after_backward(loss)``, step,
    ``observe.after_step(loss)``; ``observe.end_epoch(logs)`` after each epoch with fit's logs (the batches'
    mean loss; train and validation loss and accuracy in eval mode). The batch order is drawn from
    ``numpy.random.default_rng(seed)``, the weights from ``torch.manual_seed(seed)``. Returns the losses."""
    (X, y), (Xv, yv), classes = torch_cases.data(c)
    model = torch_cases.build(c, X.shape[1], classes, seed)
    opt = torch_cases.optimizer(c, model)
    X_t, y_t = torch_cases.inputs(c, X), torch.as_tensor(y)
    Xv_t, yv_t = torch_cases.inputs(c, Xv), torch.as_tensor(yv)
    observe.begin(model, opt, X_t, y_t)
    order_rng = np.random.default_rng(seed)
    losses: list[float] = []
    model.train()
    for _ in range(c.epochs):
        order = torch.as_tensor(order_rng.permutation(len(X_t)))
        total, batches = 0.0, 0
        for start in range(0, len(X_t), c.batch_size):
            rows = order[start:start + c.batch_size]
            loss = F.cross_entropy(model(X_t[rows]), y_t[rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            observe.after_backward(loss)
            opt.step()
            value = float(loss.detach())
            observe.after_step(value)
            losses.append(value)
            total, batches = total + value, batches + 1
        logs = {"loss": total / batches, "accuracy": evaluate(model, X_t, y_t)["accuracy"],
                **{f"val_{k}": v for k, v in evaluate(model, Xv_t, yv_t).items()}, "val_samples": len(yv_t)}
        observe.end_epoch(logs)
    observe.end()
    return {"losses": losses}


def evaluate(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Cross-entropy and accuracy in eval mode, without a graph."""
    model.eval()
    try:
        with torch.no_grad():
            logits = model(X)
    finally:
        model.train()
    loss = float(F.cross_entropy(logits, y))
    return {"loss": loss, "accuracy": float((logits.argmax(1) == y).double().mean())}


class Observers:
    """The benchmark's recorder and chainrule's doctor on one run, in the places the issue's loop calls them."""

    def __init__(self, c: Any) -> None:
        self.case = c
        self.doctor = cr.Doctor(stop_on_non_finite=False)  # nothing is measured after a NaN either way

    def begin(self, model: torch.nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> None:
        self.recorder = torch_measure.TorchRecorder(model, X, y, torch_cases.recurrent(self.case))
        self.recorder.begin()
        self.doctor.watch(model, opt)

    def after_backward(self, loss: torch.Tensor) -> None:
        self.recorder.after_backward(loss)
        self.doctor.check(loss)

    def after_step(self, loss: float) -> None:
        self.recorder.after_step()

    def end_epoch(self, logs: dict[str, Any]) -> None:
        self.recorder.end_epoch(logs)
        self.doctor.end_epoch(train_loss=logs["loss"], val_loss=logs["val_loss"], train_acc=logs["accuracy"],
                              val_acc=logs["val_accuracy"], val_samples=logs["val_samples"])

    def end(self) -> None:
        self.recorder.end()
        self.doctor.report()  # judges what the last epoch left open
        self.doctor.unwatch()


class Autopsy:
    """torchmortem as its README and docstring use it: ``Autopsy(model, optimizer=optimizer)`` with its default
    sampling ("balanced"), ``attach()`` before training, ``step(loss=loss.item())`` after ``optimizer.step()``,
    ``detach()`` at the end (which runs its detectors)."""

    def begin(self, model: torch.nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> None:
        import torchmortem

        self.autopsy = torchmortem.Autopsy(model, optimizer=opt)
        self.autopsy.attach()

    def after_backward(self, loss: torch.Tensor) -> None:
        pass

    def after_step(self, loss: float) -> None:
        self.autopsy.step(loss=loss)

    def end_epoch(self, logs: dict[str, Any]) -> None:
        pass

    def end(self) -> None:
        self.autopsy.detach()

    def findings(self) -> list[dict[str, Any]]:
        report = self.autopsy.get_report()
        return [{"kind": torchmortem_kind(f.title), "title": f.title, "severity": f.severity.name,
                 "layers": list(f.affected_layers)} for f in (report.findings if report else [])]


# ------------------------------------------------------------------------------------------------ one run
def execute(c: Any, seed: int = 0, with_torchmortem: bool = True) -> dict[str, Any]:
    """Train one case with the recorder and the doctor, then again with torchmortem; the measurements,
    labels, both tools' findings and whether the two trainings were the same run."""
    observers = Observers(c)
    started = time.perf_counter()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the faulty runs overflow on purpose
        losses = train(c, seed, observers)["losses"]
    seconds = time.perf_counter() - started
    rec = observers.recorder
    summary = torch_measure.measure.summarize(rec, rec.X.reshape(len(rec.X), -1).numpy())
    labels = torch_measure.label(rec, summary)
    findings = [{"kind": f.kind, "layer": f.layer, "step": f.step, "epoch": f.epoch,
                 "remedy": f.remedies[0].description if f.remedies else None,
                 "change": f.remedies[0].change if f.remedies else None} for f in observers.doctor.findings]
    r = {"name": c.name, "data": c.data, "arch": getattr(c, "arch", "mlp"), "expect": sorted(c.expect),
         "cause": list(c.cause), "note": c.note, "labels": labels, "findings": findings, "seconds": seconds,
         "summary": summary, "losses": losses}
    if with_torchmortem:
        autopsy = Autopsy()
        started = time.perf_counter()
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            again = train(c, seed, autopsy)["losses"]
        r["torchmortem"] = {"findings": autopsy.findings(), "seconds": time.perf_counter() - started,
                            "same_run": bool(np.array_equal(np.array(losses), np.array(again), equal_nan=True))}
    return r


def score_torchmortem(r: dict[str, Any]) -> dict[str, Any]:
    true = set(r["labels"])
    found = {f["kind"] for f in r["torchmortem"]["findings"] if f["kind"]}
    warned = [f["title"] for f in r["torchmortem"]["findings"] if f["severity"] != "INFO"]
    return {"hits": sorted(true & found), "misses": sorted(true - found), "false_alarms": sorted(found - true),
            "any_warning": warned}


def torchmortem_metrics(results: list[dict[str, Any]], severities: tuple[str, ...] = ("WARNING", "CRITICAL"),
                        ) -> dict[str, Any]:
    """torchmortem's recall per kind and overall, false alarms on healthy runs and precision, from its findings
    of the given severities (the default: all but INFO, which only its unmapped findings use)."""
    scored = [r for r in results if "torchmortem" in r]

    def kinds(r: dict[str, Any]) -> set[str]:
        return {f["kind"] for f in r["torchmortem"]["findings"] if f["kind"] and f["severity"] in severities}

    per_kind = {}
    for kind in bench.ALL_KINDS:
        true = [r for r in scored if kind in r["labels"]]
        per_kind[kind] = {"runs": len(true), "hits": sum(kind in kinds(r) for r in true),
                          "reported": sum(kind in kinds(r) for r in scored)}
    healthy = [r for r in scored if not r["labels"]]
    return {"per_kind": per_kind, "severities": list(severities), "hits": sum(k["hits"] for k in per_kind.values()),
            "labelled": sum(k["runs"] for k in per_kind.values()),
            "reported": sum(len(kinds(r)) for r in scored),
            "healthy_runs": len(healthy),
            "false_alarm_runs": sum(bool(kinds(r)) for r in healthy),
            "healthy_with_any_warning": sum(bool(r["torchmortem"]["score"]["any_warning"]) for r in healthy),
            "same_runs": sum(r["torchmortem"]["same_run"] for r in scored), "runs": len(scored),
            "seconds": sum(r["torchmortem"]["seconds"] for r in scored)}


# ------------------------------------------------------------------------------------------------ report
def side_by_side(m: dict[str, Any], t: dict[str, Any]) -> str:
    """Recall per kind and false alarms, chainrule's doctor next to torchmortem, on the same runs."""
    pct = bench._pct
    rows = ["| kind | runs | chainrule doctor: recall | torchmortem: recall | doctor: reported / precision "
            "| torchmortem: reported / precision |", "|---" * 6 + "|"]
    for kind in bench.ALL_KINDS:
        d, k = m["per_kind"][kind], t["per_kind"][kind]
        if not (d["runs"] or d["reported"] or k["reported"]):
            continue
        rows.append(f"| {bench.SHORT[kind]} {kind} | {d['runs']} | {pct(d['hits'], d['runs'])} "
                    f"| {pct(k['hits'], k['runs'])} | {d['reported']} / {pct(d['hits'], d['reported'])} "
                    f"| {k['reported']} / {pct(k['hits'], k['reported'])} |")
    hits = sum(m["per_kind"][k]["hits"] for k in bench.ALL_KINDS)
    labelled = sum(m["per_kind"][k]["runs"] for k in bench.ALL_KINDS)
    rows += [f"| **all labels** | {labelled} | **{pct(hits, labelled)}** | **{pct(t['hits'], t['labelled'])}** "
             f"| {m['reported']} / {pct(hits, m['reported'])} | {t['reported']} / {pct(t['hits'], t['reported'])} |",
             f"| **false alarms on healthy runs** | {m['healthy_runs']} "
             f"| **{pct(m['false_alarm_runs'], m['healthy_runs'])}** "
             f"| **{pct(t['false_alarm_runs'], t['healthy_runs'])}** | | |",
             f"| healthy runs with any warning (torchmortem: its unmapped findings too) | {m['healthy_runs']} "
             f"| {pct(m['false_alarm_runs'], m['healthy_runs'])} "
             f"| {pct(t['healthy_with_any_warning'], t['healthy_runs'])} | | |"]
    return "\n".join(rows)


def run_all(selected: list[Any], progress: bool = False, seed: int = 0,
            with_torchmortem: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    results = []
    for c in selected:
        r = execute(c, seed, with_torchmortem)
        r["score"] = bench.score(r, c)
        if with_torchmortem:
            r["torchmortem"]["score"] = score_torchmortem(r)
        results.append(r)
        if progress:
            print(f"  {c.name:38s} {r['seconds']:5.2f} s", file=sys.stderr)
    return results, bench.metrics(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", choices=("all", "fast", "mlp", "nets"), default="all",
                        help="fast: the test's subset; mlp: benchmarks/doctor's rows only; nets: conv/rnn/transformer")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="runs whose name contains one of these")
    parser.add_argument("--no-torchmortem", action="store_true", help="chainrule's doctor only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every measurement and finding here")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="another seed for weights and batch order")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    everything = {"all": [*torch_cases.CASES, *torch_cases.NET_CASES], "mlp": torch_cases.CASES,
                  "nets": torch_cases.NET_CASES,
                  "fast": [c for c in (*torch_cases.CASES, *torch_cases.NET_CASES) if c.name in torch_cases.FAST]
                  }[args.subset]
    selected = [c for c in everything if not args.only or any(o in c.name for o in args.only)]
    with_torchmortem = not args.no_torchmortem
    started = time.perf_counter()
    results, m = run_all(selected, progress=True, seed=args.seed, with_torchmortem=with_torchmortem)
    m["wall_seconds"] = time.perf_counter() - started
    bench.print_results(results, m, "torchmortem's reruns and data loading included")
    if with_torchmortem:
        t = torchmortem_metrics(results)
        m["torchmortem"] = t
        print("\nSide by side with torchmortem 0.1.1 (default sampling; its findings mapped to kinds by "
              "TORCHMORTEM_KINDS):\n")
        print(side_by_side(m, t))
        critical = torchmortem_metrics(results, ("CRITICAL",))
        m["torchmortem_critical_only"] = critical
        print(f"\ntorchmortem's CRITICAL findings only: recall {bench._pct(critical['hits'], critical['labelled'])}, "
              f"false alarms on healthy runs {bench._pct(critical['false_alarm_runs'], critical['healthy_runs'])}")
        print(f"\ntorchmortem's run was the doctor's run (losses bit-identical) in {t['same_runs']} of {t['runs']}")
        print("\ntorchmortem per run (mapped kinds; hits / misses / false alarms):")
        for r in results:
            s = r["torchmortem"]["score"]
            print(f"  {r['name']}: true {bench._codes(r['labels'])}; hit {bench._codes(s['hits'])}; "
                  f"miss {bench._codes(s['misses'])}; false {bench._codes(s['false_alarms'])}")
    if args.json:
        bench.write_json(args.json, results, m)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
