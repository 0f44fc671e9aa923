import torch
import torch.nn as nn
import numpy as np
from sklearn.datasets import make_moons
import json

# Port a NumPy network to PyTorch: copy its weights into an nn.ModuleDict model with torch.no_grad() and
# .copy_(), then train full batch with Adam and BCEWithLogitsLoss.
X_np, y_np = make_moons(n_samples=300, noise=0.15, random_state=1)
X = torch.from_numpy(X_np.astype(np.float32))
y = torch.from_numpy(y_np.astype(np.float32)).unsqueeze(1)

rng = np.random.RandomState(0)
weights = {
    'hidden': (rng.randn(16, 2) * 0.7, np.zeros(16)),
    'gate': (rng.randn(16, 2) * 0.7, np.zeros(16)),
    'out': (rng.randn(1, 16) * 0.25, np.zeros(1)),
}


class GatedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleDict({
            'hidden': nn.Linear(2, 16),
            'gate': nn.Linear(2, 16),
            'out': nn.Linear(16, 1),
        })

    def forward(self, x):
        h = torch.tanh(self.layers['hidden'](x)) * torch.sigmoid(self.layers['gate'](x))
        return self.layers['out'](h)


model = GatedNet()
with torch.no_grad():
    for name, layer in model.layers.items():
        w, b = weights[name]
        layer.weight.copy_(torch.from_numpy(w).float())
        layer.bias.copy_(torch.tensor(b, dtype=torch.float32))
print(model)

criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
losses = []
for step in range(400):
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if step % 100 == 0:
        print(step, loss.item())

with torch.no_grad():
    accuracy = ((model(X) > 0).float() == y).float().mean().item()
state = model.state_dict()
print(sorted(state.keys()))
print(json.dumps({"first_loss": losses[0], "final_loss": losses[-1], "accuracy": accuracy,
                  "n_state": len(state)}))
