"""Must show (1): an MLP with BatchNorm1d trained step by step with chainrule's nn/optim matches PyTorch."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.training import MLPSpec, build_mlp

STEPS, BATCH = 50, 16
torch.set_num_threads(1)  # the oracle only; keep it from fighting the tests for two cores


def torch_twin(model):
    """The same network in PyTorch, with chainrule's initial weights copied in."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, nn.Linear):
            twin = torch.nn.Linear(layer.in_features, layer.out_features)
        elif isinstance(layer, nn.BatchNorm1d):
            twin = torch.nn.BatchNorm1d(layer.num_features)
        else:
            twin = torch.nn.ReLU()
        layers.append(twin)
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.layers.state_dict().items()})
    return twin


OPTIMIZERS = {
    "sgd_momentum": (lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "adam": (lambda p: optim.Adam(p, lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    "adamw": (lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_mlp_with_batch_norm_matches_pytorch_for_50_steps(name):
    model = build_mlp(MLPSpec(20, (32, 32), 5, batch_norm=True), seed=0)
    twin = torch_twin(model)
    make_ours, make_theirs = OPTIMIZERS[name]
    ours, theirs = make_ours(model.parameters()), make_theirs(twin.parameters())
    loss_fn, torch_loss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(STEPS, BATCH, 20)).astype(np.float32)
    y = rng.integers(0, 5, size=(STEPS, BATCH))
    our_losses, their_losses = [], []
    for xb, yb in zip(X, y):
        loss = loss_fn(model(cr.tensor(xb)), cr.tensor(yb))
        ours.zero_grad()
        loss.backward()
        ours.step()
        our_losses.append(loss.item())

        torch_loss = torch_loss_fn(twin(torch.from_numpy(xb)), torch.from_numpy(yb))
        theirs.zero_grad()
        torch_loss.backward()
        theirs.step()
        their_losses.append(torch_loss.item())
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-4)
    assert our_losses[-1] < our_losses[0]  # it learned something, so the comparison is not of two idle runs
    # Weights and running variances follow the same path. Biases right before a BatchNorm (and so the
    # running means) are left out: their true gradient is 0, and Adam turns rounding noise into ±lr steps.
    theirs_state = twin.state_dict()
    noise = {key for i, layer in enumerate(model.layers) if isinstance(layer, nn.BatchNorm1d)
             for key in (f"{i - 1}.bias", f"{i}.running_mean")}
    for key, value in model.layers.state_dict().items():
        if key in noise:
            continue
        np.testing.assert_allclose(value, theirs_state[key].numpy(), rtol=1e-3, atol=1e-4, err_msg=key)
