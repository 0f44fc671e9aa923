import torch
import torch.nn as nn
import json

# Sequence classification with nn.TransformerEncoder (the tutorials' batch_first form): sequences of different
# lengths padded, src_key_padding_mask, a learned positional embedding, mean pooling over the real tokens,
# AdamW; evaluation in eval mode under torch.no_grad(), where PyTorch runs the encoder on nested tensors and
# returns zeros at the padded positions.
torch.manual_seed(0)
vocab, d_model, max_len, PAD = 12, 32, 10, 0


def make_batch(n):
    lengths = torch.randint(3, max_len + 1, (n,))
    x = torch.randint(1, vocab, (n, max_len))
    pad = torch.arange(max_len)[None, :] >= lengths[:, None]
    x = x.masked_fill(pad, PAD)
    y = ((x == 5).sum(dim=1) >= 2).long()  # the label: token 5 appears at least twice
    flip = torch.rand(n) < 0.1  # one label in ten flipped: the loss settles near the noise's entropy, not 0
    return x, pad, torch.where(flip, 1 - y, y), y


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(d_model, 2)

    def encode(self, x, pad):
        return self.encoder(self.emb(x) + self.pos, src_key_padding_mask=pad)

    def forward(self, x, pad):
        h = self.encode(x, pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.head((h * keep).sum(1) / keep.sum(1))


model = Classifier()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
losses = []
for step in range(150):
    x, pad, y, _ = make_batch(64)
    loss = nn.functional.cross_entropy(model(x, pad), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
model.eval()
with torch.no_grad():
    x, pad, _, y = make_batch(500)
    acc = (model(x, pad).argmax(1) == y).float().mean().item()
    h = model.encode(x, pad)
    padded_zero = bool((h[pad] == 0).all())
print(json.dumps({"first_loss": losses[0], "final_loss": sum(losses[-30:]) / 30, "accuracy": acc,
                  "padded_zero": padded_zero, "n_params": sum(p.numel() for p in model.parameters())}))
