import torch
import torch.nn.functional as F
from sklearn.datasets import load_iris
import json

# Softmax regression on iris written with raw tensor ops: one_hot, label smoothing by hand, gather,
# log_softmax(dim=), cat/stack, masked_fill, in-place clamp_ and grad.zero_().
iris = load_iris()
X = torch.from_numpy(iris.data).float()
y = torch.from_numpy(iris.target).long()
X = (X - X.mean(dim=0, keepdim=True)) / X.std(dim=0, keepdim=True)
X = torch.cat([X, X ** 2 / 4], dim=1)  # add squared features: (150, 8)
num_features, num_classes = X.shape[1], 3

# class centroids, stacked: (3, 8)
centroids = torch.stack([X[y == k].mean(dim=0) for k in range(num_classes)])
print('centroid norms', centroids.norm(dim=1))

W = torch.zeros(num_features, num_classes, requires_grad=True)
b = torch.zeros(num_classes, requires_grad=True)
eps = 0.1
targets = F.one_hot(y, num_classes=num_classes).float() * (1 - eps) + eps / num_classes

lr = 0.5
losses = []
for epoch in range(200):
    logits = X @ W + b
    logp = torch.log_softmax(logits, dim=1)
    loss = -(targets * logp).sum(dim=1).mean()
    loss.backward()
    with torch.no_grad():
        W -= lr * W.grad
        b -= lr * b.grad
        W.clamp_(-2.0, 2.0)
        W.grad.zero_()
        b.grad.zero_()
    losses.append(loss.item())

with torch.no_grad():
    logits = X @ W + b
    nll = -torch.log_softmax(logits, dim=1).gather(1, y.unsqueeze(1)).squeeze(1).mean()
    probs = logits.softmax(dim=-1)
    # second-best class margin: hide the true class and take the best of the rest
    others = logits.masked_fill(F.one_hot(y, num_classes).bool(), float('-inf'))
    margin = (logits.gather(1, y.view(-1, 1)).squeeze(1) - others.max(dim=1).values).mean()
    accuracy = (probs.argmax(dim=1) == y).float().mean()
    confident = (probs.max(dim=1, keepdim=True).values > 0.9).sum()

print(f'loss {losses[-1]:.4f} nll {nll.item():.4f} accuracy {accuracy.item():.3f} margin {margin.item():.3f}')
print(json.dumps({"first_loss": losses[0], "final_loss": losses[-1], "nll": nll.item(),
                  "margin": margin.item(), "accuracy": accuracy.item(), "confident": confident.item()}))
