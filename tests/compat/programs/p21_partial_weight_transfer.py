import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
import json

# Transfer a trained backbone into a new model whose head differs, with the well-known forum recipe
# "own_state = self.state_dict(); own_state[name].copy_(param)" (skip keys that do not exist / do not fit).
torch.manual_seed(4)
digits = load_digits()
X = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
y = torch.tensor(digits.target)


class Net(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Linear(64, n_classes)

    def features(self, x):
        return torch.flatten(self.pool(F.relu(self.bn(self.conv(x)))), 1)

    def forward(self, x):
        return self.head(self.features(x))

    def load_my_state_dict(self, state_dict):
        own_state = self.state_dict()
        copied = 0
        for name, param in state_dict.items():
            if name not in own_state or own_state[name].shape != param.shape:
                continue
            if isinstance(param, nn.Parameter):
                param = param.data
            own_state[name].copy_(param)
            copied += 1
        return copied


source = Net(10)
opt = torch.optim.Adam(source.parameters(), lr=1e-2)
losses = []
for step in range(150):
    idx = torch.randint(0, 1500, (64,))
    loss = F.cross_entropy(source(X[idx]), y[idx])
    losses.append(loss.item())
    opt.zero_grad()
    loss.backward()
    opt.step()
source.eval()

target = Net(2)  # new task: is the digit even?
copied = target.load_my_state_dict(source.state_dict())
target.eval()
with torch.no_grad():
    same_conv = torch.equal(target.conv.weight, source.conv.weight)
    same_bn = torch.equal(target.bn.running_var, source.bn.running_var)
    feat_diff = (target.features(X[1500:]) - source.features(X[1500:])).abs().max().item()
    src_acc = (source(X[1500:]).argmax(1) == y[1500:]).float().mean().item()
print(json.dumps({"first_loss": losses[0], "final_loss": sum(losses[-10:]) / 10, "accuracy": src_acc,
                  "copied": copied, "same_conv": same_conv, "same_bn_running_var": same_bn,
                  "feature_max_diff": feat_diff}))
