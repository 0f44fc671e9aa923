"""chainrule.integrations.lightning.DoctorCallback: a tiny LightningModule trained two epochs on the CPU with a
planted fault (the first layer's bias at -10: every unit of its ReLU is dead from the start) is diagnosed and its
report written. Its training_step calls a submodule (``self.net``), not the module's own forward."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F  # noqa: N812 - PyTorch's convention
from torch.utils.data import DataLoader, TensorDataset

from chainrule.integrations.lightning import DoctorCallback, _validation_size


class Digits(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        with torch.no_grad():
            # the planted fault: standardized inputs times 0.1-scale weights never reach 10 (measured below)
            self.net[0].bias.fill_(-10.0)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_dead_layer_is_found_through_the_callback_and_reported(tmp_path):
    X, y = load_digits(return_X_y=True)
    # standardized on the training rows (pixels / 16 leave rarely inked pixels at RMS ~0.01: unscaled_inputs)
    X = (X - X[:1280].mean(axis=0)) / np.where(X[:1280].std(axis=0) > 0, X[:1280].std(axis=0), 1.0)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    train = DataLoader(TensorDataset(X[:1280], y[:1280]), batch_size=64, shuffle=False)
    val = DataLoader(TensorDataset(X[1280:], y[1280:]), batch_size=len(X) - 1280)
    torch.manual_seed(0)
    model = Digits()
    callback = DoctorCallback(tmp_path / "report.html")
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])
    trainer.fit(model, train, val)
    doctor = callback.doctor
    # the fault by independent measurement: no unit of the ReLU is ever above 0 on the training data
    with torch.no_grad():
        assert int((model.net[1](model.net[0](X[:1280])) > 0).sum()) == 0
    assert [(f.kind, f.layer) for f in doctor.findings] == [("dead_relu", "net.1")]
    assert doctor.findings[0].evidence["dead_fraction"] == 1.0
    assert len(doctor.metrics["loss"]) == 2 * 20  # one check per training step
    # the validation metrics Lightning logged reached end_epoch: the last one against the trained model
    with torch.no_grad():
        val_loss = float(F.cross_entropy(model.net(X[1280:]), y[1280:]))
    epochs = doctor.metrics["epochs"]
    assert len(epochs) == 2 and epochs[-1]["val_loss"] == pytest.approx(val_loss, rel=1e-5)
    assert _validation_size(trainer) == len(X) - 1280  # what the overfitting rule weighs the accuracy gap against
    page = (tmp_path / "report.html").read_text()
    assert "net.1" in page and "dead" in page.lower()
    np.testing.assert_allclose(doctor.metrics["dead_fraction"]["net.1"], 1.0)  # in both epochs


def test_bad_arguments_get_a_clear_error():
    with pytest.raises(TypeError, match="doctor must be a chainrule Doctor, got str"):
        DoctorCallback(doctor="yes")
    with pytest.raises(TypeError, match=r"metric_names keys must be among .* got \['validation_loss'\]"):
        DoctorCallback(metric_names={"validation_loss": "val/loss"})
