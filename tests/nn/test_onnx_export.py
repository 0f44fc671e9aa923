"""``cr.onnx.export``: each model, written as ONNX, passes ``onnx.checker`` and runs in onnxruntime (an
independent runtime) with the outputs of chainrule's own eval-mode forward pass, to 1e-5; with a batch size
other than the example's. Layers without an ONNX equivalent are refused by name. (Embedding, Upsample and the
recurrent layers are checked against PyTorch too, in test_onnx_export_torch.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.training.models import MLPSpec, build_mlp

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5
ACTIVATIONS = [
    nn.ReLU(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.Mish(),
    nn.ELU(0.5), nn.Softplus(), nn.Softplus(beta=2.0, threshold=5.0), nn.Hardtanh(-0.5, 0.5), nn.ReLU6(),
    nn.Softsign(), nn.Tanhshrink(), nn.LogSigmoid(), nn.Softmax(dim=1), nn.LogSoftmax(dim=1), nn.Identity(),
]


def _trained_batch_norm(model: nn.Module, x: np.ndarray) -> nn.Module:
    """Running statistics away from their initial 0 and 1, and affine weights away from 1 and 0."""
    rng = np.random.default_rng(1)
    model.train()
    with cr.no_grad():
        for _ in range(3):
            model(cr.tensor(x * 2.0 + 1.0))
        for name, param in model.named_parameters():
            if "weight" in name or "bias" in name:
                param._data[...] += rng.normal(scale=0.1, size=param.shape).astype(np.float32)
    return model


def _mlp_with(activation: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Linear(6, 16), activation, nn.Linear(16, 4))


def _cnn2d() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=(1, 0), dilation=1, groups=2), nn.Tanh(),
        nn.Conv2d(6, 6, 3, padding="same", dilation=2), nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(6), nn.Dropout(0.5), nn.Linear(6, 3))


def _cnn1d() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(3, 5, 5, padding=2), nn.BatchNorm1d(5), nn.ELU(), nn.MaxPool1d(3, stride=2, padding=1),
        nn.Conv1d(5, 4, 3, bias=False), nn.AvgPool1d(2), nn.AdaptiveAvgPool1d(2), nn.Flatten(), nn.Linear(8, 2))


# (case, model builder, one input sample's shape)
CASES = [(f"mlp-{type(a).__name__}-{i}", lambda a=a: _mlp_with(a), (6,)) for i, a in enumerate(ACTIVATIONS)] + [
    ("batchnorm1d-eval", lambda: nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)), (6,)),
    ("dropout-eval", lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2)), (6,)),
    ("build_mlp-bn-dropout", lambda: build_mlp(MLPSpec(6, (16, 8), 3, batch_norm=True, dropout=0.2), seed=0), (6,)),
    ("nested-sequential-unflatten", lambda: nn.Sequential(nn.Sequential(nn.Linear(6, 12), nn.GELU()),
                                                           nn.Unflatten(1, (3, 4)), nn.Softmax(dim=2),
                                                           nn.Flatten(), nn.Linear(12, 2)), (6,)),
    ("cnn2d", _cnn2d, (2, 12, 12)),
    ("cnn1d", _cnn1d, (3, 20)),
]


@pytest.mark.parametrize(("case", "build", "sample"), CASES, ids=[c[0] for c in CASES])
def test_onnxruntime_runs_the_export_with_chainrules_outputs(case, build, sample, tmp_path):
    cr.manual_seed(0)
    model = build()
    x = (np.random.default_rng(0).normal(size=(7, *sample)) * 3.0).astype(np.float32)  # the nonlinear regions too
    if any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
        model = _trained_batch_norm(model, x)
    model.train()  # export must switch to eval mode itself, and back
    path = tmp_path / "model.onnx"
    cr.onnx.export(model, cr.tensor(x[:1]), path)  # exported with batch 1, run with batch 7
    assert model.training
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x})
    model.eval()
    with cr.no_grad():
        expected = model(cr.tensor(x)).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(4, 4)

    def forward(self, x):
        return x + self.inner(x)


@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmax")
@pytest.mark.parametrize(("model", "example", "error", "message"), [
    (nn.Sequential(nn.Linear(4, 4), nn.MSELoss()), np.zeros((1, 4), np.float32), NotImplementedError,
     r"layer '1' \(MSELoss\) has no ONNX conversion; supported: .*GRUCell, .*LSTM, .*Linear, .*Upsample"),
    (nn.Sequential(nn.LSTM(4, 4), nn.Linear(4, 4)), np.zeros((2, 1, 4), np.float32), ValueError,
     r"layer '0' \(LSTM\) returns a tuple, which the next layer '1' \(Linear\) cannot take"),
    (nn.Sequential(nn.LSTMCell(4, 4), nn.ReLU()), np.zeros((2, 4), np.float32), ValueError,
     r"layer '0' \(LSTMCell\) returns a tuple, which the next layer '1' \(ReLU\) cannot take"),
    (nn.Sequential(nn.GRUCell(4, 4)), np.zeros(4, np.float32), ValueError,
     r"layer '0' \(GRUCell\) gets unbatched input of shape \(4,\); .*input of shape \(1, 4\)"),
    (nn.GRU(4, 4), np.zeros((3, 4), np.float32), ValueError,
     r"layer 'GRU' \(GRU\) gets unbatched input of shape \(3, 4\); .*input of shape \(3, 1, 4\)"),
    (nn.Embedding(5, 3), np.zeros((1, 2), np.float32), ValueError,
     r"layer 'Embedding' \(Embedding\) looks up integer indices: example_input must be int64 \(or int32\), "
     r"got float32"),
    (nn.Sequential(nn.Linear(4, 4)), np.zeros((1, 4), np.int64), ValueError,
     r"example_input must be float32 .*got int64; integer indices go to an Embedding, and layer '0' is a Linear"),
    (nn.Embedding(5, 3, max_norm=1.0, norm_type=float("inf")), np.zeros((1, 2), np.int64), ValueError,
     r"layer 'Embedding' \(Embedding\(max_norm=1.0, norm_type=inf\)\) needs a finite positive norm_type"),
    (nn.Sequential(nn.Linear(4, 4), Residual()), np.zeros((1, 4), np.float32), NotImplementedError,
     r"layer '1' \(Residual\) has no ONNX conversion.*build it as a Sequential"),
    (nn.Sequential(nn.Linear(4, 4), nn.Softmax()), np.zeros((1, 4), np.float32), ValueError,
     r"layer '1' \(Softmax\(dim=None\)\).*give dim explicitly"),
    (nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4, track_running_stats=False)), np.zeros((2, 4), np.float32),
     ValueError, r"layer '1' \(BatchNorm1d\(track_running_stats=False\)\)"),
    (nn.Sequential(nn.Flatten(0)), np.zeros((2, 4), np.float32), ValueError, r"layer '0' \(Flatten\(start_dim=0\)\)"),
    (nn.Sequential(nn.Linear(4, 4)), np.zeros((1, 4), np.float64), ValueError,
     r"example_input must be float32 .*got float64"),
    (nn.Sequential(nn.AdaptiveAvgPool1d(2)), np.zeros((1, 2, 5), np.float32), ValueError,
     r"layer '0' \(AdaptiveAvgPool1d\(output_size=2\)\) on input of size \(5,\) uses windows of unequal sizes"),
])
def test_what_onnx_cannot_express_is_refused_by_name(model, example, error, message, tmp_path):
    with pytest.raises(error, match=message):
        cr.onnx.export(model, example, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
