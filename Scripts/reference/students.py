#!/usr/bin/env python3
"""Writes the student-model fixtures of Tests/TrainingTests/Fixtures/students from an independent PyTorch
implementation of the five kws_streaming students (Docs/students.md sections 4-9 and 11, Keras semantics).

    .venv-reference/bin/python Scripts/reference/students.py      # (make reference-env first)

What it does, per student (lstm-p, tc-resnet, crnn, att-rnn, mhatt-rnn) and per input length T in {49, 130}
with a batch of B = 3: fill every parameter with deterministic numbers, run ONE training-mode forward pass
(batch norm uses batch statistics and updates its moving statistics; dropout is off), add the
temporal-attention KD head, compute the loss and call backward. The files are what the Swift tests compare
their own forward/backward against. Tests never run Python; they read these files.

Why it is written this way:
  * Every weight is kept in its Keras layout (conv [kh, kw, Cin, Cout], dense [in, units], GRU kernel
    [in, 3u] with gate blocks z, r, h and bias [2, 3u], TF1 LSTMCell kernel [(F + p), 4n] with gate blocks
    i, j, f, o). Convs permute to torch's [Cout, Cin, kh, kw] inside the forward pass, so autograd returns
    gradients in the Keras layout and the Swift side needs no layout conversion.
  * The recurrences (Keras GRU with reset_after, TF1 LSTMCell with peepholes and projection) are explicit
    loops over time. The GRU is checked against torch.nn.GRU and the LSTM (with zero peepholes) against
    torch.nn.LSTM(proj_size=...) before anything is written; the batch-norm moving-statistics update is
    checked against torch's functional batch norm; the trainable parameter counts are checked against
    Docs/students.md section 10.
  * Keras 'same' padding is explicit: out = ceil(L / s), total = max((out - 1) * s + k - L, 0), floor(total / 2)
    before and the rest after, applied with F.pad (torch's own padding='same' refuses stride 2).

Layer indices `l{i}` in tensor names are positions in Student.layers(classes:) (Sources/Training/Students),
counting the leading reshape as l0 where a student has one.

Deterministic values (no RNG anywhere):
  u(k, i)     = ((i * 2654435761 + k * 97531 + 12345) mod 2^32) / 2^32, integer arithmetic, i = flat row-major index
  parameter k = base + scale * (2u(k, i) - 1) in float64, then float32, with k the position in the parameter
                list; base = 1 for `*gamma`, else 0; scale = 0.5 for `kd.query`, 0.1 for `*bias`, `*gamma`,
                `*beta`, `*peepholes`, else 1 / sqrt(product of all dims but the last)
  input       x[b, t, f] = 4 * (2u(1000, i) - 1)
  labels      y[b] = (3b + 1) mod 12
  target      a_T[b, t'] = 0.05 + u(2000, i)^2, each row normalised to sum 1 (float64, then float32)
Loss: mean_b CE(logits_b, y_b) + lambda * mean_b KL(a_T[b] || a_S[b]), a_S = softmax_t(c'[b, t] . q / tau),
tau = 2, lambda = 0.5, q = parameter `kd.query`, c' the student's context tensor (Docs/students.md section 11).
Everything is float32 on one CPU thread; re-running gives byte-identical files (save_file writes the
metadata in a random order, so the header is rewritten with sorted metadata keys). Each fixture is also
recomputed in float64 and the float32 error is printed, a guide for the Swift tolerances. In tc-resnet every
conv bias feeds a training-mode batch norm, so its gradient is exactly zero and the stored float32 values
(up to ~2e-6) are rounding noise: compare those with an absolute tolerance.

Each fixture `<student>-T<T>.safetensors` (float32 tensors; metadata generator, torch, tau, lambda, batch, frames):
  labels [B], target [B, T'], logits [B, 12], loss [1], ce [1], kd [1], attention [B, T'] (a_S),
  model_attention [B, heads, T'] (att-rnn, mhatt-rnn: the alpha of l8),
  state.<buffer> for every batch-norm moving statistic after the one training step,
  grad.<param> (full shape) when the parameter has at most 512 values, else grad.<param>.sample [512]
  (flat gradient at indices (j * count) // 512, j = 0..511) and grad.<param>.norm [1] (L2 norm, in float64).

`kd.head: own` (att-rnn, mhatt-rnn): `<student>-own-T49.safetensors`, the same model, input and target, but the
distilled attention is the model's own: loss = mean_b CE + lambda * mean_b KL(a_T[b] || mean_h alpha[b, h]),
alpha the l8 attention (tau does not enter); `attention` holds mean_h alpha, and kd.query (unused) has zero
gradient.
"""
import json
import math
import os
import struct
import warnings

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "TrainingTests", "Fixtures",
                   "students")
STUDENTS = ["lstm-p", "tc-resnet", "crnn", "att-rnn", "mhatt-rnn"]
FRAMES = [49, 130]
BATCH = 3
CLASSES = 12
TAU = 2.0
LAMBDA = 0.5
BN_EPSILON = 1e-3
SAMPLE = 512
# Trainable parameters without kd.query (Docs/students.md section 10; StudentTests checks the same numbers).
EXPECTED_COUNTS = {"lstm-p": 545_912, "tc-resnet": 365_274, "crnn": 467_772, "att-rnn": 496_497,
                   "mhatt-rnn": 743_025}


# ---------------------------------------------------------------------------------------------------------
# Deterministic numbers
# ---------------------------------------------------------------------------------------------------------

def u(k, count):
    """u(k, i) for i = 0..count-1, exactly: uint64 arithmetic (wrap-around mod 2^64 keeps the value mod 2^32)."""
    i = np.arange(count, dtype=np.uint64)
    v = (i * np.uint64(2654435761) + np.uint64(k * 97531 + 12345)) % np.uint64(2 ** 32)
    return v.astype(np.float64) / 2.0 ** 32


def parameter_value(k, name, shape):
    count = int(np.prod(shape))
    base = 1.0 if name.endswith("gamma") else 0.0
    if name == "kd.query":
        scale = 0.5
    elif name.endswith(("bias", "gamma", "beta", "peepholes")):
        scale = 0.1
    else:
        scale = 1.0 / math.sqrt(float(np.prod(shape[:-1])))
    return (base + scale * (2.0 * u(k, count) - 1.0)).astype(np.float32).reshape(shape)


def inputs(frames, features):
    x = (4.0 * (2.0 * u(1000, BATCH * frames * features) - 1.0)).astype(np.float32)
    y = np.array([(3 * b + 1) % CLASSES for b in range(BATCH)], dtype=np.int64)
    return x.reshape(BATCH, frames, features), y


def teacher_target(context_frames):
    a = 0.05 + u(2000, BATCH * context_frames).reshape(BATCH, context_frames) ** 2
    return (a / a.sum(axis=1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# Parameter lists (names, Keras shapes, order) and batch-norm buffers
# ---------------------------------------------------------------------------------------------------------

def conv_params(prefix, kh, kw, cin, cout):
    return [(f"{prefix}.kernel", (kh, kw, cin, cout)), (f"{prefix}.bias", (cout,))]


def dense_params(prefix, inputs, units):
    return [(f"{prefix}.kernel", (inputs, units)), (f"{prefix}.bias", (units,))]


def bn_params(prefix, channels):
    return [(f"{prefix}.gamma", (channels,)), (f"{prefix}.beta", (channels,))]


def gru_params(prefix, inputs, units, bidirectional):
    out = []
    for direction in ["forward", "backward"] if bidirectional else ["forward"]:
        out += [(f"{prefix}.{direction}.kernel", (inputs, 3 * units)),
                (f"{prefix}.{direction}.recurrent_kernel", (units, 3 * units)),
                (f"{prefix}.{direction}.bias", (2, 3 * units))]
    return out


def residual_params(prefix, cin, cout, kernel):
    out = conv_params(f"{prefix}.conv1", kernel, 1, cin, cout) + bn_params(f"{prefix}.bn1", cout)
    out += conv_params(f"{prefix}.conv2", kernel, 1, cout, cout) + bn_params(f"{prefix}.bn2", cout)
    if cin != cout:
        out += conv_params(f"{prefix}.shortcut", 1, 1, cin, cout) + bn_params(f"{prefix}.shortcut_bn", cout)
    return out


def parameter_list(student):
    """[(name, shape)] in fixture order, and the batch-norm prefixes with their channel counts."""
    if student == "lstm-p":
        n, p, f = 500, 200, 20
        params = [("l0.kernel", (f + p, 4 * n)), ("l0.bias", (4 * n,)), ("l0.peepholes", (3, n)),
                  ("l0.projection", (n, p))] + dense_params("l2", p, CLASSES) + [("kd.query", (p,))]
        return params
    if student == "tc-resnet":
        params = conv_params("l1", 3, 1, 40, 50) + bn_params("l2", 50)
        for i in range(4, 8):
            params += residual_params(f"l{i}", 50, 50, 9)
        params += residual_params("l8", 50, 72, 9) + residual_params("l9", 72, 72, 9)
        return params + dense_params("l12", 72, CLASSES) + [("kd.query", (72,))]
    if student == "crnn":
        params = conv_params("l1", 3, 3, 1, 16) + conv_params("l2", 5, 3, 16, 16)
        params += gru_params("l4", 16 * 16, 256, bidirectional=False)
        params += dense_params("l6", 256, 128) + dense_params("l7", 128, 256) + dense_params("l8", 256, CLASSES)
        return params + [("kd.query", (256,))]
    heads = 1 if student == "att-rnn" else 4
    params = conv_params("l1", 5, 1, 1, 10) + bn_params("l2", 10) + conv_params("l3", 5, 1, 10, 1) + bn_params("l4", 1)
    params += gru_params("l6", 20, 128, bidirectional=True) + gru_params("l7", 256, 128, bidirectional=True)
    params += [("l8.query_kernel", (heads, 256, 256)), ("l8.query_bias", (heads, 256))]
    params += dense_params("l10", heads * 256, 64) + dense_params("l11", 64, 32) + dense_params("l12", 32, CLASSES)
    return params + [("kd.query", (256,))]


def initial_buffers(params):
    """moving_mean = 0, moving_variance = 1 for every batch norm (found through its `.gamma`)."""
    buffers = {}
    for name, shape in params:
        if name.endswith(".gamma"):
            prefix = name[: -len("gamma")]
            buffers[prefix + "moving_mean"] = torch.zeros(shape, dtype=torch.float32)
            buffers[prefix + "moving_variance"] = torch.ones(shape, dtype=torch.float32)
    return buffers


# ---------------------------------------------------------------------------------------------------------
# Layers (activations are torch NCHW = [B, C, time, freq] between convs; weights stay in Keras layout)
# ---------------------------------------------------------------------------------------------------------

def same_padding(length, kernel, stride):
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def conv2d(x, kernel, bias, stride=(1, 1), same=False):
    """Keras Conv2D on x [B, Cin, T, F] with kernel [kh, kw, Cin, Cout]; 'same' padded explicitly, else 'valid'."""
    kh, kw = kernel.shape[0], kernel.shape[1]
    if same:
        t0, t1 = same_padding(x.shape[2], kh, stride[0])
        f0, f1 = same_padding(x.shape[3], kw, stride[1])
        x = F.pad(x, (f0, f1, t0, t1))
    return F.conv2d(x, kernel.permute(3, 2, 0, 1), bias, stride=stride)


def batch_norm(x, p, buffers, prefix, momentum):
    """Training-mode Keras batch norm over every position but the channel (dim 1); updates moving statistics."""
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=False)
    shape = (1, -1, 1, 1)
    y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + BN_EPSILON)
    y = p[prefix + "gamma"].view(shape) * y + p[prefix + "beta"].view(shape)
    n = x.numel() // x.shape[1]
    with torch.no_grad():
        mm, mv = prefix + "moving_mean", prefix + "moving_variance"
        buffers[mm] = momentum * buffers[mm] + (1 - momentum) * mean
        buffers[mv] = momentum * buffers[mv] + (1 - momentum) * var * (n / (n - 1))
    return y


def keras_gru(x, kernel, recurrent_kernel, bias, reverse=False):
    """Keras GRU (reset_after, gates z, r, h) over x [B, T, in]; returns every h_t [B, T, u], h_0 = 0.
    reverse=True reads the sequence backwards and stores h at its input step (Bidirectional's backward half)."""
    batch, frames, _ = x.shape
    units = recurrent_kernel.shape[0]
    xs = x @ kernel + bias[0]
    h = x.new_zeros(batch, units)
    out = [None] * frames
    for t in (range(frames - 1, -1, -1) if reverse else range(frames)):
        xz, xr, xh = xs[:, t].split(units, dim=1)
        hz, hr, hh = (h @ recurrent_kernel + bias[1]).split(units, dim=1)
        z = torch.sigmoid(xz + hz)
        r = torch.sigmoid(xr + hr)
        candidate = torch.tanh(xh + r * hh)
        h = z * h + (1 - z) * candidate
        out[t] = h
    return torch.stack(out, dim=1)


def bidirectional_gru(x, p, prefix):
    fwd = keras_gru(x, p[prefix + ".forward.kernel"], p[prefix + ".forward.recurrent_kernel"], p[prefix + ".forward.bias"])
    bwd = keras_gru(x, p[prefix + ".backward.kernel"], p[prefix + ".backward.recurrent_kernel"],
                    p[prefix + ".backward.bias"], reverse=True)
    return torch.cat([fwd, bwd], dim=2)


def peephole_lstm(x, kernel, bias, peepholes, projection):
    """TF1 LSTMCell with peepholes, projection, forget bias 1.0 (gate blocks i, j, f, o); returns every m_t."""
    batch, frames, _ = x.shape
    units, proj = projection.shape
    w_i, w_f, w_o = peepholes[0], peepholes[1], peepholes[2]
    c = x.new_zeros(batch, units)
    m = x.new_zeros(batch, proj)
    out = []
    for t in range(frames):
        i, j, f, o = (torch.cat([x[:, t], m], dim=1) @ kernel + bias).split(units, dim=1)
        c = torch.sigmoid(f + 1.0 + w_f * c) * c + torch.sigmoid(i + w_i * c) * torch.tanh(j)
        m = (torch.sigmoid(o + w_o * c) * torch.tanh(c)) @ projection
        out.append(m)
    return torch.stack(out, dim=1)


def dense(x, p, prefix):
    return x @ p[prefix + ".kernel"] + p[prefix + ".bias"]


def residual_block(x, p, buffers, prefix, stride):
    """TC-ResNet block on x [B, C, T, 1]; projection shortcut when the channels change."""
    def conv(v, name, s):
        return conv2d(v, p[f"{prefix}.{name}.kernel"], p[f"{prefix}.{name}.bias"], stride=(s, 1), same=True)

    y = F.relu(batch_norm(conv(x, "conv1", stride), p, buffers, f"{prefix}.bn1.", 0.997))
    y = batch_norm(conv(y, "conv2", 1), p, buffers, f"{prefix}.bn2.", 0.997)
    if p[f"{prefix}.conv1.kernel"].shape[2] != p[f"{prefix}.conv1.kernel"].shape[3]:
        shortcut = F.relu(batch_norm(conv(x, "shortcut", stride), p, buffers, f"{prefix}.shortcut_bn.", 0.997))
    else:
        shortcut = x
    return F.relu(y + shortcut)


# ---------------------------------------------------------------------------------------------------------
# Students: x [B, T, F] -> (logits [B, 12], context c' [B, T', d], extras)
# ---------------------------------------------------------------------------------------------------------

def forward(student, x, p, buffers):
    extras = {}
    if student == "lstm-p":
        m = peephole_lstm(x, p["l0.kernel"], p["l0.bias"], p["l0.peepholes"], p["l0.projection"])
        return dense(m[:, -1], p, "l2"), m, extras
    if student == "tc-resnet":
        h = x.permute(0, 2, 1).unsqueeze(3)                      # [B, T, 1, 40] channels-last == NCHW [B, 40, T, 1]
        h = conv2d(h, p["l1.kernel"], p["l1.bias"], same=True)
        h = F.relu(batch_norm(h, p, buffers, "l2.", 0.997))
        for i in range(4, 8):
            h = residual_block(h, p, buffers, f"l{i}", 1)
        h = residual_block(h, p, buffers, "l8", 2)
        h = residual_block(h, p, buffers, "l9", 1)
        context = h.squeeze(3).permute(0, 2, 1)                  # [B, T', 72]
        return dense(context.mean(dim=1), p, "l12"), context, extras
    h = x.unsqueeze(1)                                           # [B, T, 20, 1] == NCHW [B, 1, T, 20]
    if student == "crnn":
        h = F.relu(conv2d(h, p["l1.kernel"], p["l1.bias"]))
        h = F.relu(conv2d(h, p["l2.kernel"], p["l2.bias"]))
        h = h.permute(0, 2, 3, 1).reshape(h.shape[0], h.shape[2], -1)   # [B, T', F'*C], index f*C + c
        states = keras_gru(h, p["l4.forward.kernel"], p["l4.forward.recurrent_kernel"], p["l4.forward.bias"])
        y = F.relu(dense(dense(states[:, -1], p, "l6"), p, "l7"))   # dense 128 linear, dense 256 relu
        return dense(y, p, "l8"), states, extras
    h = F.relu(conv2d(h, p["l1.kernel"], p["l1.bias"], same=True))
    h = batch_norm(h, p, buffers, "l2.", 0.99)
    h = F.relu(conv2d(h, p["l3.kernel"], p["l3.bias"], same=True))
    h = batch_norm(h, p, buffers, "l4.", 0.99)
    h = h.squeeze(1)                                             # [B, T, 20]
    H = bidirectional_gru(bidirectional_gru(h, p, "l6"), p, "l7")
    query = H[:, H.shape[1] // 2]                                # [B, 256]
    q = torch.einsum("bd,hde->bhe", query, p["l8.query_kernel"]) + p["l8.query_bias"]
    alpha = torch.softmax(torch.einsum("btd,bhd->bht", H, q), dim=2)
    v = torch.einsum("bht,btd->bhd", alpha, H).reshape(H.shape[0], -1)  # heads concatenated
    extras["model_attention"] = alpha
    y = dense(F.relu(dense(v, p, "l10")), p, "l11")
    return dense(y, p, "l12"), H, extras


def kd_loss(logits, context, labels, target, query):
    scores = (context @ query) / TAU
    log_a_s = torch.log_softmax(scores, dim=1)
    ce = F.cross_entropy(logits, labels)
    kl = (target * (torch.log(target) - log_a_s)).sum(dim=1).mean()
    return ce + LAMBDA * kl, ce, kl, log_a_s.exp()


def own_kd_loss(logits, alpha, labels, target):
    a_s = alpha.mean(dim=1)
    ce = F.cross_entropy(logits, labels)
    kl = (target * (torch.log(target) - torch.log(a_s))).sum(dim=1).mean()
    return ce + LAMBDA * kl, ce, kl, a_s


def run(student, frames, dtype=torch.float32, own=False):
    params = parameter_list(student)
    values = {name: torch.tensor(parameter_value(k, name, shape), dtype=dtype, requires_grad=True)
              for k, (name, shape) in enumerate(params)}
    buffers = {name: b.to(dtype) for name, b in initial_buffers(params).items()}
    features = 40 if student == "tc-resnet" else 20
    x_np, y_np = inputs(frames, features)
    x = torch.tensor(x_np, dtype=dtype)
    logits, context, extras = forward(student, x, values, buffers)
    target = torch.tensor(teacher_target(context.shape[1]), dtype=dtype)
    if own:
        loss, ce, kl, attention = own_kd_loss(logits, extras["model_attention"], torch.tensor(y_np), target)
    else:
        loss, ce, kl, attention = kd_loss(logits, context, torch.tensor(y_np), target, values["kd.query"])
    loss.backward()
    return dict(params=params, values=values, buffers=buffers, x=x_np, y=y_np, target=target, logits=logits,
                loss=loss, ce=ce, kd=kl, attention=attention, extras=extras)


# ---------------------------------------------------------------------------------------------------------
# Self-checks against torch's own layers
# ---------------------------------------------------------------------------------------------------------

def check_gru():
    g = torch.Generator().manual_seed(7)
    batch, frames, inputs_, units = 2, 6, 5, 4
    x = torch.randn(batch, frames, inputs_, generator=g)
    kernel = torch.randn(inputs_, 3 * units, generator=g) * 0.5
    recurrent = torch.randn(units, 3 * units, generator=g) * 0.5
    bias = torch.randn(2, 3 * units, generator=g) * 0.3
    reference = torch.nn.GRU(inputs_, units, batch_first=True)

    def to_torch(w):      # Keras column blocks z, r, h -> torch row blocks r, z, n
        z, r, h = w.split(units, dim=-1)
        return torch.cat([r, z, h], dim=-1)

    with torch.no_grad():
        reference.weight_ih_l0.copy_(to_torch(kernel).T)
        reference.weight_hh_l0.copy_(to_torch(recurrent).T)
        reference.bias_ih_l0.copy_(to_torch(bias[0]))
        reference.bias_hh_l0.copy_(to_torch(bias[1]))
        expected, _ = reference(x)
        got = keras_gru(x, kernel, recurrent, bias)
        backward_expected, _ = reference(x.flip(1))
        backward_got = keras_gru(x, kernel, recurrent, bias, reverse=True)
    diff = max((got - expected).abs().max().item(), (backward_got - backward_expected.flip(1)).abs().max().item())
    assert diff < 1e-5, f"Keras GRU vs torch.nn.GRU: max abs diff {diff}"
    return diff


def check_lstm():
    """With zero peepholes the TF1 cell is torch's LSTM with proj_size (gates i, f, g, o; forget bias moved into b_ih)."""
    g = torch.Generator().manual_seed(11)
    batch, frames, inputs_, units, proj = 2, 6, 5, 7, 3
    x = torch.randn(batch, frames, inputs_, generator=g)
    kernel = torch.randn(inputs_ + proj, 4 * units, generator=g) * 0.5
    bias = torch.randn(4 * units, generator=g) * 0.3
    projection = torch.randn(units, proj, generator=g) * 0.5
    reference = torch.nn.LSTM(inputs_, units, batch_first=True, proj_size=proj)
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

    def to_torch(w):      # TF1 blocks i, j, f, o -> torch blocks i, f, g, o
        i, j, f, o = w.split(units, dim=-1)
        return torch.cat([i, f, j, o], dim=-1)

    with torch.no_grad():
        reference.weight_ih_l0.copy_(to_torch(kernel[:inputs_]).T)
        reference.weight_hh_l0.copy_(to_torch(kernel[inputs_:]).T)
        reference.bias_ih_l0.copy_(to_torch(bias) + torch.cat([torch.zeros(units), torch.ones(units), torch.zeros(2 * units)]))
        reference.bias_hh_l0.zero_()
        reference.weight_hr_l0.copy_(projection.T)
        expected, _ = reference(x)
        got = peephole_lstm(x, kernel, bias, torch.zeros(3, units), projection)
    diff = (got - expected).abs().max().item()
    assert diff < 1e-5, f"TF1 LSTMCell vs torch.nn.LSTM: max abs diff {diff}"
    return diff


def check_batch_norm():
    g = torch.Generator().manual_seed(13)
    x = torch.randn(3, 4, 9, 5, generator=g) * 2 + 1
    p = {"bn.gamma": torch.rand(4, generator=g) + 0.5, "bn.beta": torch.randn(4, generator=g)}
    buffers = {"bn.moving_mean": torch.zeros(4), "bn.moving_variance": torch.ones(4)}
    mean, var = torch.zeros(4), torch.ones(4)
    expected = F.batch_norm(x, mean, var, p["bn.gamma"], p["bn.beta"], training=True, momentum=1 - 0.99, eps=BN_EPSILON)
    got = batch_norm(x, p, buffers, "bn.", 0.99)
    diff = max((got - expected).abs().max().item(), (buffers["bn.moving_mean"] - mean).abs().max().item(),
               (buffers["bn.moving_variance"] - var).abs().max().item())
    assert diff < 1e-5, f"batch norm vs F.batch_norm: max abs diff {diff}"
    return diff


# ---------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------

def f32(t):
    return np.ascontiguousarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t, dtype=np.float32)


def canonical_metadata(path):
    """save_file writes `__metadata__` in Rust HashMap order, which changes from run to run; rewrite the header
    in place with the metadata keys sorted (same JSON, same length) so that re-running gives identical bytes."""
    with open(path, "r+b") as file:
        length = struct.unpack("<Q", file.read(8))[0]
        raw = file.read(length)
        header = json.loads(raw, object_pairs_hook=dict)
        ordered = {"__metadata__": dict(sorted(header.pop("__metadata__").items())), **header}
        text = json.dumps(ordered, separators=(",", ":")).encode()
        assert len(text) <= length and json.loads(text) == json.loads(raw), f"{path}: header rewrite changed it"
        file.seek(8)
        file.write(text + b" " * (length - len(text)))


def fixture(student, frames, own=False):
    r = run(student, frames, own=own)
    tensors = {
        "labels": f32(r["y"]), "target": f32(r["target"]), "logits": f32(r["logits"]),
        "loss": f32(r["loss"]).reshape(1), "ce": f32(r["ce"]).reshape(1), "kd": f32(r["kd"]).reshape(1),
        "attention": f32(r["attention"]),
    }
    if "model_attention" in r["extras"]:
        tensors["model_attention"] = f32(r["extras"]["model_attention"])
    for name, value in r["buffers"].items():
        tensors[f"state.{name}"] = f32(value)
    for name, _ in r["params"]:
        value = r["values"][name]
        grad = (value.grad if value.grad is not None else torch.zeros_like(value)).detach().numpy()
        if grad.size <= SAMPLE:
            tensors[f"grad.{name}"] = f32(grad)
        else:
            flat = grad.reshape(-1)
            index = (np.arange(SAMPLE, dtype=np.int64) * flat.size) // SAMPLE
            tensors[f"grad.{name}.sample"] = f32(flat[index])
            tensors[f"grad.{name}.norm"] = f32([np.linalg.norm(flat.astype(np.float64))])
    return r, tensors


def precision(student, frames, r32, own=False):
    """Float32 run against a float64 run: largest gradient error relative to the parameter's largest float64
    gradient, and the names of parameters whose gradient is zero in exact arithmetic (conv biases feeding a
    training-mode batch norm) with the largest float32 value they carry instead (rounding noise)."""
    r64 = run(student, frames, torch.float64, own=own)
    scale = max(v.grad.abs().max().item() for v in r64["values"].values() if v.grad is not None)
    worst, zero = 0.0, {}
    for name, _ in r32["params"]:
        if r64["values"][name].grad is None:
            continue
        g32 = r32["values"][name].grad.double()
        g64 = r64["values"][name].grad
        if g64.abs().max().item() < 1e-12 * scale:
            zero[name] = g32.abs().max().item()
        else:
            worst = max(worst, ((g32 - g64).abs().max() / g64.abs().max()).item())
    return worst, abs(r32["loss"].item() - r64["loss"].item()), zero


def main():
    print(f"self-check: Keras GRU vs torch.nn.GRU max abs diff {check_gru():.2e} (forward and reversed)")
    print(f"self-check: TF1 LSTMCell (zero peepholes) vs torch.nn.LSTM max abs diff {check_lstm():.2e}")
    print(f"self-check: batch norm + moving statistics vs F.batch_norm max abs diff {check_batch_norm():.2e}")
    for student in STUDENTS:
        count = sum(int(np.prod(s)) for n, s in parameter_list(student) if n != "kd.query")
        assert count == EXPECTED_COUNTS[student], f"{student}: {count} trainable parameters, expected {EXPECTED_COUNTS[student]}"
    print("self-check: trainable parameter counts match Docs/students.md section 10")

    os.makedirs(OUT, exist_ok=True)
    total = 0
    cases = [(s, f, False) for s in STUDENTS for f in FRAMES] + [(s, 49, True) for s in ("att-rnn", "mhatt-rnn")]
    for student, frames, own in cases:
        if True:
            r, tensors = fixture(student, frames, own)
            path = os.path.join(OUT, f"{student}{'-own' if own else ''}-T{frames}.safetensors")
            save_file(tensors, path, metadata={
                "generator": "Scripts/reference/students.py", "torch": torch.__version__, "tau": repr(TAU),
                "lambda": repr(LAMBDA), "batch": str(BATCH), "frames": str(frames)})
            canonical_metadata(path)
            size = os.path.getsize(path)
            total += size
            grad_error, loss_error, zero = precision(student, frames, r, own)
            print(f"{os.path.basename(path)}: {len(tensors)} tensors, {size / 1024:.1f} KB, context "
                  f"{list(r['attention'].shape)}, loss {r['loss'].item():.6f} (ce {r['ce'].item():.6f}, kd "
                  f"{r['kd'].item():.6f}); float32 vs float64: loss {loss_error:.1e}, grad rel {grad_error:.1e}")
            if zero:
                print(f"    {len(zero)} gradients are exactly zero in float64 (bias before batch norm); float32 "
                      f"carries noise up to {max(zero.values()):.1e}: {', '.join(zero)}")
    print(f"total {total / 1024:.1f} KB in {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
