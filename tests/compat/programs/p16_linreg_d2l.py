import torch
from torch import nn
from torch.utils import data
from sklearn.datasets import load_diabetes
import json

# d2l "Concise Implementation of Linear Regression", on the diabetes data set.
torch.manual_seed(0)

features, labels = load_diabetes(return_X_y=True)
features = torch.tensor(features, dtype=torch.float32)
features = (features - features.mean(0)) / features.std(0)
labels = torch.tensor(labels, dtype=torch.float32).reshape((-1, 1)) / 100


def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


batch_size = 10
data_iter = load_array((features, labels), batch_size)
print(next(iter(data_iter))[0].shape)

net = nn.Sequential(nn.Linear(10, 1))
net[0].weight.data.normal_(0, 0.01)
net[0].bias.data.fill_(0)
loss = nn.MSELoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.01)

first_loss = loss(net(features), labels).item()
num_epochs = 30
for epoch in range(num_epochs):
    for X, y in data_iter:
        l = loss(net(X), y)
        trainer.zero_grad()
        l.backward()
        trainer.step()
    l = loss(net(features), labels)
    if epoch % 10 == 9:
        print(f'epoch {epoch + 1}, loss {l:f}')

w = net[0].weight.data
b = net[0].bias.data
print('w:', w.reshape(-1), 'b:', b)
print(json.dumps({"first_loss": first_loss, "final_loss": l.item(), "bias": b.item()}))
