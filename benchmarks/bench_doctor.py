"""Workload 5: what the training doctor costs. Workload 1's MLP trained with ``chainrule.fit``,
doctor on vs off (``doctor=True`` / ``doctor=False``), alternating, seconds per epoch.
"""

from __future__ import annotations

import argparse

import common


def run(n: int, epochs: int, repeats: int) -> dict[str, float] | None:
    """Median seconds per epoch of fit with the doctor off and on; None when fit or the doctor is missing."""
    try:
        from chainrule import fit, nn  # the top-level fit: the one with doctor=True/False
        from chainrule.doctor import Doctor  # noqa: F401 - only to know the doctor is there
    except ImportError as error:
        print(f"Workload 5 skipped: the doctor or fit is not available yet ({error})")
        return None
    import bench_mlp

    x, y = common.synthetic_mnist(n)

    def train(doctor: bool):
        def one_round():
            model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
            for p, value in zip(model.parameters(), bench_mlp.init_params()):
                p.data[...] = value
            fit(model, (x, y), loss="cross_entropy", optimizer="sgd", lr=bench_mlp.LR, epochs=epochs,
                batch_size=128, doctor=doctor, verbose=0, metrics=(), seed=0)

        return one_round

    times = common.alternate({"doctor off": train(False), "doctor on": train(True)}, repeats)
    return {name: common.median(t) / epochs for name, t in times.items()}


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="a tiny data set, one round (smoke test)")
    args = parser.parse_args(argv)
    n, epochs, repeats = (256, 1, 1) if args.tiny else (60_000, 1, 7)
    seconds = run(n, epochs, repeats)
    if seconds is None:
        return []
    off = seconds["doctor off"]
    rows = [[name, s, s / off] for name, s in seconds.items()]
    return [common.print_table(
        f"Workload 5: chainrule.fit on the MLP, batch 128, {n:,} samples: seconds per epoch, doctor off vs on "
        f"(median of {repeats})", ["", "s/epoch", "× doctor off"], rows)]


if __name__ == "__main__":
    print(common.describe_machine())
    main()
