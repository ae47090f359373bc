#!/usr/bin/env python3
"""tests/guide/char_lstm_torch.py TEXT DIR - torch's side of the LSTM language
model of docs/TRAINING.md (examples/guide/char_lstm.c): C trained a character
LSTM on TEXT (/usr/share/common-licenses/GPL-3, from Debian's base-files) and
wrote the training checkpoint DIR/out.pt.  Torch loads it strictly, checks C's
loss on the evaluation batch against its own, and continues training with the
restored Adam state: the evaluation loss must keep falling.

Batches (the same rule as the C program): step i, row b reads T+1 bytes at
offset ((i * B + b) * 7919) % (len - T - 1); the evaluation batch reads rows
at offsets (b * 4099) % (len - T - 1).
"""
import sys

import torch
from torch import nn

V, E, H, LAYERS, B, T = 128, 32, 64, 2, 16, 32
MORE = 30


class CharLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, E)
        self.lstm = nn.LSTM(E, H, num_layers=LAYERS, batch_first=True)
        self.out = nn.Linear(H, V)

    def forward(self, idx):
        y, _ = self.lstm(self.embed(idx))
        return self.out(y)


def batch(text, offs):
    rows = torch.stack([text[o:o + T + 1] for o in offs])
    return rows[:, :T], rows[:, 1:]


def loss_of(model, x, y):
    return nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))


def main(path, d):
    raw = open(path, "rb").read()
    assert max(raw) < V, "text is not ASCII"
    text = torch.tensor(list(raw), dtype=torch.long)
    n = len(text)
    out = torch.load(f"{d}/out.pt", weights_only=False)
    model = CharLM()
    model.load_state_dict(out["model"], strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    opt.load_state_dict(out["optimizer"])
    steps = int(out["epoch"])
    ex, ey = batch(text, [b * 4099 % (n - T - 1) for b in range(B)])
    with torch.no_grad():
        ev = loss_of(model, ex, ey).item()
    ec = float(out["eval_loss"])
    assert abs(ev - ec) <= 1e-4 * abs(ev), f"eval loss: C {ec:.6f}, torch {ev:.6f}"
    losses = out["losses"]
    assert losses[-10:].mean() < 0.8 * losses[:10].mean(), "C's training did not learn"
    for i in range(steps, steps + MORE):
        x, y = batch(text, [((i * B + b) * 7919) % (n - T - 1) for b in range(B)])
        loss = loss_of(model, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        ev2 = loss_of(model, ex, ey).item()
    assert ev2 < ev, f"torch's continuation did not lower the eval loss ({ev:.4f} -> {ev2:.4f})"
    print(f"checked: C trained {steps} steps, loss {losses[:10].mean():.3f} -> "
          f"{losses[-10:].mean():.3f}; eval loss C {ec:.5f} = torch {ev:.5f}; "
          f"torch continued {MORE} steps: eval loss {ev:.4f} -> {ev2:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
