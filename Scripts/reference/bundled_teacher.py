#!/usr/bin/env python3
"""Writes Tests/TeacherTests/Fixtures/bundled: a teacher checkpoint written by Swift (`tkd teacher train`), and
what Hugging Face transformers computes from it.

    .venv-reference/bin/python Scripts/reference/bundled_teacher.py    # (make reference-env and
                                                                       #  swift build -c release first; ~40 s)

What it does:
 1. Runs the Swift tool (TKD, default .build/release/tkd): the demo corpus and datasets in a temporary folder,
    then `tkd teacher train --dataset <tmp>/noisy/2s --config Scripts/reference/bundled_teacher.yaml` (a tiny
    wav2vec 2.0: hidden 16, 2 layers, 2 heads, conv_dim 7 x 8, positional kernel 8 in 2 groups, 12 labels;
    3 Adam steps from seed 7). The model folder it writes (config.json, model.safetensors,
    preprocessor_config.json) is copied into the fixture folder unchanged: these bytes were written by Swift.
 2. Loads that folder with `Wav2Vec2ForSequenceClassification.from_pretrained(folder, attn_implementation="eager")`
    and fails unless transformers reports no missing, unexpected or mismatched keys.
 3. On the fixed two-example waveform of wav2vec2.py (float32 [2, 8000]; rebuilt by the Swift test from its
    formula), passed through `Wav2Vec2FeatureExtractor.from_pretrained(folder)` (the Swift-written
    preprocessor_config.json has do_normalize true: zero mean, unit variance per example), with labels [3, 7]:
      logits        [2, 12]   eval-mode forward (every dropout is 0 in the config, so train mode is the same)
      attention.<i> [2, 2, T, T] per-layer attention probabilities, T = 24
      loss          [1]       mean cross-entropy of the logits against the labels
      grad.<name>   every parameter's gradient of that loss (PyTorch autograd), under the state-dict name
 4. Writes them to reference.safetensors (float32; metadata: generator, torch, transformers, labels).
Tests never run Python; they read these files.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wav2vec2 as w2v  # noqa: E402  (the shared input formula, canonical_header; sets 1 thread)
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.numpy import save_file as save_numpy  # noqa: E402
from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "TeacherTests", "Fixtures", "bundled")
TKD = os.environ.get("TKD", os.path.join(ROOT, ".build", "release", "tkd"))
LABELS = [3, 7]


def run(*args):
    subprocess.run([TKD, *args, "-q"] if args[0] in ("generate", "teacher") else [TKD, *args], check=True, cwd=ROOT)


def swift_checkpoint(tmp):
    run("corpus", "demo", "--out", f"{tmp}/corpus", "--jobs", "2")
    run("corpus", "index", f"{tmp}/corpus", "--strict", "--jobs", "2")
    run("generate", "--recipe", "Recipes/demo.yaml", "--corpus", f"{tmp}/corpus", "--out", f"{tmp}/noisy", "--jobs", "2")
    run("teacher", "train", "--dataset", f"{tmp}/noisy/2s", "--config", "Scripts/reference/bundled_teacher.yaml",
        "--out", f"{tmp}/teacher", "--jobs", "2")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for name in ("config.json", "model.safetensors", "preprocessor_config.json"):
        shutil.copy(os.path.join(tmp, "teacher", name), os.path.join(OUT, name))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        swift_checkpoint(tmp)
    model, info = Wav2Vec2ForSequenceClassification.from_pretrained(OUT, attn_implementation="eager",
                                                                     output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    assert not problems, f"transformers did not load the Swift checkpoint cleanly: {problems}"
    model = model.float()
    # The Swift-written preprocessor_config.json decides the input: do_normalize (zero mean, unit variance).
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(OUT)
    assert extractor.do_normalize, "the fixture config is meant to exercise do_normalize"
    x = extractor(list(w2v.waveform()), sampling_rate=16000, return_tensors="pt").input_values
    labels = torch.tensor(LABELS)
    model.eval()
    with torch.no_grad():
        out = model(x, output_attentions=True)
    model.train()   # every dropout, layerdrop and mask probability is 0: the same function, with autograd
    train_out = model(x)
    loss = torch.nn.functional.cross_entropy(train_out.logits, labels)
    loss.backward()
    assert torch.allclose(train_out.logits, out.logits, atol=1e-6)
    tensors = {"logits": out.logits.numpy(), "loss": np.array([loss.item()], dtype=np.float32)}
    for i, a in enumerate(out.attentions):
        tensors[f"attention.{i}"] = a.numpy()
    for name, p in model.named_parameters():
        tensors[f"grad.{name}"] = p.grad.numpy()
    tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    path = os.path.join(OUT, "reference.safetensors")
    save_numpy(tensors, path, metadata={"generator": "Scripts/reference/bundled_teacher.py", "torch": torch.__version__,
                                        "transformers": transformers.__version__, "labels": "3,7"})
    w2v.canonical_header(path)
    print(f"wrote {OUT}: loss {loss.item():.6f}, {sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
