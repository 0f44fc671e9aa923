import torch
import torch.nn.functional as F
import json

# makemore part 4 ("becoming a backprop ninja"), lite: backprop an MLP by hand, check every gradient
# against autograd, then train it with the hand-written gradients only.
words = """apple apricot avocado banana blackberry blueberry cantaloupe cherry clementine coconut cranberry
currant date dragonfruit durian elderberry feijoa fig gooseberry grape grapefruit guava honeydew jackfruit
jujube kiwi kumquat lemon lime lychee mandarin mango mangosteen melon mulberry nectarine olive orange papaya
passionfruit peach pear persimmon pineapple plantain plum pomegranate pomelo quince raisin rambutan raspberry
redcurrant salak satsuma soursop starfruit strawberry tamarillo tamarind tangerine watermelon yuzu""".split()
chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
vocab_size = len(stoi)
block_size = 3

X, Y = [], []
for w in words:
    context = [0] * block_size
    for ch in w + '.':
        ix = stoi[ch]
        X.append(context)
        Y.append(ix)
        context = context[1:] + [ix]
Xtr = torch.tensor(X)
Ytr = torch.tensor(Y)


# utility function we will use later when comparing manual gradients to PyTorch gradients
def cmp(s, dt, t):
    ex = torch.all(dt == t.grad).item()
    app = torch.allclose(dt, t.grad)
    maxdiff = (dt - t.grad).abs().max().item()
    print(f'{s:15s} | exact: {str(ex):5s} | approximate: {str(app):5s} | maxdiff: {maxdiff}')
    return app, maxdiff


n_embd = 10
n_hidden = 64
g = torch.Generator().manual_seed(2147483647)
C = torch.randn((vocab_size, n_embd), generator=g)
W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / ((n_embd * block_size) ** 0.5)
b1 = torch.randn(n_hidden, generator=g) * 0.1
W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
b2 = torch.randn(vocab_size, generator=g) * 0.1
parameters = [C, W1, b1, W2, b2]
for p in parameters:
    p.requires_grad = True

batch_size = 32
n = batch_size
ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
Xb, Yb = Xtr[ix], Ytr[ix]

# forward pass, chunked into smaller steps that are possible to backward one at a time
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
hpreact = embcat @ W1 + b1
h = torch.tanh(hpreact)
logits = h @ W2 + b2
loss = F.cross_entropy(logits, Yb)
for p in parameters:
    p.grad = None
for t in [logits, h, hpreact, embcat, emb]:
    t.retain_grad()
loss.backward()

# backward pass by hand
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpreact = (1.0 - h**2) * dh
dembcat = dhpreact @ W1.T
dW1 = embcat.T @ dhpreact
db1 = dhpreact.sum(0)
demb = dembcat.view(emb.shape)
dC = torch.zeros_like(C)
for k in range(Xb.shape[0]):
    for j in range(Xb.shape[1]):
        ix = Xb[k, j]
        dC[ix] += demb[k, j]

checks = [cmp('logits', dlogits, logits), cmp('h', dh, h), cmp('W2', dW2, W2), cmp('b2', db2, b2),
          cmp('hpreact', dhpreact, hpreact), cmp('W1', dW1, W1), cmp('b1', db1, b1),
          cmp('emb', demb, emb), cmp('C', dC, C)]
all_close = all(app for app, _ in checks)
max_diff = max(maxdiff for _, maxdiff in checks)

# now train with the manual backward pass only
losses = []
with torch.no_grad():
    for i in range(1000):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1 + b1
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        losses.append(loss.item())

        dlogits = F.softmax(logits, 1)
        dlogits[range(n), Yb] -= 1
        dlogits /= n
        dh = dlogits @ W2.T
        dW2 = h.T @ dlogits
        db2 = dlogits.sum(0)
        dhpreact = (1.0 - h**2) * dh
        dW1 = embcat.T @ dhpreact
        db1 = dhpreact.sum(0)
        demb = (dhpreact @ W1.T).view(emb.shape)
        dC = torch.zeros_like(C)
        dC.index_add_(0, Xb.view(-1), demb.view(-1, n_embd))
        grads = [dC, dW1, db1, dW2, db2]

        lr = 0.1 if i < 750 else 0.01
        for p, grad in zip(parameters, grads):
            p.data += -lr * grad
        if i % 250 == 0:
            print(f'{i:7d}: {loss.item():.4f}')

    logits = torch.tanh(C[Xtr].view(-1, n_embd * block_size) @ W1 + b1) @ W2 + b2
    train_loss = F.cross_entropy(logits, Ytr).item()
print(json.dumps({"first_loss": losses[0], "final_loss": train_loss, "all_close": all_close,
                  "grad_max_diff": max_diff}))
