#!/usr/bin/env python3
"""Writes Tests/TrainingLoopTests/Fixtures/multilabel-head.json: the multi-label head (a dense layer to one
logit per class, sigmoid + binary cross-entropy, PyTorch's binary_cross_entropy_with_logits with its mean over
every element) in PyTorch, for the Swift BinaryCrossEntropy / Objective / DenseLayer tests (which never run
Python).

    .venv-reference/bin/python Scripts/reference/multilabel_head.py      # (make reference-env first)

Cases:
  * "head": features h [5, 6] -> z = h W + b (W [6, 7], Keras layout [in, units]) -> BCE against 0/1 targets;
    the loss and the gradients of W, b and h;
  * "extreme": logits [3, 7] from -90 to +90 and near 0, with 0/1 and soft targets (0.25, 0.9): the loss and
    dLoss/dz, where a naive log(sigmoid(z)) would overflow or lose every digit.
All in float64; the values are from a seeded generator and written out, so Swift needs no RNG.
"""
import json
import pathlib

import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/TrainingLoopTests/Fixtures/multilabel-head.json"


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    g = torch.Generator().manual_seed(20261130)
    h = torch.randn(5, 6, generator=g, dtype=torch.float64).requires_grad_()
    w = (0.5 * torch.randn(6, 7, generator=g, dtype=torch.float64)).requires_grad_()
    b = (0.1 * torch.randn(7, generator=g, dtype=torch.float64)).requires_grad_()
    y = (torch.rand(5, 7, generator=g, dtype=torch.float64) < 0.35).double()
    loss = F.binary_cross_entropy_with_logits(h @ w + b, y)
    loss.backward()
    head = {"h": flat(h), "w": flat(w), "b": flat(b), "targets": flat(y), "loss": loss.item(),
            "grad_w": flat(w.grad), "grad_b": flat(b.grad), "grad_h": flat(h.grad)}

    z = torch.tensor([[-90.0, -40.0, -17.5, -1e-3, 0.0, 1e-3, 3.0],
                      [90.0, 40.0, 17.5, -3.0, 0.5, -0.5, 12.0],
                      [-12.0, 60.0, -60.0, 2.0, -2.0, 0.25, -0.25]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[0, 1, 0, 1, 0.25, 0.9, 1],
                      [1, 0, 1, 0, 0.25, 0.9, 0],
                      [1, 1, 0, 0.5, 1, 0, 1]], dtype=torch.float64)
    loss2 = F.binary_cross_entropy_with_logits(z, t)
    loss2.backward()
    extreme = {"logits": flat(z), "targets": flat(t), "loss": loss2.item(), "grad": flat(z.grad)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generator": "Scripts/reference/multilabel_head.py", "torch": torch.__version__,
                               "head": head, "extreme": extreme}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
