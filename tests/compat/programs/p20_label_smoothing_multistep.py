import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import MultiStepLR
from sklearn.datasets import load_digits
import json

# Full-batch training of an MLP with label smoothing, MultiStepLR, and a confusion matrix built with index_put_.
torch.manual_seed(8)
digits = load_digits()
X = torch.tensor(digits.data, dtype=torch.float32) / 16.0
y = torch.tensor(digits.target, dtype=torch.long)
perm = torch.randperm(len(X))
X, y = X[perm], y[perm]
X_train, y_train, X_test, y_test = X[:1400], y[:1400], X[1400:], y[1400:]

model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, nesterov=True, weight_decay=1e-4)
scheduler = MultiStepLR(optimizer, milestones=[30, 60], gamma=0.1)

losses = []
for epoch in range(80):
    model.train()
    logits = model(X_train)
    loss = F.cross_entropy(logits, y_train, label_smoothing=0.1)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())

model.eval()
with torch.no_grad():
    logits = model(X_test)
    ce = F.cross_entropy(logits, y_test).item()
    nll = F.nll_loss(F.log_softmax(logits, dim=1), y_test).item()
    smooth = F.cross_entropy(logits, y_test, label_smoothing=0.1).item()
    # label smoothing by hand: (1 - eps) * nll + eps * mean over classes of -log p
    logp = F.log_softmax(logits, dim=-1)
    manual = (0.9 * F.nll_loss(logp, y_test) - 0.1 * logp.mean(dim=-1).mean()).item()
    preds = logits.argmax(dim=1)
    cm = torch.zeros(10, 10, dtype=torch.long)
    cm.index_put_((y_test, preds), torch.ones_like(y_test), accumulate=True)
    acc = (preds == y_test).sum().item() / len(y_test)
print(cm)
print(json.dumps({"first_loss": losses[0], "final_loss": losses[-1], "accuracy": acc, "test_ce": ce, "test_nll": nll,
                  "smooth": smooth, "manual_smooth": manual, "cm_total": cm.sum().item(), "cm_trace": cm.trace().item(),
                  "final_lr": scheduler.get_last_lr()[0]}))
