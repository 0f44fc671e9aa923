import torch
import torch.nn as nn
from sklearn.datasets import load_breast_cancer
import json

# Logistic regression two ways on breast cancer: nn.BCEWithLogitsLoss on logits, and
# nn.Sigmoid + nn.BCELoss on probabilities. Weights start at zero, as in most course notes.
data = load_breast_cancer()
X = torch.tensor(data.data, dtype=torch.float32)
y = torch.tensor(data.target, dtype=torch.float32).unsqueeze(1)  # (569, 1)
X = (X - X.mean(0)) / X.std(0)  # standardize each feature
print(X.shape, y.shape, y.mean().item())

model = nn.Linear(X.shape[1], 1)
nn.init.zeros_(model.weight)
nn.init.zeros_(model.bias)
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

losses = []
for epoch in range(300):
    optimizer.zero_grad()
    logits = model(X)
    loss = criterion(logits, y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if epoch % 50 == 0:
        print(f'epoch {epoch}: loss {loss.item():.4f}')

with torch.no_grad():
    probs = torch.sigmoid(model(X))
    preds = (probs > 0.5).float()
    accuracy = (preds == y).float().mean().item()

# the same model as probabilities, trained with BCELoss
model2 = nn.Sequential(nn.Linear(30, 1), nn.Sigmoid())
model2[0].weight.data.zero_()
model2[0].bias.data.zero_()
bce = nn.BCELoss()
optimizer2 = torch.optim.SGD(model2.parameters(), lr=0.1)
for epoch in range(300):
    optimizer2.zero_grad()
    loss2 = bce(model2(X), y)
    loss2.backward()
    optimizer2.step()

print(f'accuracy {accuracy:.4f}, BCELoss model: {loss2.item():.6f}')
print(json.dumps({"first_loss": losses[0], "final_loss": losses[-1], "final_loss_bce": loss2.item(),
                  "accuracy": accuracy}))
