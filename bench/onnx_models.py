#!/usr/bin/env python3
"""bench/onnx_models.py OUT_DIR - the three models of the ONNX benchmark, built
in torch 1.13 with a fixed seed and exported with torch.onnx.export (opset 13,
dynamic batch axis): an MLP, a CNN with BatchNorm, a transformer encoder."""
import os
import sys

import torch
from torch import nn


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10)), (1, 784)


def cnn_bn():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 8 * 8, 10)), (1, 3, 32, 32)


def transformer():
    layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.1,
                                       batch_first=True)
    return nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False), (1, 16, 64)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name, make in (("mlp", mlp), ("cnn_bn", cnn_bn), ("transformer", transformer)):
        model, shape = make()
        model.eval()
        # non-trivial BatchNorm statistics
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
        x = torch.randn(*shape)
        torch.onnx.export(model, (x,), os.path.join(out, name + ".onnx"), opset_version=13,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        print(name, os.path.join(out, name + ".onnx"))


if __name__ == "__main__":
    main()
