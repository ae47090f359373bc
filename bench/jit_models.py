#!/usr/bin/env python3
"""bench/jit_models.py DIR - the five TorchScript models of the jit benchmark
(issue 12 item 8), scripted with torch.jit.script and saved with
torch.jit.save into DIR, in eval mode; prints "name shape" lines where the
shape's first dimension is the batch (B)."""
import os
import sys

import torch
import torch.nn as nn


class Layers(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 512)
        self.norm = nn.LayerNorm(512)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.drop(self.norm(torch.relu(self.fc1(x))))
        x = torch.sigmoid(self.fc2(x))
        return torch.softmax(self.fc3(x), dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return torch.relu(y + x)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32),
                                  nn.ReLU())
        self.blocks = nn.Sequential(Block(32), Block(32), nn.MaxPool2d(2), Block(32))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


class InvRes(nn.Module):
    def __init__(self, c, e):
        super().__init__()
        h = c * e
        self.expand = nn.Sequential(nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False),
                                nn.BatchNorm2d(h), nn.Hardswish())
        self.project = nn.Sequential(nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.project(self.dw(self.expand(x)))


class MobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU6())
        self.blocks = nn.Sequential(InvRes(16, 4), InvRes(16, 4), InvRes(16, 6))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean([2, 3]))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.enc(x).mean(1))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        out, state = self.lstm(x)
        last = out[:, -1]
        if bool(last.sum() > 0):
            last = last * 2.0
        else:
            last = last - 1.0
        for _ in range(2):
            last = torch.tanh(last)
        return self.fc(last)


MODELS = [("layers", Layers, "B,256"), ("resnet", ResNet, "B,3,32,32"),
          ("mobilenet", MobileNet, "B,3,32,32"), ("transformer", Transformer, "B,16,64"),
          ("lstm", LSTMNet, "B,16,32")]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name, cls, shape in MODELS:
        m = cls().eval()
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 1.5)
        torch.jit.save(torch.jit.script(m), os.path.join(out, name + ".pt"))
        print(name, shape)


if __name__ == "__main__":
    main()
