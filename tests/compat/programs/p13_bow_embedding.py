import torch
import torch.nn as nn
from torch.utils.data import Dataset, DataLoader
import random
import json

# A bag-of-embeddings sentiment classifier: custom Dataset, nn.Embedding + nn.Linear, Adam.
random.seed(0)
torch.manual_seed(0)

positive = "good great excellent wonderful amazing lovely fantastic superb enjoyable delightful".split()
negative = "bad awful terrible horrible boring poor dreadful lousy dull disappointing".split()
neutral = "the movie film plot acting was is very really quite a an and but story cast".split()


def make_review():
    label = random.randint(0, 1)
    words = random.choices(neutral, k=random.randint(3, 8))
    words += random.choices(positive if label == 1 else negative, k=random.randint(1, 2))
    words += random.choices(negative if label == 1 else positive, k=random.randint(0, 1))
    random.shuffle(words)
    return ' '.join(words), label


reviews = [make_review() for _ in range(600)]
vocab = {'<pad>': 0}
for text, _ in reviews:
    for word in text.split():
        vocab.setdefault(word, len(vocab))


class ReviewDataset(Dataset):
    def __init__(self, reviews, vocab, max_len=12):
        self.reviews = reviews
        self.vocab = vocab
        self.max_len = max_len

    def __len__(self):
        return len(self.reviews)

    def __getitem__(self, idx):
        text, label = self.reviews[idx]
        ids = [self.vocab[w] for w in text.split()][:self.max_len]
        ids = ids + [0] * (self.max_len - len(ids))
        return torch.tensor(ids, dtype=torch.long), torch.tensor(label, dtype=torch.long)


class BagOfEmbeddings(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.fc = nn.Linear(embed_dim, num_class)

    def forward(self, x):
        mask = (x != 0).unsqueeze(-1).float()  # (B, T, 1)
        emb = self.embedding(x) * mask
        pooled = emb.sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        return self.fc(pooled)


train_ds = ReviewDataset(reviews[:500], vocab)
test_ds = ReviewDataset(reviews[500:], vocab)
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
test_loader = DataLoader(test_ds, batch_size=100)

model = BagOfEmbeddings(len(vocab), 16, 2)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

losses = []
for epoch in range(8):
    model.train()
    total_loss = 0.0
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        total_loss += loss.item() * len(y)
    print(f'epoch {epoch}: train loss {total_loss / len(train_ds):.4f}')

model.eval()
correct = 0
with torch.no_grad():
    test_loss = 0.0
    for x, y in test_loader:
        logits = model(x)
        test_loss += criterion(logits, y).item() * len(y)
        pred = logits.argmax(dim=1)
        accuracy = (pred == y).float().mean()
        correct += (pred == y).sum().item()
test_loss /= len(test_ds)
print(f'test loss {test_loss:.4f} accuracy {accuracy.item():.3f}')
print(json.dumps({"first_loss": losses[0], "final_loss": test_loss, "accuracy": correct / len(test_ds)}))
