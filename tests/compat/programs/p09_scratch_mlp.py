import torch
import torch.nn.functional as F
from sklearn.datasets import make_moons
import json

# A two-layer MLP from scratch (d2l / micrograd-to-torch style): raw tensors, autograd, hand-written SGD.
torch.manual_seed(42)

X, y = make_moons(n_samples=200, noise=0.1, random_state=0)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)  # int64 class labels, as F.cross_entropy wants

n_in, n_hidden, n_out = 2, 32, 2
W1 = torch.randn(n_in, n_hidden) * 0.5
W1.requires_grad_()
b1 = torch.zeros(n_hidden, requires_grad=True)
W2 = (torch.randn(n_hidden, n_out) * 0.1).requires_grad_()
b2 = torch.zeros(n_out, requires_grad=True)
params = [W1, b1, W2, b2]
print('number of parameters:', sum(p.numel() for p in params))

lr = 0.5
losses = []
for step in range(300):
    # forward
    h = (X @ W1 + b1).tanh()
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, y)
    losses.append(loss.item())

    # backward
    for p in params:
        p.grad = None
    loss.backward()

    # update
    for p in params:
        p.data += -lr * p.grad

    if step % 50 == 0:
        acc = (logits.argmax(dim=1) == y).float().mean()
        print(f'step {step} loss {loss.item():.4f} accuracy {acc.item() * 100:.1f}%')

with torch.no_grad():
    logits = (X @ W1 + b1).tanh() @ W2 + b2
    accuracy = (logits.argmax(1) == y).float().mean().item()
print(json.dumps({"first_loss": losses[0], "final_loss": losses[-1], "accuracy": accuracy}))
