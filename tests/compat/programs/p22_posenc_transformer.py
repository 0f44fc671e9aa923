import torch
import torch.nn as nn
import torch.nn.functional as F
import math
import json

# Encoder-only transformer (written out by hand) with sinusoidal PositionalEncoding (PyTorch tutorial style),
# additive float causal mask, trained on "predict the token 2 positions back". Logs grad norm via .item().
torch.manual_seed(0)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer('pe', pe)

    def forward(self, x):
        # x: (seq_len, batch, d_model)
        x = x + self.pe[:x.size(0)]
        return self.dropout(x)


def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1, float(0.0))
    return mask


class SelfAttention(nn.Module):
    def __init__(self, d_model, nhead):
        super().__init__()
        self.nhead = nhead
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x, mask):
        T, B, C = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.reshape(T, B * self.nhead, C // self.nhead).transpose(0, 1)
        k = k.reshape(T, B * self.nhead, C // self.nhead).transpose(0, 1)
        v = v.reshape(T, B * self.nhead, C // self.nhead).transpose(0, 1)
        scores = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(C // self.nhead) + mask
        attn = torch.softmax(scores, dim=-1)
        y = torch.bmm(attn, v).transpose(0, 1).reshape(T, B, C)
        return self.out(y)


class Layer(nn.Module):
    def __init__(self, d_model, nhead):
        super().__init__()
        self.attn = SelfAttention(d_model, nhead)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.GELU(), nn.Linear(2 * d_model, d_model))

    def forward(self, x, mask):
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.ff(x))


class Model(nn.Module):
    def __init__(self, ntoken, d_model=32, nhead=4, nlayers=2):
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(ntoken, d_model)
        self.pos_encoder = PositionalEncoding(d_model, dropout=0.0)
        self.layers = nn.ModuleList([Layer(d_model, nhead) for _ in range(nlayers)])
        self.linear = nn.Linear(d_model, ntoken)

    def forward(self, src, src_mask):
        src = self.embedding(src) * math.sqrt(self.d_model)
        x = self.pos_encoder(src)
        for layer in self.layers:
            x = layer(x, src_mask)
        return self.linear(x)


ntokens, T, B = 8, 12, 32
model = Model(ntokens)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
src_mask = generate_square_subsequent_mask(T)
losses, norms = [], []
for step in range(200):
    data = torch.randint(0, ntokens, (T, B))
    targets = torch.cat([torch.zeros(2, B, dtype=torch.long), data[:-2]], dim=0)
    output = model(data, src_mask)
    loss = F.cross_entropy(output.view(-1, ntokens), targets.view(-1))
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    norms.append(norm.item())
    optimizer.step()
    if step % 50 == 49:
        scheduler.step()
    losses.append(loss.item())
with torch.no_grad():
    data = torch.randint(0, ntokens, (T, 100))
    targets = torch.cat([torch.zeros(2, 100, dtype=torch.long), data[:-2]], dim=0)
    _, pred = torch.max(model(data, src_mask), 2)
    acc = (pred[2:] == targets[2:]).float().mean().item()
print(json.dumps({"first_loss": losses[0], "final_loss": sum(losses[-10:]) / 10, "accuracy": acc,
                  "first_norm": norms[0], "mask00": src_mask[0, 1].item()}))
