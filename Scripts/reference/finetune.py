#!/usr/bin/env python3
"""Writes Tests/TeacherTests/Fixtures/finetune-<case>.safetensors: transformers fine-tuning a tiny random
"pretrained" wav2vec 2.0 with a fresh classification head, the reference for `TrainableWav2Vec2`'s
fine-tuning (tkd teacher train --init).

    .venv-reference/bin/python Scripts/reference/finetune.py      # (after wav2vec2.py, whose base/ and stable/
                                                                   #  folders are the "pretrained" checkpoints)

Cases (the pretrained folder's encoder weights; its head is replaced):
  base-first      base/ (GroupNorm, post-LN), first-frame pooling (the paper's c1: classifier(projector(h)[:, 0])),
                  feature encoder frozen (freeze_feature_encoder, as transformers' fine-tuning scripts do).
  stable-weighted stable/ (LayerNorm convs with bias, pre-LN), transformers' own mean-pooling head with
                  use_weighted_layer_sum True, feature encoder frozen and encoder layer 0 frozen too.

For each: Wav2Vec2ForSequenceClassification.from_pretrained(folder, num_labels=12, classifier_proj_size=8,
ignore_mismatched_sizes=True) after torch.manual_seed(11): the projector and classifier do not fit (the folder's
are 16 wide) and are freshly initialised by transformers; layer_weights (stable-weighted) is then drawn N(0, 1)
so its softmax is not uniform. Every dropout, layer drop and mask probability is 0, so train mode is the
same function as eval mode. Input: wav2vec2.py's two-example waveform [2, 8000], fed raw (the folders have no
preprocessor_config.json: do_normalize false); labels [3, 7]; loss = mean cross-entropy.

Stored (float32; metadata: generator, torch, transformers, case, pooling, frozen):
  head.<name>   the fresh head as transformers initialised it (projector.*, classifier.*, layer_weights):
                the Swift test copies these into its model, then loads every other weight from the folder
  logits [2, 12], loss [1]
  grad.<name>   dLoss/dParameter of every parameter that requires grad (frozen ones are absent; zero for one
                the loss does not reach), under the state-dict names (the positional convolution as
                parametrizations.weight.original0/1); masked_spec_embed (SpecAugment, off) is left out
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wav2vec2 as w2v  # noqa: E402  (the input formula, canonical_header; one thread)
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.numpy import save_file as save_numpy  # noqa: E402
from transformers import Wav2Vec2ForSequenceClassification  # noqa: E402

CASES = [("base-first", "base", "first", False, 0), ("stable-weighted", "stable", "mean", True, 1)]
LABELS = [3, 7]


def main():
    x = torch.from_numpy(w2v.waveform())
    labels = torch.tensor(LABELS)
    for case, source, pooling, weighted, frozen_layers in CASES:
        torch.manual_seed(11)
        model, info = Wav2Vec2ForSequenceClassification.from_pretrained(
            os.path.join(w2v.OUT, source), attn_implementation="eager", num_labels=12, classifier_proj_size=8,
            use_weighted_layer_sum=weighted, ignore_mismatched_sizes=True, output_loading_info=True)
        fresh = sorted(k for k, _, _ in info["mismatched_keys"]) + sorted(info["missing_keys"])
        assert all(k.startswith(("projector.", "classifier.", "layer_weights")) for k in fresh), fresh
        model = model.float()
        if weighted:
            with torch.no_grad():
                model.layer_weights.copy_(torch.randn(model.layer_weights.shape, generator=torch.Generator().manual_seed(12)))
        model.freeze_feature_encoder()
        for layer in model.wav2vec2.encoder.layers[:frozen_layers]:
            for p in layer.parameters():
                p.requires_grad_(False)
        model.train()
        if pooling == "first":
            hidden = model.wav2vec2(x).last_hidden_state
            logits = model.classifier(model.projector(hidden)[:, 0])
        else:
            logits = model(x).logits
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        tensors = {"logits": logits.detach().numpy(), "loss": np.array([loss.item()], dtype=np.float32)}
        for name, p in model.named_parameters():
            if name.startswith(("projector.", "classifier.", "layer_weights")):
                tensors[f"head.{name}"] = p.detach().numpy()
            if p.requires_grad and name != "wav2vec2.masked_spec_embed":  # SpecAugment's mask vector: off
                # A parameter the loss does not reach (the stable encoder's final LayerNorm under the weighted
                # sum, which reads the last hidden state before it) has gradient zero.
                tensors[f"grad.{name}"] = (p.grad if p.grad is not None else torch.zeros_like(p)).numpy()
        tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
        path = os.path.join(w2v.OUT, f"finetune-{case}.safetensors")
        save_numpy(tensors, path, metadata={
            "generator": "Scripts/reference/finetune.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "case": case, "pooling": pooling,
            "frozen": f"feature encoder, encoder layers < {frozen_layers}"})
        w2v.canonical_header(path)
        grads = sum(1 for k in tensors if k.startswith("grad."))
        print(f"{case}: loss {loss.item():.6f}, {grads} gradients, {os.path.getsize(path) / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
