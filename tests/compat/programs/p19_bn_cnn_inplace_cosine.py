import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_digits
import json

# A "modern" small CNN: Conv-BN-ReLU blocks, MaxPool, Dropout2d, global average pooling, AdamW + cosine schedule.
torch.manual_seed(0)
digits = load_digits()
X = torch.from_numpy(digits.images).float().unsqueeze(1)
X = (X - X.mean()) / X.std()
y = torch.from_numpy(digits.target).long()
train_ds = TensorDataset(X[:1400], y[:1400])
test_ds = TensorDataset(X[1400:], y[1400:])
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
test_loader = DataLoader(test_ds, batch_size=100, shuffle=False)


def conv_block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            conv_block(1, 16), conv_block(16, 16), nn.MaxPool2d(2),   # 8x8 -> 4x4
            nn.Dropout2d(0.1),
            conv_block(16, 32), nn.MaxPool2d(kernel_size=2, stride=2),  # -> 2x2
        )
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(32, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = self.pool(x)
        return self.classifier(x)


model = SmallCNN()
print(model)
print("trainable parameters:", sum(p.numel() for p in model.parameters() if p.requires_grad))
epochs = 6
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
criterion = nn.CrossEntropyLoss()

losses, lrs = [], []
for epoch in range(epochs):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    lrs.append(scheduler.get_last_lr()[0])
    scheduler.step()

    model.eval()
    correct = 0
    with torch.inference_mode():
        for xb, yb in test_loader:
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
    print(f"epoch {epoch}: lr {lrs[-1]:.5f} last loss {losses[-1]:.4f} test acc {correct / len(test_ds):.4f}")

model.eval()
with torch.inference_mode():
    logits = torch.cat([model(xb) for xb, _ in test_loader])
    preds = logits.argmax(1)
    targets = test_ds.tensors[1]
    cm = torch.bincount(targets * 10 + preds, minlength=100).reshape(10, 10)
    train_loss = criterion(model(train_ds.tensors[0]), train_ds.tensors[1]).item()
per_class = (cm.diag().float() / cm.sum(1).float())
bn = model.features[0][1]
print(cm)
print(json.dumps({"first_loss": losses[0], "final_loss": train_loss, "accuracy": cm.diag().sum().item() / cm.sum().item(),
                  "worst_class_acc": per_class.min().item(), "final_lr": scheduler.get_last_lr()[0],
                  "bn_batches": int(bn.num_batches_tracked), "bn_mean0": bn.running_mean[0].item(),
                  "logits_dtype": str(logits.dtype), "cm_dtype": str(cm.dtype)}))
