#!/usr/bin/env python3
"""Training-step throughput of the PyTorch peer for two students (Docs/students.md §6 TC-ResNet, §8 Att-RNN).

    .venv-reference/bin/python Benchmarks/peers/train_peer.py --model {tc-resnet,att-rnn} --frames 99 \
        [--batch 100] [--threads 1] [--steps 50] [--warmup 5] [--seed 0]

Plain eager PyTorch, float32, the way a competent user writes these models: Conv1d over time with the
MFCC coefficients as channels (TC-ResNet), Conv2d (5,1) + nn.GRU(bidirectional, batch_first)
(Att-RNN), BatchNorm with the Keras momentum/epsilon translated, cross-entropy, SGD-momentum 0.9 lr 0.1
(TC-ResNet) or Adam lr 1e-3 eps 1e-8 (Att-RNN). No torch.compile, no mixed precision.

Synthetic data (standard-normal features [B, T, F], uniform labels, fixed seed), a few distinct batches
built before timing and cycled. torch.set_num_threads(N), one inter-op thread. After W warm-up steps, S
full training steps (forward, loss, backward, optimizer step) are timed with time.perf_counter; prints one
JSON line: tool, torch version, model, frames, batch, threads, steps, seconds, examples_per_second, parameters.
Frames: 99 for the 2-s variant, 399 for the 8-s variant (MFCC with 40-ms windows, 20-ms hop).
The trainable-parameter count is asserted against Docs/students.md and also printed to stderr.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 12
DISTINCT_BATCHES = 4


def tf_same_padding(length, kernel, stride):
    """TensorFlow 'same' padding (before, after): output ceil(L/s), total max((out-1)s + k - L, 0), floor half first."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


# ---------------------------------------------------------------------------------------------------
# TC-ResNet (kws_streaming tc_resnet, channels 50,50,50,50,50,72,72, kernel 9): 365,274 trainable.
# Keras BN momentum 0.997 -> torch momentum 0.003; epsilon 1e-3.

def bn1d(c):
    return nn.BatchNorm1d(c, eps=1e-3, momentum=0.003)


class ResBlock(nn.Module):
    """conv k9 -> BN -> ReLU -> conv k9 -> BN, plus shortcut (identity, or conv1x1 s2 -> BN -> ReLU), then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        # Stride 1: symmetric 4/4. Stride 2: TF 'same' padding is computed per input length in forward
        # (4/4 for odd T such as 99 and 399, so it folds into the conv; asymmetric only for even T).
        self.conv1 = nn.Conv1d(cin, cout, 9, stride=stride, padding=4 if stride == 1 else 0)
        self.bn1 = bn1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, 9, padding=4)
        self.bn2 = bn1d(cout)
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv1d(cin, cout, 1, stride=stride), bn1d(cout), nn.ReLU(inplace=True))
        else:
            self.short = None

    def forward(self, x):
        if self.stride == 1:
            y = self.conv1(x)
        else:
            before, after = tf_same_padding(x.shape[-1], 9, self.stride)
            if before == after:
                y = F.conv1d(x, self.conv1.weight, self.conv1.bias, self.stride, before)
            else:
                y = self.conv1(F.pad(x, (before, after)))
        y = F.relu(self.bn1(y), inplace=True)
        y = self.bn2(self.conv2(y))
        s = x if self.short is None else self.short(x)  # k=1 stride 2 'same': no padding, frames 0, 2, 4, ...
        return F.relu(y + s, inplace=True)


class TCResNet(nn.Module):
    def __init__(self, features=40, channels=(50, 50, 50, 50, 50, 72, 72), classes=CLASSES, dropout=0.2):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(features, channels[0], 3, padding=1), bn1d(channels[0]),
                                  nn.ReLU(inplace=True))
        blocks, cin = [], channels[0]
        for c in channels[1:]:
            blocks.append(ResBlock(cin, c, stride=1 if c == cin else 2))  # kws_streaming: stride 2 iff width changes
            cin = c
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):  # x: [B, T, 40]
        x = x.transpose(1, 2)  # [B, 40, T] view; coefficients are channels, time is the conv axis
        x = self.blocks(self.stem(x))
        return self.head(self.dropout(x.mean(dim=2)))


# ---------------------------------------------------------------------------------------------------
# Att-RNN (kws_streaming att_rnn: cnn 10,1 (5,1); 2 x BiGRU 128; query from the middle step; 64 relu, 32, 12):
# 496,497 trainable. Keras BN default momentum 0.99 -> torch 0.01; epsilon 1e-3. torch's GRU keeps two bias
# vectors (b_ih, b_hh) with r applied to (h U_h + b'_h), i.e. Keras reset_after=True, so the counts agree.

class AttRNN(nn.Module):
    def __init__(self, features=20, units=128, classes=CLASSES, dropout=0.1):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, (5, 1), padding=(2, 0))
        self.bn1 = nn.BatchNorm2d(10, eps=1e-3, momentum=0.01)
        self.conv2 = nn.Conv2d(10, 1, (5, 1), padding=(2, 0))
        self.bn2 = nn.BatchNorm2d(1, eps=1e-3, momentum=0.01)
        # Two stacked bidirectional GRUs (no dropout between) = one nn.GRU with num_layers=2.
        self.rnn = nn.GRU(features, units, num_layers=2, batch_first=True, bidirectional=True)
        self.query = nn.Linear(2 * units, 2 * units)
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(2 * units, 64)
        self.fc2 = nn.Linear(64, 32)
        self.out = nn.Linear(32, classes)

    def forward(self, x):  # x: [B, T, 20]
        x = x.unsqueeze(1)  # [B, 1, T, 20]: time x frequency, kernel (5, 1) runs over time only
        x = self.bn1(F.relu(self.conv1(x), inplace=True))
        x = self.bn2(F.relu(self.conv2(x), inplace=True))
        h, _ = self.rnn(x.squeeze(1))  # H: [B, T, 256], [forward ; backward]
        q = self.query(h[:, h.shape[1] // 2])  # [B, 256]
        alpha = torch.softmax(torch.bmm(h, q.unsqueeze(2)).squeeze(2), dim=1)  # [B, T], unscaled dot product
        v = torch.bmm(alpha.unsqueeze(1), h).squeeze(1)  # [B, 256]
        v = F.relu(self.fc1(self.dropout(v)), inplace=True)
        return self.out(self.fc2(v))


MODELS = {
    # name: (constructor, features per frame, expected trainable parameters, optimizer)
    # fused=True: the single-kernel CPU optimizers (torch >= 2.4), same maths as the default for-loop path.
    "tc-resnet": (TCResNet, 40, 365_274, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, fused=True)),
    "att-rnn": (AttRNN, 20, 496_497,
                lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, fused=True)),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--frames", type=int, default=99, help="MFCC frames per example (99 = 2 s, 399 = 8 s)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=50, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=5, help="untimed training steps first")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_interop_threads(1)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    make, features, expected, make_opt = MODELS[a.model]
    model = make()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert params == expected, f"{a.model}: {params} trainable parameters, expected {expected}"
    print(f"{a.model}: {params:,} trainable parameters", file=sys.stderr)
    opt = make_opt(model.parameters())
    loss_fn = nn.CrossEntropyLoss()

    g = torch.Generator().manual_seed(a.seed)
    data = [(torch.randn(a.batch, a.frames, features, generator=g),
             torch.randint(0, CLASSES, (a.batch,), generator=g)) for _ in range(DISTINCT_BATCHES)]

    model.train()

    def step(i):
        x, y = data[i % DISTINCT_BATCHES]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup + i)
    loss.item()  # eager CPU work is synchronous; this only makes the dependency explicit
    seconds = time.perf_counter() - t0

    print(json.dumps({"tool": "pytorch", "torch": torch.__version__, "model": a.model, "frames": a.frames,
                      "batch": a.batch, "threads": a.threads, "steps": a.steps, "seconds": round(seconds, 4),
                      "examples_per_second": round(a.steps * a.batch / seconds, 1), "parameters": params}),
          flush=True)


if __name__ == "__main__":
    main()
