import torch
import torch.nn as nn
import json

# nn.Transformer on a toy translation task, reversing a sequence (the classic seq2seq exercise): token and
# learned positional embeddings, Transformer.generate_square_subsequent_mask for the decoder, teacher forcing
# in training (one target token in ten replaced at random), greedy decoding one token at a time under torch.no_grad(); a cross-attention map read from the
# last decoder layer's MultiheadAttention with need_weights=True.
torch.manual_seed(0)
V, L, BOS, d = 10, 6, 1, 32  # tokens 2..9; BOS starts the decoder's input


def make_batch(n):
    src = torch.randint(2, V, (n, L))
    tgt = src.flip(1)
    noisy = torch.where(torch.rand(n, L) < 0.1, torch.randint(2, V, (n, L)), tgt)  # the loss settles above 0
    return src, noisy, tgt


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(V, d)
        self.tgt_emb = nn.Embedding(V, d)
        self.pos = nn.Parameter(torch.randn(1, L + 1, d) * 0.02)
        self.transformer = nn.Transformer(d_model=d, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                                          dim_feedforward=64, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d, V)

    def forward(self, src, tgt_in):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1))
        h = self.transformer(self.src_emb(src) + self.pos[:, :src.size(1)],
                             self.tgt_emb(tgt_in) + self.pos[:, :tgt_in.size(1)], tgt_mask=mask)
        return self.out(h)


model = Seq2Seq()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
losses = []
for step in range(300):
    src, tgt, _ = make_batch(64)
    tgt_in = torch.cat([torch.full((64, 1), BOS), tgt[:, :-1]], dim=1)
    logits = model(src, tgt_in)
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())

model.eval()
with torch.no_grad():
    src, _, tgt = make_batch(200)
    out = torch.full((200, 1), BOS)
    for _ in range(L):
        next_token = model(src, out)[:, -1].argmax(-1, keepdim=True)
        out = torch.cat([out, next_token], dim=1)
    token_acc = (out[:, 1:] == tgt).float().mean().item()
    seq_acc = (out[:, 1:] == tgt).all(dim=1).float().mean().item()
    memory = model.transformer.encoder(model.src_emb(src[:1]) + model.pos[:, :L])
    query = model.tgt_emb(out[:1, :L]) + model.pos[:, :L]
    _, weights = model.transformer.decoder.layers[-1].multihead_attn(query, memory, memory, need_weights=True)
print(json.dumps({"first_loss": losses[0], "final_loss": sum(losses[-30:]) / 30, "token_accuracy": token_acc,
                  "sequence_accuracy": seq_acc, "weights_row_sum": weights.sum(-1).mean().item()}))
