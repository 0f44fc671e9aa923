"""PyTorch course programs, run unchanged under real torch and under chainrule (through the torch shim).

Each program in programs/ runs twice in a fresh interpreter: as written, and with its first line `import torch`
replaced by `import chainrule.torch_shim  # noqa`, nothing else changed. Both runs must train
(final_loss < trained * first_loss) and their final losses must agree within `rtol`, relative to torch's.

Tolerances come from tests/compat/spread.py, which reruns each program under torch with every torch seed
moved (chainrule draws other random numbers than torch) and in float64 (the size of float32 round-off, which
chainrule accumulates in another order). Programs whose initial weights and data do not come from torch's
generator (p01, p06, p14, p17, p18) are deterministic: there float32 round-off is all that can differ, measured
at 1e-8..2e-6 relative, and 1e-4 leaves 50x or more of margin. For the others, rtol is about twice the largest
deviation across four other torch seeds; the ratios in the comments are those measured deviations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from .run_program import SHIM_LINE, TORCH_LINE, chainrule_source, program_paths, run_program, run_source

TIGHT = 1e-4  # deterministic programs: float32 round-off only (measured <= 2e-6 relative)


@dataclass(frozen=True)
class Spec:
    trained: float  # both runs: final_loss < trained * first_loss
    rtol: float  # |final_loss(chainrule) - final_loss(torch)| <= rtol * |final_loss(torch)|
    extras: dict[str, float] = field(default_factory=dict)  # metric -> absolute tolerance; booleans must match


SPECS: dict[str, Spec] = {
    # Zero init, full-batch GD on a convex quadratic: deterministic; float64 moves the final loss 1.7e-6.
    "p01_tensor_polynomial": Spec(0.05, TIGHT, {"d": 1e-5}),
    # randn init; 2000 steps do not finish the slow direction, so the final loss keeps some of the start:
    # 9.2..12.3 across seeds (25%). d moves 0.0014.
    "p02_autograd_polynomial": Spec(0.05, 0.4, {"d": 0.003}),
    # nn.Linear's random init: final loss moves 3.7% across seeds, d 0.0013.
    "p03_nn_polynomial": Spec(0.05, 0.08, {"d": 0.003}),
    # Same draws and trajectory as p02 (25% across seeds); the module holds exactly 4 parameters.
    "p04_module_sgd_polynomial": Spec(0.05, 0.4, {"n_params": 0}),
    # RMSprop forgets the start: 0.4% across seeds.
    "p05_rmsprop_polynomial": Spec(0.05, 0.02),
    # torch.full init, no randomness: deterministic; float64 moves the final loss 1.9e-7, b 4e-7, d 1e-8.
    "p06_legendre_function": Spec(0.05, TIGHT, {"b": 1e-4, "d": 1e-5}),
    # Random init and shuffling: train loss 0.16..0.19 across seeds (14.5%), test accuracy moves 0.0135.
    "p07_blitz_digits": Spec(0.2, 0.3, {"accuracy": 0.04}),
    # Random init, shuffling and dropout: test loss 7.5% across seeds, accuracy 0.018.
    "p08_mnist_example_mlp": Spec(0.3, 0.15, {"accuracy": 0.05}),
    # Random init, full batch, 300 steps (not converged): 22% across seeds, accuracy 0.01.
    "p09_scratch_mlp": Spec(0.3, 0.4, {"accuracy": 0.03}),
    # Random init and minibatches: train loss 0.5% across seeds; the (overfit) dev loss moves 0.7.
    "p10_makemore_mlp": Spec(0.1, 0.02, {"dev_loss": 1.5}),
    # Random init and minibatches: 3.7% across seeds, val loss 0.073, running std 0.21 (its 2000 updates of
    # momentum 0.001 leave 14% of the initial 1.0 in it).
    "p11_makemore_batchnorm": Spec(0.6, 0.08, {"val_loss": 0.15, "running_std_mean": 0.4}),
    # Random init and minibatches: 5.7% across seeds. The hand-written gradients must match autograd: allclose
    # holds and the largest difference (1.5e-8 in torch) stays far below 1e-5.
    "p12_backprop_ninja": Spec(0.5, 0.12, {"all_close": 0, "grad_max_diff": 1e-5}),
    # Random embeddings and shuffling: test loss 9.7% across seeds, accuracy 0.04.
    "p13_bow_embedding": Spec(0.5, 0.2, {"accuracy": 0.08}),
    # Zero init, full batch, convex: deterministic (float64: 1.3e-7); one sample of 569 may flip.
    "p14_logreg_breast_cancer": Spec(0.2, TIGHT, {"final_loss_bce": 1e-5, "accuracy": 0.002}),
    # Random init, random split and shuffling: full-data loss 12% across seeds, val loss 0.15 (90 samples),
    # train loss 0.04.
    "p15_modulelist_regression": Spec(0.5, 0.25, {"val_loss": 0.3, "train_loss": 0.08}),
    # Minibatch SGD near the least-squares optimum, constant rate: the last batches' order decides the final
    # loss. torch: 1.45% across 12 other seeds, bias 0.018; chainrule seeds 0-3 gave 0.2968, 0.2909, 0.2876,
    # 0.2906 (within 3.1% of torch's 0.2881), so chainrule's one draw against torch's one draw needs about
    # three times the largest seed deviation, not two.
    "p16_linreg_d2l": Spec(0.2, 0.045, {"bias": 0.04}),
    # Zero init, full batch: deterministic (float64: 4e-8); one of 150 predictions or confident counts may flip.
    "p17_softmax_regression_ops": Spec(
        0.5, TIGHT, {"nll": 1e-5, "margin": 1e-4, "accuracy": 0.007, "confident": 1}
    ),
    # NumPy-drawn init copied in, full-batch Adam: deterministic (float64: 7.8e-7); one of 300 may flip.
    "p18_moduledict_numpy_init": Spec(0.1, TIGHT, {"accuracy": 0.004, "n_state": 0}),
    # p19-p22 came from a differential hunt (2026-12-02); each failed under chainrule before that day's fixes.
    # Conv-BatchNorm2d-ReLU(inplace=True), Dropout2d, AdamW, CosineAnnealingLR, inference_mode, a confusion matrix
    # by bincount and diag: random init and shuffling, final loss 13.9% across 4 other seeds, accuracy 0.025.
    "p19_bn_cnn_inplace_cosine": Spec(0.2, 0.3, {"accuracy": 0.05, "final_lr": 1e-12, "bn_batches": 0}),
    # Label smoothing by hand and built in, MultiStepLR, index_put_(accumulate=True), trace: 1.2% across seeds,
    # test loss 0.048, accuracy 0.010, the confusion matrix's trace 4 of 397.
    "p20_label_smoothing_multistep": Spec(
        0.5, 0.03, {"accuracy": 0.02, "test_ce": 0.1, "cm_total": 0, "cm_trace": 8, "final_lr": 1e-12}
    ),
    # The forum's weight transfer through state_dict()[name].copy_(): the copied layers must be the source's
    # exactly (same_conv, same_bn_running_var, features identical); the source's own training moves 37% across
    # seeds (the mean of its last ten minibatch losses), accuracy 0.067.
    "p21_partial_weight_transfer": Spec(
        0.3, 0.75, {"accuracy": 0.14, "copied": 0, "same_conv": 0, "same_bn_running_var": 0, "feature_max_diff": 0}
    ),
    # The PyTorch transformer tutorial's PositionalEncoding, a float causal mask, StepLR(opt, 1.0, ...),
    # clip_grad_norm_(...).item(): 1.4% across seeds, accuracy 0.043, the first gradient norm 0.15.
    "p22_posenc_transformer": Spec(0.7, 0.03, {"accuracy": 0.09, "first_norm": 0.3}),
    # p23-p24 use nn.TransformerEncoder, nn.Transformer and nn.MultiheadAttention, which chainrule lacked before
    # 2026-12-02. One label (p23) or target token (p24) in ten is replaced at random, so the loss settles on the
    # noise's entropy rather than at 0, where a relative tolerance would mean nothing.
    # Padding masks, eval under no_grad (padded positions zero, as torch's nested-tensor path): final loss 10.6%
    # across seeds, accuracy 0.018.
    "p23_transformer_encoder_padding": Spec(0.7, 0.22, {"accuracy": 0.04, "padded_zero": 0, "n_params": 0}),
    # Seq2seq reversal, greedy decoding, cross-attention weights: final loss 7.7% across seeds; every seed decodes
    # every sequence right.
    "p24_seq2seq_transformer": Spec(
        0.5, 0.16, {"token_accuracy": 0.02, "sequence_accuracy": 0.05, "weights_row_sum": 1e-5}
    ),
}

PROGRAMS = {path.stem: path for path in program_paths()}


def test_every_program_has_a_spec() -> None:
    assert sorted(PROGRAMS) == sorted(SPECS)
    assert len(PROGRAMS) >= 14


def check_trained(engine: str, metrics: dict, spec: Spec) -> None:
    first, final = metrics["first_loss"], metrics["final_loss"]
    assert final < spec.trained * first, f"{engine} did not train: final {final} >= {spec.trained} * first {first}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_program_runs_the_same_under_torch_and_chainrule(name: str) -> None:
    spec, path = SPECS[name], PROGRAMS[name]
    torch_source = path.read_text()
    shimmed = chainrule_source(torch_source)
    # Guard: the chainrule run is the torch program with line 1 swapped for the shim line, and nothing else.
    assert torch_source.splitlines()[0] == TORCH_LINE
    assert shimmed.splitlines()[0] == SHIM_LINE
    assert shimmed.splitlines()[1:] == torch_source.splitlines()[1:]

    reference = run_program(path, "torch")
    assert reference.source == torch_source
    if reference.metrics is None:
        pytest.fail(reference.describe(), pytrace=False)
    check_trained("torch", reference.metrics, spec)

    result = run_program(path, "chainrule")
    assert result.source == shimmed
    if result.metrics is None:
        pytest.fail(result.describe(), pytrace=False)
    check_trained("chainrule", result.metrics, spec)

    want, got = reference.metrics["final_loss"], result.metrics["final_loss"]
    assert abs(got - want) <= spec.rtol * abs(want), (
        f"final_loss: chainrule {got} vs torch {want}, relative difference {abs(got - want) / abs(want):.3g} "
        f"> {spec.rtol}"
    )
    for key, tolerance in spec.extras.items():
        want, got = reference.metrics[key], result.metrics[key]
        if isinstance(want, bool):
            assert got is want, f"{key}: chainrule {got} vs torch {want}"
        else:
            assert abs(got - want) <= tolerance, f"{key}: chainrule {got} vs torch {want}, beyond {tolerance}"


SHIM_PROBE = """import chainrule.torch_shim  # noqa
bound_by_shim = torch.__name__  # the shim line stands in for `import torch`: it binds the name
import json
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from chainrule import torch_shim
import chainrule
import chainrule.optim.lr_scheduler
assert torch is chainrule and nn is chainrule.nn and F is chainrule.nn.functional and optim is chainrule.optim
assert StepLR is chainrule.optim.lr_scheduler.StepLR and torch.nn.functional is F
from torch.utils.data.dataset import Dataset
from torch.utils.data.dataloader import DataLoader
from torch.utils.data.sampler import WeightedRandomSampler
from torch.nn.parameter import Parameter
assert Dataset is chainrule.utils.data.Dataset and Parameter is chainrule.nn.Parameter
assert DataLoader is chainrule.utils.data.DataLoader
from torch.nn.modules.loss import MSELoss
from torch.nn.modules.module import Module
assert MSELoss is chainrule.nn.MSELoss and Module is chainrule.nn.Module
for name in torch_shim.missing:  # what chainrule lacks must fail to import, by its torch name
    try:
        __import__(name)
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError(name + " imported though the shim did not map it")
print(json.dumps({"installed": torch_shim.installed, "missing": torch_shim.missing, "bound": bound_by_shim,
                  "aliases": torch_shim.ALIASES}))
"""


def test_shim_installs_chainrule_under_torch_names() -> None:
    result = run_source(SHIM_PROBE, "shim_probe.py", "chainrule")
    assert result.metrics is not None, result.describe()
    assert result.metrics["bound"] == "chainrule"
    for torch_name, chainrule_name in result.metrics["installed"].items():
        own_name = "chainrule" + torch_name.removeprefix("torch")
        assert chainrule_name == result.metrics["aliases"].get(torch_name, own_name)
    assert {"torch", "torch.nn", "torch.nn.functional", "torch.optim"} <= set(result.metrics["installed"])


def test_shim_refuses_to_replace_a_real_torch_already_imported() -> None:
    result = run_source("import torch\nimport chainrule.torch_shim\n", "late_shim.py", "torch")
    assert result.returncode != 0
    assert "the real torch is already imported" in result.first_error
