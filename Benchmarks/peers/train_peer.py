#!/usr/bin/env python3
"""Training-step throughput of the PyTorch peer for the five students (Docs/students.md §5 LSTM-P, §6 TC-ResNet,
§7 CRNN, §8 Att-RNN, §9 MHAtt-RNN).

    .venv-reference/bin/python Benchmarks/peers/train_peer.py \
        --model {lstm-p,tc-resnet,crnn,att-rnn,mhatt-rnn} --frames 99 \
        [--batch 100] [--threads 1] [--steps 50] [--warmup 5] [--seed 0]

Plain eager PyTorch, float32, the way a competent user writes these models: nn.LSTM with proj_size (LSTM-P),
Conv1d over time with the MFCC coefficients as channels (TC-ResNet), Conv2d + nn.GRU (CRNN), Conv2d (5,1) +
nn.GRU(bidirectional, batch_first) (Att-RNN, MHAtt-RNN), BatchNorm with the Keras momentum/epsilon translated,
cross-entropy, SGD-momentum 0.9 lr 0.1 (TC-ResNet) or Adam lr 1e-3 eps 1e-8 (the other four). No torch.compile,
no mixed precision. Features per frame: 40 MFCC for TC-ResNet, 20 for the others (as tkd's students).

Synthetic data (standard-normal features [B, T, F], uniform labels, fixed seed), a few distinct batches
built before timing and cycled. torch.set_num_threads(N), one inter-op thread. After W warm-up steps, S
full training steps (forward, loss, backward, optimizer step) are timed with time.perf_counter; prints one
JSON line: tool, torch version, model, frames, batch, threads, steps, seconds, examples_per_second, parameters.
Frames: 99 for the 2-s variant, 399 for the 8-s variant (MFCC with 40-ms windows, 20-ms hop).
The trainable-parameter count is asserted against Docs/students.md (`tkd model summary`) and also printed to
stderr; LSTM-P's peer has no peepholes, so its count is tkd's minus those (see LSTMP).
"""
import argparse
import json
import sys
import time
import warnings

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
# LSTM-P (kws_streaming lstm, lstm_peep: TF1 LSTMCell 500 units, peepholes, projection 200; last step; dropout
# 0.3; dense 12). tkd: 545,912 trainable = cell 543,500 (kernel [(20 + 200), 2000] 440,000 + bias 2,000 +
# peepholes 3 x 500 = 1,500 + projection 100,000) + dense 2,412.
# The peer is nn.LSTM(proj_size=200), PyTorch's fastest path for a projected LSTM. nn.LSTM has no peepholes,
# so the peer OMITS THEM: three element-wise products per step fewer than tkd (slightly less work for PyTorch,
# so the comparison favours the peer), and 1,500 parameters fewer. nn.LSTM also keeps two bias vectors
# (b_ih, b_hh) where TF1 has one; b_hh is frozen at zero (requires_grad=False), which is exactly TF1's single
# bias. The count asserted is therefore tkd's minus the peepholes: 545,912 - 1,500 = 544,412. TF1's forget bias
# 1.0 (added in the forward pass) is folded into b_ih's forget block (torch gate order i, f, g, o).
# torch warns "LSTM with projections is not supported with oneDNN" and runs its native ATen kernel; the warning
# is silenced below.

class LSTMP(nn.Module):
    def __init__(self, features=20, units=500, projection=200, classes=CLASSES, dropout=0.3):
        super().__init__()
        self.rnn = nn.LSTM(features, units, batch_first=True, proj_size=projection)
        with torch.no_grad():
            self.rnn.bias_ih_l0[units:2 * units] += 1.0  # TF1 forget_bias 1.0
            self.rnn.bias_hh_l0.zero_()
        self.rnn.bias_hh_l0.requires_grad_(False)  # TF1 has one bias vector
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(projection, classes)

    def forward(self, x):  # x: [B, T, 20]
        m, _ = self.rnn(x)  # every m_t [B, T, 200]; the classifier reads the last step
        return self.out(self.dropout(m[:, -1]))


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
# CRNN (kws_streaming crnn: conv 3x3 16 and 5x3 16, valid in time and frequency, relu; GRU 256, last step;
# dropout 0.1; dense 128 linear, dense 256 relu, dense 12): 467,772 trainable, no batch norm. torch's GRU keeps
# two bias vectors with r applied to (h U_h + b'_h), i.e. Keras reset_after=True, so the counts agree.

class CRNN(nn.Module):
    def __init__(self, features=20, filters=16, units=256, classes=CLASSES, dropout=0.1):
        super().__init__()
        self.conv1 = nn.Conv2d(1, filters, (3, 3))
        self.conv2 = nn.Conv2d(filters, filters, (5, 3))
        width = (features - 2 - 2) * filters  # frequency 20 -> 18 -> 16, times 16 channels = 256
        self.rnn = nn.GRU(width, units, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(units, 128)
        self.fc2 = nn.Linear(128, 256)
        self.out = nn.Linear(256, classes)

    def forward(self, x):  # x: [B, T, 20]
        x = x.unsqueeze(1)  # [B, 1, T, 20]: time x frequency
        x = F.relu(self.conv2(F.relu(self.conv1(x), inplace=True)), inplace=True)  # [B, 16, T - 6, 16]
        x = x.permute(0, 2, 3, 1).flatten(2)  # [B, T', F' * C], index f * C + c (Keras channels-last reshape)
        h, _ = self.rnn(x)  # [B, T', 256]; the classifier reads the last step
        v = self.fc1(self.dropout(h[:, -1]))
        return self.out(F.relu(self.fc2(v), inplace=True))


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

    def encode(self, x):  # x: [B, T, 20] -> H [B, T, 256], [forward ; backward]
        x = x.unsqueeze(1)  # [B, 1, T, 20]: time x frequency, kernel (5, 1) runs over time only
        x = self.bn1(F.relu(self.conv1(x), inplace=True))
        x = self.bn2(F.relu(self.conv2(x), inplace=True))
        h, _ = self.rnn(x.squeeze(1))
        return h

    def forward(self, x):  # x: [B, T, 20]
        h = self.encode(x)  # H: [B, T, 256]
        q = self.query(h[:, h.shape[1] // 2])  # [B, 256]
        alpha = torch.softmax(torch.bmm(h, q.unsqueeze(2)).squeeze(2), dim=1)  # [B, T], unscaled dot product
        v = torch.bmm(alpha.unsqueeze(1), h).squeeze(1)  # [B, 256]
        v = F.relu(self.fc1(self.dropout(v)), inplace=True)
        return self.out(self.fc2(v))


# ---------------------------------------------------------------------------------------------------
# MHAtt-RNN (kws_streaming att_mh_rnn: Att-RNN's encoder; 4 heads, each its own Dense(256) query from the middle
# step, keys and values the raw H, unscaled dot product; heads concatenated to 1024; dropout 0.2; 64 relu, 32,
# 12): 743,025 trainable. The four per-head Dense(256) layers are one nn.Linear(256, 4 x 256) (same parameters,
# 4 x 65,792 = 263,168).

class MHAttRNN(AttRNN):
    def __init__(self, features=20, units=128, heads=4, classes=CLASSES, dropout=0.2):
        super().__init__(features, units, classes, dropout)
        self.heads = heads
        self.query = nn.Linear(2 * units, heads * 2 * units)
        self.fc1 = nn.Linear(heads * 2 * units, 64)

    def forward(self, x):  # x: [B, T, 20]
        h = self.encode(x)  # H: [B, T, 256]
        q = self.query(h[:, h.shape[1] // 2]).view(h.shape[0], self.heads, h.shape[2])  # [B, 4, 256]
        alpha = torch.softmax(torch.bmm(q, h.transpose(1, 2)), dim=2)  # [B, 4, T], unscaled dot product
        v = torch.bmm(alpha, h).flatten(1)  # [B, 4 x 256], heads concatenated
        v = F.relu(self.fc1(self.dropout(v)), inplace=True)
        return self.out(self.fc2(v))


def adam(p):
    # Study configs (Recipes/study/<student>.yaml) and tkd bench train: Adam, eps 1e-8. lr 1e-3 as in tkd bench
    # train (the study's schedules differ; the value does not change the work per step).
    return torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, fused=True)


MODELS = {
    # name: (constructor, features per frame, expected trainable parameters, optimizer)
    # fused=True: the single-kernel CPU optimizers (torch >= 2.4), same maths as the default for-loop path.
    # Expected counts are `tkd model summary STUDENT --classes 12 --frames 99` (lstm-p: minus its 1,500 peepholes).
    "lstm-p": (LSTMP, 20, 545_912 - 1_500, adam),
    # TC-ResNet: the paper's SGD-momentum, which tkd bench train also uses (TrainConfig's default for
    # tc-resnet); the study's Recipes/study/tc-resnet.yaml trains it with Adam 2e-3 -> 5e-5 instead.
    "tc-resnet": (TCResNet, 40, 365_274, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, fused=True)),
    "crnn": (CRNN, 20, 467_772, adam),
    "att-rnn": (AttRNN, 20, 496_497, adam),
    "mhatt-rnn": (MHAttRNN, 20, 743_025, adam),
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

    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    torch.set_num_interop_threads(1)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    make, features, expected, make_opt = MODELS[a.model]
    model = make()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert params == expected, f"{a.model}: {params} trainable parameters, expected {expected}"
    print(f"{a.model}: {params:,} trainable parameters", file=sys.stderr)
    opt = make_opt([p for p in model.parameters() if p.requires_grad])
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
