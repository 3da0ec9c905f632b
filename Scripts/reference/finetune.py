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
Also checks Scripts/export_first_frame_classifier.py on the base-first model (check_exporter), and that a folder
written by `tkd teacher train --init` loads in transformers with the logits tkd computes (check_swift_finetune).

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

def check_exporter(model):
    """Scripts/export_first_frame_classifier.py on the fine-tuned first-frame model (saved as transformers
    would, under a custom architecture name): the export loads cleanly with the same first-frame logits, and
    `tkd teacher attentions` (TKD, default .build/release/tkd, when built) reproduces them within 1e-4."""
    import subprocess
    import tempfile
    import soundfile
    root = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    tkd = os.environ.get("TKD", os.path.join(root, ".build", "release", "tkd"))
    with tempfile.TemporaryDirectory() as tmp:
        model.config.architectures = ["Wav2Vec2FirstFrameClassifier"]
        model.save_pretrained(os.path.join(tmp, "finetuned"))
        wav = os.path.join(tmp, "x.wav")
        soundfile.write(wav, w2v.waveform()[0], 16000, subtype="FLOAT")
        command = [sys.executable, os.path.join(root, "Scripts", "export_first_frame_classifier.py"), "--model",
                   os.path.join(tmp, "finetuned"), "--out", os.path.join(tmp, "teacher"), "--do-normalize", "false"]
        if os.path.exists(tkd):
            command += ["--check-audio", wav, "--tkd", tkd]
        subprocess.run(command, check=True)


def check_swift_finetune():
    """`tkd teacher train --init stable/` (2 steps, the weighted first-frame head) on a 2-s demo dataset made in a
    temporary folder: transformers loads the Swift-written folder with no missing, unexpected or mismatched keys,
    and its first-frame logits on a dataset clip match `tkd teacher attentions` within 1e-4. Skipped without a
    built tkd (TKD, default .build/release/tkd)."""
    import glob
    import subprocess
    import tempfile
    import soundfile
    root = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    tkd = os.environ.get("TKD", os.path.join(root, ".build", "release", "tkd"))
    if not os.path.exists(tkd):
        print(f"skipped the Swift fine-tuning check: no {tkd}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        def run(*args):
            subprocess.run([tkd, *args], check=True, cwd=root, stdout=subprocess.DEVNULL)
        run("corpus", "demo", "--out", f"{tmp}/corpus", "--speakers", "3", "--utterances", "1", "--jobs", "2", "-q")
        run("generate", "--recipe", "Recipes/demo.yaml", "--corpus", f"{tmp}/corpus", "--out", f"{tmp}/2s",
            "--variant", "2s", "--jobs", "2", "-q")
        with open(f"{tmp}/ft.yaml", "w") as f:
            f.write("name: ft\nsteps: 2\neval_every: 2\nbatch_size: 4\n"
                    "finetune: {projector_size: 8, weighted_layer_sum: true}\n")
        run("teacher", "train", "--init", os.path.join(w2v.OUT, "stable"), "--dataset", f"{tmp}/2s", "--config",
            f"{tmp}/ft.yaml", "--out", f"{tmp}/teacher", "-q")
        model, info = Wav2Vec2ForSequenceClassification.from_pretrained(
            f"{tmp}/teacher", attn_implementation="eager", output_loading_info=True)
        assert not any(info.values()), f"transformers did not load the Swift fine-tuned folder cleanly: {info}"
        model = model.float().eval()
        clip = sorted(glob.glob(f"{tmp}/2s/audio/testing/*.wav"))[0]
        audio, _ = soundfile.read(clip, dtype="float32")
        with torch.no_grad():
            out = model.wav2vec2(torch.from_numpy(audio)[None], output_hidden_states=True)
            weights = torch.softmax(model.layer_weights, dim=-1)
            hidden = sum(w * h for w, h in zip(weights, out.hidden_states))
            want = model.classifier(model.projector(hidden)[:, 0])[0].numpy()
        run("teacher", "attentions", "--teacher", f"{tmp}/teacher", clip, "--out", f"{tmp}/a.safetensors")
        from safetensors.numpy import load_file
        got = load_file(f"{tmp}/a.safetensors")["logits"]
        error = float(np.abs(got - want).max())
        assert error < 1e-4, f"tkd and transformers disagree on the Swift fine-tuned folder by {error}"
    print(f"Swift fine-tuned folder (stable, weighted, first frame): transformers loads it; logits agree within {error:.1e}")


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
        if case == "base-first":
            check_exporter(model)
        grads = sum(1 for k in tensors if k.startswith("grad."))
        print(f"{case}: loss {loss.item():.6f}, {grads} gradients, {os.path.getsize(path) / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
    check_swift_finetune()
