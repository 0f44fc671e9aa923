"""Doctor benchmark: labelled training runs, the doctor's findings on each, and how well they agree.

    python benchmarks/doctor/run.py [--subset fast] [--only NAME ...] [--json out.json]

Each run in ``cases.CASES`` trains once through ``chainrule.fit`` with two observers: the benchmark's own
``measure.Recorder`` (hooks that only read) and a fresh ``Doctor``. The true labels come from the
recorder's measurements (``measure.label``), never from the doctor or from the configuration.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases
import measure

from chainrule import fit  # the top-level fit: it takes doctor=
from chainrule.doctor import Doctor
from chainrule.doctor.findings import KINDS

# kinds the benchmark labels that the doctor does not have (issue 10 added the last three it lacked)
PROPOSED = tuple(k for k in ("bad_initialization", "not_converged", "unscaled_inputs") if k not in KINDS)
ALL_KINDS = (*KINDS, *PROPOSED)
SHORT = {"non_finite": "NF", "exploding_gradients": "EX", "vanishing_gradients": "VG", "dead_relu": "DR",
         "saturation": "SAT", "overfitting": "OF", "learning_rate_too_high": "LR+", "learning_rate_too_low": "LR-",
         "bad_initialization": "BI", "not_converged": "NC", "unscaled_inputs": "UI"}
# What each key of a remedy's ``change`` acts on, in the cause classes of cases.CAUSES.
REMEDY_CLASS = {"lr": "learning rate", "lr_factor": "learning rate", "optimizer": "learning rate",
                "clip_grad_norm": "learning rate", "init": "init", "activation": "activation",
                "batch_norm": "normalization", "dropout": "regularization"}


# ------------------------------------------------------------------------------------------------ one run
def execute(c: cases.Case, seed: int = 0) -> dict[str, Any]:
    """Train one case with the recorder and the doctor attached; its measurements, labels and findings.
    ``seed`` draws the initial weights and the batch order (the data split stays fixed)."""
    train, val, classes = cases.data(c)
    net = cases.model(c, train[0].shape[1], classes, seed=seed)
    opt, lr = cases.optimizer(c, net)
    # The doctor would stop training at a non-finite value; it measures nothing after one either way, so letting
    # the run go on leaves its findings unchanged and the run itself independent of the doctor.
    recorder, doctor = measure.Recorder(*train), Doctor(stop_on_non_finite=False)
    started = time.perf_counter()
    with np.errstate(all="ignore"):  # the faulty runs overflow on purpose
        fit(net, train, val, optimizer=opt, lr=lr, epochs=c.epochs, batch_size=c.batch_size, seed=seed,
            doctor=doctor, callbacks=[recorder], verbose=0)
    seconds = time.perf_counter() - started
    summary = measure.summarize(recorder, train[0])
    findings = [{"kind": f.kind, "layer": f.layer, "step": f.step, "epoch": f.epoch,
                 "remedy": f.remedies[0].description if f.remedies else None,
                 "change": f.remedies[0].change if f.remedies else None} for f in doctor.findings]
    return {"name": c.name, "data": c.data, "expect": sorted(c.expect), "cause": list(c.cause), "note": c.note,
            "labels": measure.label(summary), "findings": findings, "seconds": seconds, "summary": summary,
            "losses": recorder.loss}


def remedy_classes(change: dict[str, Any] | None, description: str, c: cases.Case) -> set[str]:
    """The cause classes a remedy acts on (e.g. {"learning rate"} for {"lr": 0.01})."""
    classes = {REMEDY_CLASS[k] for k in change or {} if k in REMEDY_CLASS}
    if change and "hidden" in change:
        classes.add("depth" if len(change["hidden"]) != len(c.hidden) else "regularization")
    if change and "epochs" in change:
        classes.add("regularization" if change["epochs"] < c.epochs else "train longer")
    if not change and "data" in description:
        classes.add("data")
    return classes


def score(r: dict[str, Any], c: cases.Case) -> dict[str, Any]:
    """Per run: hits, misses, false alarms, layer agreement, early warning, whether the first remedy fits."""
    true, found = set(r["labels"]), {f["kind"] for f in r["findings"]}
    layers, remedies = [], []
    for kind in sorted(true & found):
        first = next(f for f in r["findings"] if f["kind"] == kind)
        measured = [x for x in r["labels"][kind] if x]
        if kind != "overfitting" and measured:
            for f in (f for f in r["findings"] if f["kind"] == kind):
                layers.append({"kind": kind, "doctor": f["layer"], "measured": measured,
                               "correct": f["layer"] in measured})
        if c.cause:
            acts_on = remedy_classes(first["change"], first["remedy"] or "", c)
            remedies.append({"kind": kind, "remedy": first["remedy"], "acts_on": sorted(acts_on),
                             "cause": list(c.cause), "addresses_cause": bool(acts_on & set(c.cause))})
    nf = r["summary"]["first_non_finite_step"]
    early = None
    if "non_finite" in true:
        early = any(f["kind"] != "non_finite" and f["step"] < nf for f in r["findings"])
    return {"hits": sorted(true & found), "misses": sorted(true - found), "false_alarms": sorted(found - true),
            "layers": layers, "remedies": remedies, "warned_before_non_finite": early,
            "matches_design": set(r["labels"]) == set(c.expect)}


# ------------------------------------------------------------------------------------------------ metrics
def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({a / b:.0%})" if b else "—"


def metrics(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall per kind, false alarms on healthy runs, precision, layer, early warning, remedy, runtime."""
    per_kind = {}
    for kind in ALL_KINDS:
        true = [r for r in results if kind in r["labels"]]
        found = [r for r in results if kind in {f["kind"] for f in r["findings"]}]
        hits = [r for r in true if kind in r["score"]["hits"]]
        layer = [x for r in results for x in r["score"]["layers"] if x["kind"] == kind]
        remedy = [x for r in results for x in r["score"]["remedies"] if x["kind"] == kind]
        per_kind[kind] = {"runs": len(true), "hits": len(hits), "recall": len(hits) / len(true) if true else None,
                          "reported": len(found), "precision": len(hits) / len(found) if found else None,
                          "layer_correct": sum(x["correct"] for x in layer), "layer_checked": len(layer),
                          "remedy_addresses_cause": sum(x["addresses_cause"] for x in remedy),
                          "remedy_checked": len(remedy)}
    healthy = [r for r in results if not r["labels"]]
    alarmed = [r for r in healthy if r["findings"]]
    divergent = [r for r in results if "non_finite" in r["labels"]]
    known = list(KINDS)
    hits = sum(per_kind[k]["hits"] for k in known)
    reported = sum(len({f["kind"] for f in r["findings"]}) for r in results)
    layers = [x for r in results for x in r["score"]["layers"]]
    remedies = [x for r in results for x in r["score"]["remedies"]]
    return {
        "runs": len(results), "healthy_runs": len(healthy), "datasets": len({r["data"] for r in results}),
        "per_kind": per_kind,
        "recall_doctor_kinds": hits / max(1, sum(per_kind[k]["runs"] for k in known)),
        "recall_all_kinds": hits / max(1, sum(per_kind[k]["runs"] for k in ALL_KINDS)),
        "false_alarm_runs": len(alarmed), "false_alarm_rate": len(alarmed) / len(healthy) if healthy else None,
        "precision": hits / reported if reported else None, "reported": reported,
        "layer_correct": sum(x["correct"] for x in layers), "layer_checked": len(layers),
        "warned_before_non_finite": sum(bool(r["score"]["warned_before_non_finite"]) for r in divergent),
        "divergent_runs": len(divergent),
        "remedy_addresses_cause": sum(x["addresses_cause"] for x in remedies), "remedy_checked": len(remedies),
        "differs_from_design": [r["name"] for r in results if not r["score"]["matches_design"]],
        "seconds": sum(r["seconds"] for r in results),
    }


def healthy_ranges(results: list[dict[str, Any]]) -> dict[str, float]:
    """The largest value each rule's quantity reaches on the runs that carry no label: the margin to each threshold."""
    healthy = [r["summary"] for r in results if not r["labels"]]

    def most(values: Any) -> float:
        finite = [float(v) for v in values if v is not None and math.isfinite(v)]
        return max(finite) if finite else math.nan

    return {
        "dead_fraction (label ≥ 0.5)": most(v[-1] for s in healthy for v in s["dead_fraction"].values()),
        "saturated_fraction (≥ 0.5)": most(x for s in healthy for v in s["saturated_fraction"].values() for x in v),
        "gradient growth, 5-step median (> 10)": most(s["grad_growth_sustained"] for s in healthy),
        "first/last gradient ratio, smallest (< 1e-3)": -most(-s["grad_ratio_first_last"] for s in healthy),
        "loss climb / initial loss (≥ 0.1)": most(x for s in healthy for x in s["loss_climb"]),
        "|log10 scale change by depth| at step 0 (≥ 2)": most(
            max(abs(s["init_forward_log10_span"]), abs(s["init_backward_log10_span"])) for s in healthy),
        "GL at the last epoch (> 0.05, with the other conditions)": most(s["generalization_loss"][-1] for s in healthy),
        "loss-trend t, most negative (< -3, with a ≥ 10% projected fall)": -most(-s["trend_slope_t"] for s in healthy),
        "input feature RMS, largest (> 10)": most(s["input_rms_max"] for s in healthy),
    }


# ------------------------------------------------------------------------------------------------ report
def _codes(kinds: Any) -> str:
    return " ".join(SHORT[k] for k in sorted(kinds, key=ALL_KINDS.index)) or "—"


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| run | data set | true labels | doctor's findings | hit | miss | false alarm |", "|---" * 7 + "|"]
    for r in results:
        s = r["score"]
        found = " ".join(f"{SHORT[f['kind']]}" + (f"@{f['layer']}" if f["layer"] else "") for f in r["findings"])
        lines.append(f"| {r['name']} | {r['data']} | {_codes(r['labels'])} | {found or '—'} | {_codes(s['hits'])} "
                     f"| {_codes(s['misses'])} | {_codes(s['false_alarms'])} |")
    return "\n".join(lines)


def summary_tables(m: dict[str, Any]) -> str:
    rows = ["| kind | runs | recall | reported | precision | layer named correctly | first remedy fits the cause |",
            "|---" * 7 + "|"]
    for kind, k in m["per_kind"].items():
        recall = _pct(k["hits"], k["runs"]) if kind in KINDS else f"— (not a doctor kind; {k['runs']} runs)"
        precision = _pct(k["hits"], k["reported"])
        rows.append(f"| {SHORT[kind]} {kind} | {k['runs']} | {recall} | {k['reported']} | {precision} "
                    f"| {_pct(k['layer_correct'], k['layer_checked'])} "
                    f"| {_pct(k['remedy_addresses_cause'], k['remedy_checked'])} |")
    hits = sum(m["per_kind"][k]["hits"] for k in KINDS)
    labelled = sum(m["per_kind"][k]["runs"] for k in KINDS)
    rows += ["", "| metric | value |", "|---|---|",
             f"| runs / data sets / healthy controls | {m['runs']} / {m['datasets']} / {m['healthy_runs']} |",
             f"| recall over the doctor's {len(KINDS)} kinds | {_pct(hits, labelled)} |",
             f"| recall over all {len(ALL_KINDS)} kinds ({len(PROPOSED)} proposed) | {m['recall_all_kinds']:.0%} |",
             f"| false alarms on healthy runs | {_pct(m['false_alarm_runs'], m['healthy_runs'])} |",
             f"| precision (findings that are true labels) | {_pct(hits, m['reported'])} |",
             f"| layer named correctly | {_pct(m['layer_correct'], m['layer_checked'])} |",
             f"| warned before the first non-finite loss "
             f"| {_pct(m['warned_before_non_finite'], m['divergent_runs'])} |",
             f"| first remedy addresses the cause | {_pct(m['remedy_addresses_cause'], m['remedy_checked'])} |",
             f"| runtime (training, all runs) | {m['seconds']:.1f} s |"]
    return "\n".join(rows)


def _json_safe(x: Any) -> Any:
    """Plain JSON: floats to 3 significant digits, inf/nan as strings, tuples as lists."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, float | np.floating):
        return float(f"{x:.3g}") if math.isfinite(x) else str(float(x))
    if isinstance(x, np.integer):
        return int(x)
    return x


def write_json(path: Path, results: list[dict[str, Any]], m: dict[str, Any]) -> None:
    """One run per line (diff-friendly): rules with sources, metrics, and each run's measurements and findings."""
    head = {"machine": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
            "rules": measure.RULES, "metrics": m}
    runs = [json.dumps(_json_safe({k: v for k, v in r.items() if k != "losses"}), ensure_ascii=False)
            for r in results]
    text = json.dumps(_json_safe(head), indent=1, ensure_ascii=False)[:-2]
    path.write_text(text + ',\n "runs": [\n' + ",\n".join(runs) + "\n ]\n}\n")


def run_all(selected: list[cases.Case], progress: bool = False,
            seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    results = []
    for c in selected:
        r = execute(c, seed)
        r["score"] = score(r, c)
        results.append(r)
        if progress:
            print(f"  {c.name:38s} {r['seconds']:5.2f} s", file=sys.stderr)
    return results, metrics(results)


def print_results(results: list[dict[str, Any]], m: dict[str, Any], wall_includes: str) -> None:
    """The run table, the codes, the metrics, the healthy runs' ranges and the labels that differ from the design
    (adds ``healthy_ranges`` to ``m``); shared with benchmarks/doctor_torch/torch_run.py."""
    print(table(results))
    print()
    print("Codes: " + ", ".join(f"{v} {k}" for k, v in SHORT.items()))
    print()
    print(summary_tables(m))
    print(f"\nwall time {m['wall_seconds']:.1f} s for {len(results)} runs ({wall_includes})")
    m["healthy_ranges"] = healthy_ranges(results)
    print("\nOn the healthy runs (largest value; the label's threshold in brackets):")
    for key, value in m["healthy_ranges"].items():
        print(f"  {key}: {value:.3g}")
    if m["differs_from_design"]:
        print("\nMeasured labels differ from the design (the measurement wins):")
        for r in results:
            if not r["score"]["matches_design"]:
                print(f"  {r['name']}: designed {_codes(r['expect'])}, measured {_codes(r['labels'])}"
                      + (f" ({r['note']})" if r["note"] else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", choices=("all", "fast"), default="all", help="fast: the test's subset")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="runs whose name contains one of these")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every measurement and finding here")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="another seed for weights and batch order: a replicate "
                        "of the benchmark the doctor was not improved against (labels are measured again)")
    args = parser.parse_args(argv)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    selected = [c for c in cases.CASES if (args.subset == "all" or c.fast)
                and (not args.only or any(o in c.name for o in args.only))]
    started = time.perf_counter()
    results, m = run_all(selected, progress=True, seed=args.seed)
    m["wall_seconds"] = time.perf_counter() - started
    print_results(results, m, "data loading included")
    if args.json:
        write_json(args.json, results, m)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
