import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import TensorDataset, DataLoader, random_split
from sklearn.datasets import load_diabetes
import json

# Regression MLP built from an nn.ModuleList: Kaiming/Xavier init, AdamW weight decay, gradient clipping,
# a cosine learning-rate schedule and a random train/validation split.
torch.manual_seed(0)

X, y = load_diabetes(return_X_y=True)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32).view(-1, 1)
X = (X - X.mean(dim=0, keepdim=True)) / X.std(dim=0, keepdim=True)
y = (y - y.mean()) / y.std()

dataset = TensorDataset(X, y)
train_set, val_set = random_split(dataset, [352, 90], generator=torch.Generator().manual_seed(42))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=len(val_set))


class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        for layer in self.layers[:-1]:
            nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')
            nn.init.zeros_(layer.bias)
        nn.init.xavier_uniform_(self.layers[-1].weight)
        nn.init.constant_(self.layers[-1].bias, 0.0)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)


model = MLP([10, 32, 32, 1])
epochs = 25
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
loss_fn = nn.MSELoss()


def evaluate(loader):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            total += loss_fn(model(xb), yb).item() * xb.size(0)
            count += xb.size(0)
    return total / count


first_val = evaluate(val_loader)
for epoch in range(epochs):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
    scheduler.step()
    val_loss = evaluate(val_loader)
    if epoch % 10 == 9:
        print(f'epoch {epoch + 1}: train batch loss {loss.item():.4f} val {val_loss:.4f} '
              f'lr {scheduler.get_last_lr()[0]:.5f} grad norm {grad_norm:.3f}')

train_loss = evaluate(DataLoader(train_set, batch_size=len(train_set)))
full_loss = evaluate(DataLoader(dataset, batch_size=len(dataset)))
print(json.dumps({"first_loss": first_val, "final_loss": full_loss, "train_loss": train_loss, "val_loss": val_loss}))
