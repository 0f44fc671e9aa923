"""The doctor's significance tests, checked against the probabilities they claim (SciPy, simulation).

* Dead units (``ReLUFiring.dead_since``): a unit that fired earlier counts as dead when its silence in the last
  batches is improbable for a unit that fires alike in every batch (a permutation test; no rate estimated).
* Overfitting (``accuracy_gap_noise``): a train/validation accuracy gap counts when the validation accuracy's
  binomial sampling noise explains it with probability below the significance level.
* Vanishing gradients (``log_t_test_below``): an epoch median of a few sample ratios is no finding alone; two
  epochs in a row are, or sooner the log ratios below against their noise (a one-sided t-test).

No training here: synthetic ReLU outputs and accuracies with fixed seeds, so each check is milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from chainrule.doctor import DoctorConfig
from chainrule.doctor.measurements import LossClimb, ReLUFiring
from chainrule.doctor.rules import Rulebook, accuracy_gap_noise, log_t_test_below
from chainrule.doctor.stats import EpochStats, Layers

ALPHA = DoctorConfig().dead_significance


def fire(firing: ReLUFiring, rates: np.ndarray, batches: int, batch: int, rng: np.random.Generator) -> None:
    """``batches`` training batches through a ReLU whose unit j fires on each sample with probability rates[j]."""
    (take, _), rates = firing.hooks("relu", "ReLU"), np.asarray(rates)
    for _ in range(batches):
        out = (rng.random((batch, rates.size)) < rates).astype(np.float32) * rng.random((batch, rates.size),
                                                                                        dtype=np.float32)
        take((), None, out)


@pytest.mark.parametrize("rate, batches, batch", [(0.002, 24, 16), (0.01, 8, 16), (0.05, 40, 32), (0.5, 40, 128)])
def test_living_units_are_called_dead_at_most_at_the_significance_level(rate, batches, batch):
    # 4000 units firing at the same rate throughout: among those that fired at all in the stretch (the others
    # are silent on all of it: dead by definition), the share called dead is the test's level, at most ALPHA
    rng, firing = np.random.default_rng(0), ReLUFiring(["relu"])
    fire(firing, np.full(4000, rate), batches, batch, rng)
    never = float(np.mean(firing.fired_in["relu"] == 0))
    assert firing.dead_since(ALPHA)["relu"] - never <= ALPHA * (1 - never) + 0.005  # 0.005: 4000 units' noise


# A unit's batches in a stretch of K: 1 where it fired. The reference: if it fires alike in every batch, its m
# firing batches are any m of the K, so all fall before the last s with the hypergeometric probability
# P(m of m drawn from the first K - s of K) (SciPy), and it is dead when that is below ALPHA.
PATTERNS = [
    "11011110110111110000000000000000",  # fired in 12 of the first 16 of 32, then never: dead (1e-5)
    "01001000",  # 2 of 8, then 3 silent: alive (0.36)
    "111000",  # 3 of the first 3, then 3 silent: alive (0.05): so few batches cannot show more
    "1111111100000000",  # 8, then 8 silent: dead (8e-5)
    "000000000000000000001000",  # once, late: alive
    "100000000000000000000000",  # once, first, then 23 silent: alive (1/24): one firing says nothing of a rate
    "101010101010101010100000",  # every other batch, then 4 silent: alive (0.08)
    "101010101010101010000000000000",  # ... then 12 silent: dead (4e-4)
    "00000000",  # never: dead by definition
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_unit_is_dead_when_its_trailing_silence_is_improbable_among_its_batches(pattern):
    firing = ReLUFiring(["relu"])
    (take, _) = firing.hooks("relu", "ReLU")
    for bit in pattern:  # unit 0 follows the pattern, unit 1 always fires (the layer has two units)
        take((), None, np.array([[float(bit), 1.0], [0.0, 0.5]], dtype=np.float32))
    k, m = len(pattern), pattern.count("1")
    s = k - (pattern.rfind("1") + 1)
    chance = stats.hypergeom(k, k - s, m).pmf(m) if m else 0.0
    assert not ALPHA / 2 < chance < 2 * ALPHA, "the table keeps away from the boundary"
    assert firing.dead_since(ALPHA)["relu"] == (0.5 if chance < ALPHA else 0.0)


def test_a_unit_silent_for_a_whole_stretch_is_dead_and_the_next_stretch_starts_afresh():
    rng, firing = np.random.default_rng(2), ReLUFiring(["relu"])
    fire(firing, np.array([0.0, 0.5]), 5, 16, rng)
    assert firing.dead_since(ALPHA)["relu"] == 0.5  # unit 0 never fired
    fire(firing, np.array([0.5, 0.5]), 5, 16, rng)
    assert firing.dead_since(ALPHA)["relu"] == 0.0  # it fires in the new stretch: alive again


@pytest.mark.parametrize("val_acc, n_val", [(0.82, 22), (0.93, 85), (0.58, 200), (0.99, 150), (0.5, 1000)])
def test_accuracy_gap_noise_is_the_one_sided_binomial_standard_error(val_acc, n_val):
    alpha = DoctorConfig().overfit_significance
    expected = stats.norm.ppf(1 - alpha) * math.sqrt(val_acc * (1 - val_acc) / n_val)
    assert accuracy_gap_noise(val_acc, n_val, alpha) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("accuracy, n_val", [(0.9, 27), (0.7, 200), (0.95, 400)])
def test_a_model_without_a_gap_is_called_apart_at_about_the_significance_level(accuracy, n_val):
    # the same accuracy on training and unseen data: the validation accuracy varies by sampling alone
    alpha = DoctorConfig().overfit_significance
    val_acc = np.random.default_rng(3).binomial(n_val, accuracy, size=20000) / n_val
    apart = [accuracy - v > accuracy_gap_noise(v, n_val, alpha) for v in val_acc]
    assert np.mean(apart) <= 3 * alpha  # the Wald test is a little liberal on small sets; 3x bounds it here


def epoch(e: int, val_loss: float, train_acc: float, val_acc: float, n_val: int | None) -> EpochStats:
    return EpochStats(epoch=e, first_step=10 * e, step=10 * e + 10, inferred=False, initial_loss=2.3,
                      late_loss=0.1, improvement=0.1, train_loss=0.1 - 0.01 * e, val_loss=val_loss,
                      train_acc=train_acc, val_acc=val_acc, val_samples=n_val, best_val_loss=0.5,
                      best_val_epoch=0, train_loss_at_best=0.5)


@pytest.mark.parametrize("n_val, found", [(22, False), (400, True), (None, True)])
def test_an_eight_point_gap_is_overfitting_on_400_validation_samples_not_on_22(n_val, found):
    # validation loss 20% above its best for two epochs while training improves; 0.99 vs 0.91 accuracy.
    # Without the validation size only the five-point floor applies (8 points pass it); the loss ratio, set to
    # 10 here (0.6 / 0.1 does not reach it), is not what decides
    rules = Rulebook(DoctorConfig(overfit_loss_ratio=10.0), Layers((), {}))
    verdicts = [rules.overfitting(epoch(e, 0.6, 0.99, 0.91, n_val)) for e in (1, 2)]
    assert bool(verdicts[1]) is found
    if found and n_val:
        noise = accuracy_gap_noise(0.91, 400, DoctorConfig().overfit_significance)
        assert verdicts[1][0].evidence["gap_noise"] == pytest.approx(noise, abs=1e-4)


@pytest.mark.parametrize("train_acc, val_acc, found", [(0.99, 0.955, False), (0.99, 0.935, True)])
def test_a_real_gap_must_also_cost_five_points_of_accuracy(train_acc, val_acc, found):
    # 10,000 validation samples make a 3.5-point gap far beyond sampling noise (0.3 points), yet it costs less
    # than the five points that make a gap material; 5.5 points does
    assert accuracy_gap_noise(val_acc, 10_000, DoctorConfig().overfit_significance) < 0.01
    rules = Rulebook(DoctorConfig(), Layers((), {}))
    verdicts = [rules.overfitting(epoch(e, 0.6, train_acc, val_acc, 10_000)) for e in (1, 2)]
    assert bool(verdicts[1]) is found


# ---------------------------------------------------------------------------------------- the first epoch's climb
def _first_epoch_climb(losses: list[float]) -> float:
    climb = LossClimb(block=10, margin=0.1, noise_z=DoctorConfig().climb_noise_z)
    return climb.epoch(losses, 0, len(losses))[1]


def test_a_brief_blow_up_in_the_first_epoch_climbs_above_the_first_loss():
    # the untrained loss, a blow-up over a few steps, then recovery to the same level with batch noise
    rng = np.random.default_rng(0)
    losses = [2.3, 131.0, 46.0, 33.0, 29.5, 65.0, 11.7, 4.0, *(2.3 + 0.1 * rng.standard_normal(32))]
    assert _first_epoch_climb(losses) == pytest.approx((np.mean(losses) - 2.3) / 2.3)
    assert _first_epoch_climb(losses) > DoctorConfig().loss_climb


def test_batch_noise_alone_gives_no_first_epoch_climb_beyond_its_design_rate():
    """A run that neither learns nor blows up: every batch loss, the first included, from one distribution.
    The first loss lies ``climb_noise_z`` standard deviations below the epoch's mean with probability
    P(Z > z / sqrt(1 + 1/n)) ≈ 0.15% at z = 3: the rate at which noise alone passes for a climb."""
    rng = np.random.default_rng(1)
    runs, n = 2000, 40
    climbs = [_first_epoch_climb(list(1.0 + 0.1 * rng.standard_normal(n))) for _ in range(runs)]
    reported = sum(math.isfinite(c) for c in climbs)
    expected = stats.norm.sf(DoctorConfig().climb_noise_z / math.sqrt(1 + 1 / n))
    # binomial upper bound at 99.9% on the design rate (the MAD's own estimation error widens it a little)
    assert reported <= stats.binom.ppf(0.999, runs, 2 * expected), (reported, expected * runs)


def test_later_epochs_climb_against_earlier_epoch_means_not_the_first_loss():
    climb = LossClimb(block=10, margin=0.1, noise_z=3.0)
    losses = [0.5] + [1.0] * 9 + [1.2] * 10  # a first batch far below everything after it
    climb.epoch(losses, 0, 10)  # the first epoch: its mean (0.95) is the level the next epoch is judged against
    assert climb.epoch(losses, 10, 20)[1] == pytest.approx((1.2 - 0.95) / 0.5)


# ---------------------------------------------------------------------------- vanishing gradients

def vanishing_epoch(e: int, grad: list[float], signal: list[float]) -> EpochStats:
    """An epoch whose lowest Linear ("a") had these per-sample gradient and signal ratios to the top one ("b")."""
    return EpochStats(epoch=e, first_step=10 * e, step=10 * e + 10, inferred=False, initial_loss=2.3, late_loss=2.0,
                      improvement=0.0, grad_rms={"a": 1e-6, "b": 1e-2},
                      grad_ratio={"a": float(np.median(grad)), "b": 1.0},
                      signal_ratio={"a": float(np.median(signal)), "b": 1.0},
                      lowest_grad_ratios=grad, lowest_signal_ratios=signal)


# the samples of dead-xor-deep-narrow's epoch 16 in the PyTorch benchmark: each median of three is below its
# threshold, while the ratio swings by decades from batch to batch (its per-step median that epoch: 0.16)
STRADDLING = ([0.132, 2.33e-5, 8.18e-4], [0.0731, 3.61e-6, 1.16e-4])
FAR_BELOW = ([2e-7, 1e-7, 4e-7], [3e-5, 1e-5, 2e-5])


@pytest.mark.parametrize("first, second, found", [
    (STRADDLING, ([0.5, 0.2, 0.3], [0.5, 0.2, 0.3]), [False, False]),  # one epoch below by chance: nothing
    (STRADDLING, STRADDLING, [False, True]),  # two epochs in a row: persistence, as the other epoch rules
    (FAR_BELOW, FAR_BELOW, [True, True]),  # decades below against their noise: the first epoch already
])
def test_vanishing_needs_two_epochs_in_a_row_or_ratios_below_against_their_noise(first, second, found):
    rules = Rulebook(DoctorConfig(), Layers(("a", "b"), {}))
    assert [bool(rules.vanishing(vanishing_epoch(e, *s))) for e, s in enumerate((first, second))] == found


@pytest.mark.parametrize("samples", [[0.132, 2.33e-5, 8.18e-4], [2e-7, 1e-7, 4e-7], [1e-4, 3e-3, 2e-4, 5e-5]])
def test_the_log_ratio_t_test_is_scipys_one_sided_t_test(samples):
    logs = np.log10(samples)
    expected = stats.ttest_1samp(logs, math.log10(1e-3), alternative="less").pvalue
    assert log_t_test_below(samples, 1e-3) == pytest.approx(expected, rel=1e-9)
