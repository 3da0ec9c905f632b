#!/usr/bin/env python3
"""Writes the wav2vec 2.0 teacher fixtures of Tests/TeacherTests/Fixtures from Hugging Face transformers.

    .venv-reference/bin/python Scripts/reference/wav2vec2.py      # (make reference-env first; ~5 s, 1 thread)

What it does: builds two tiny random-weight `Wav2Vec2ForSequenceClassification` models from configs (no
network, nothing from the hub), saves them the way transformers does (`save_pretrained`, safetensors), derives
two reduced-precision copies from them, and for each of the four folders runs the transformers forward pass
on a fixed two-example waveform and writes what the Swift teacher must reproduce. Tests never run Python;
they read these files.

  base/              feat_extract_norm "group" (GroupNorm after conv 0 only), do_stable_layer_norm False
                     (post-LN encoder), conv_bias False. Saved by save_pretrained: float32, positional-conv
                     weight norm under the names transformers 5 writes,
                     `...pos_conv_embed.conv.parametrizations.weight.original0` (g) / `.original1` (v).
  stable/            feat_extract_norm "layer" (LayerNorm after every conv), do_stable_layer_norm True (pre-LN
                     encoder), conv_bias True. Saved by save_pretrained, float32.
  base-legacy-fp16/  the base weights, every tensor float16, the weight norm under the legacy (transformers 4 /
                     torch.nn.utils.weight_norm) names `...pos_conv_embed.conv.weight_g` / `.weight_v`;
                     config.json as base's with "dtype" replaced by the legacy key "torch_dtype": "float16".
  stable-bf16/       the stable weights, every tensor bfloat16; config.json with "dtype": "bfloat16".
  weighted/          base's weights and config with use_weighted_layer_sum True (the SUPERB-style head:
                     projector(sum_i softmax(layer_weights)_i hidden.<i>)) and layer_weights [3] ~ N(0, 1) from a
                     generator seeded 2. Only reference.safetensors is stored, with `layer_weights` in it: the Swift
                     test assembles the model folder from base/ (keeps the fixtures small).
  weighted-stable/   the same from stable/, seed 3.

The fp16/bf16 references are computed from the model that transformers itself loads back from that folder
(`from_pretrained(folder, attn_implementation="eager").float()`), so they correspond to the rounded weights;
the script first checks that every loaded parameter equals the rounded original exactly (this is also the
check that transformers accepts the legacy weight_g/weight_v names, via its "legacy" WeightRenaming).

Shared tiny config: hidden 32, 2 layers, 2 heads (head dim 16), FFN 64, conv_dim 7 x 16, conv_kernel
(10,3,3,3,3,2,2), conv_stride (5,2,2,2,2,2,2), positional conv kernel 16 with 4 groups, classifier_proj_size 16,
12 labels, hidden_act / feat_extract_activation "gelu" (exact erf GELU), layer_norm_eps 1e-5, every dropout and
layerdrop 0, mask_time_prob 0 (no SpecAugment), use_weighted_layer_sum False, eager attention, eval mode.

Weights (larger than transformers' init so that nothing is trivially near zero): torch.manual_seed(seed) before
construction, then every parameter is overwritten in named_parameters() order from a torch.Generator seeded
with the same seed (base: 0, stable: 1):
  Linear / Conv weights and the weight-norm direction v (original1)   N(0, 0.2^2)
  LayerNorm / GroupNorm weights                                      1 + 0.1 N(0, 1)
  every bias                                                         0.1 N(0, 1)
  weight-norm magnitude g (original0, shape [1, 1, 16])               ||v[:, :, k]||_2 * (1 + 0.2 N(0, 1))
(transformers' weight norm uses dim=2: one g per kernel tap k, v normalised over its [out, in/groups] slice.
g is deliberately not ||v||, so an implementation that ignores g fails the test.)

Input (float32 [2, 8000], 0.5 s at 16 kHz, t = n / 16000, computed in float64, then float32):
  example 0: 0.3 sin(2 pi 440 t) + 0.05 (2 u(3000, i) - 1), u the integer hash below (recomputed by the
             Swift test, so `input` is not stored)
  example 1: 0.2 sin(2 pi (200 t + 1800 t^2)) + 0.05 (2 u(3001, i) - 1), a linear
             chirp from 200 Hz to 2000 Hz over the 0.5 s (instantaneous frequency 200 + 3600 t)
Raw samples are fed to the model: Wav2Vec2FeatureExtractor's do_normalize (zero mean, unit variance per
example) is NOT applied, and there is no attention mask (both examples full length).

Each `<folder>/reference.safetensors` (float32 only; metadata: generator, torch, transformers, variant, frames,
rollout_discard), T = 24 frames for 8000 samples (conv output lengths 1599, 799, 399, 199, 99, 49, 24):
  (input        [2, 8000]        not stored: the Swift test rebuilds it from the formula above)
  features     [2, T, 16]     model.wav2vec2.feature_extractor(input).transpose(1, 2) (before the feature
                              projection's LayerNorm)
  hidden.<i>   [2, T, 32]     output_hidden_states, i = 0..2. hidden.0 is the input of the first encoder layer:
                              base: encoder.layer_norm(x + pos_conv(x)); stable: x + pos_conv(x) (no LayerNorm),
                              where x = feature_projection(features). hidden.<i>, i >= 1, is the output of
                              encoder layer i. NOTE for stable: transformers 5 records hidden.2 BEFORE the
                              encoder's final LayerNorm (capture_outputs(tie_last_hidden_states=False));
                              transformers 4 returned it after. The final-normed value is `last_hidden`.
  last_hidden  [2, T, 32]     encoder output that the classifier head reads (base: = hidden.2; stable:
                              encoder.layer_norm(hidden.2))
  attention.<i>[2, 2, T, T]   softmax attention probabilities of layer i (rows = queries), i = 0, 1
  pooled       [2, 16]        projector(last_hidden).mean(over T), the classifier's input (weighted variants:
                              projector(sum_i softmax(layer_weights)_i hidden.<i>).mean(over T), with the
                              hidden states exactly as transformers returns them)
  logits       [2, 12]        classifier(pooled)
  rollout.<fusion>.<query> [2, T]  attention rollout (Abnar & Zuidema 2020), numpy float64 from the float32
                              attentions, per example: for each layer l = 1..L fuse the heads (mean / max / min
                              over heads) into A_l; Ahat_l = 0.5 A_l + 0.5 I; divide every row of Ahat_l by its
                              sum (row-stochastic, rows = queries); joint = Ahat_1, then joint = Ahat_l @ joint for
                              l = 2..L; query "first" = joint[0, :], "mean" = joint.mean(axis=0); the vector is
                              divided by its sum. fusion in {mean, max, min}, query in {first, mean}.
  rollout.mean.first.discard0.5 [2, T]  as rollout.mean.first, but each fused A_l first has, in every row i,
                              the floor(0.5 T) = 12 smallest OFF-diagonal entries set to 0 (the diagonal entry
                              A[i, i] is never discarded; ties broken by the lower column index, numpy stable
                              argsort), before adding the identity and renormalising.

The script also reruns each model in float64 and prints the float32 error (a guide for Swift tolerances), and
checks its descriptions above against transformers (hidden.0, last_hidden, pooled, logits recomputed by hand).
Re-running gives byte-identical files: save_pretrained output is deterministic (metadata {"format": "pt"} only),
and the reference files' header is rewritten with the metadata keys sorted (safetensors writes them in hash-map
order). Everything runs on one CPU thread.
"""
import hashlib
import json
import math
import os
import shutil
import struct

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
import safetensors  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.numpy import save_file as save_numpy  # noqa: E402
from safetensors.torch import load_file, save_file as save_torch  # noqa: E402
from transformers import Wav2Vec2Config, Wav2Vec2ForSequenceClassification  # noqa: E402

torch.set_num_threads(1)
transformers.utils.logging.disable_progress_bar()

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "TeacherTests", "Fixtures")
RATE = 16000
SAMPLES = 8000
DISCARD = 0.5
SEEDS = {"base": 0, "stable": 1, "weighted": 2, "weighted-stable": 3}
WEIGHTED = {"weighted": "base", "weighted-stable": "stable"}
POS_CONV = "wav2vec2.encoder.pos_conv_embed.conv."
NEW_G, NEW_V = POS_CONV + "parametrizations.weight.original0", POS_CONV + "parametrizations.weight.original1"
OLD_G, OLD_V = POS_CONV + "weight_g", POS_CONV + "weight_v"


# ---------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------

def config(stable):
    return Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_bias=stable, feat_extract_norm="layer" if stable else "group", do_stable_layer_norm=stable,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, classifier_proj_size=16, num_labels=12,
        hidden_act="gelu", feat_extract_activation="gelu", layer_norm_eps=1e-5,
        hidden_dropout=0.0, activation_dropout=0.0, attention_dropout=0.0, feat_proj_dropout=0.0,
        final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0, mask_feature_prob=0.0,
        use_weighted_layer_sum=False, attn_implementation="eager")


def randomise(model, seed):
    """Overwrites every parameter (see the module docstring); fails on a parameter it does not know."""
    gen = torch.Generator().manual_seed(seed)
    norms = tuple(m for m in model.modules() if isinstance(m, (torch.nn.LayerNorm, torch.nn.GroupNorm)))
    norm_weights = {id(m.weight) for m in norms}
    pending_g = None
    with torch.no_grad():
        for name, p in model.named_parameters():
            randn = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name == NEW_G:
                pending_g = (p, randn)  # needs v, which comes later in named_parameters()
            elif name.endswith("bias"):
                p.copy_(0.1 * randn)
            elif id(p) in norm_weights:
                p.copy_(1.0 + 0.1 * randn)
            elif name.endswith("weight") or name == NEW_V:
                p.copy_(0.2 * randn)
            else:
                raise ValueError(f"no initialisation rule for {name}")
        g, randn = pending_g
        v = dict(model.named_parameters())[NEW_V]
        g.copy_(v.norm(dim=(0, 1), keepdim=True) * (1.0 + 0.2 * randn))


def build(name):
    seed = SEEDS[name]
    torch.manual_seed(seed)
    model = Wav2Vec2ForSequenceClassification(config(stable=name == "stable"))
    randomise(model, seed)
    return model.eval()


def load(folder):
    model = Wav2Vec2ForSequenceClassification.from_pretrained(folder, attn_implementation="eager")
    return model.float().eval()


# ---------------------------------------------------------------------------------------------------------
# Input and forward pass
# ---------------------------------------------------------------------------------------------------------

def hash_uniform(k, count):
    """u(k, i) = ((i·2654435761 + k·97531 + 12345) mod 2^32) / 2^32, exact integer arithmetic (the Swift
    test recomputes the waveform from it, so the input is not stored)."""
    i = np.arange(count, dtype=np.uint64)
    v = (i * np.uint64(2654435761) + np.uint64(k * 97531 + 12345)) % np.uint64(2 ** 32)
    return v.astype(np.float64) / 2 ** 32


def waveform():
    t = np.arange(SAMPLES, dtype=np.float64) / RATE
    duration = SAMPLES / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * (2 * hash_uniform(3000, SAMPLES) - 1)
    f0, f1 = 200.0, 2000.0
    chirp_phase = 2 * np.pi * (f0 * t + (f1 - f0) / (2 * duration) * t ** 2)
    chirp = 0.2 * np.sin(chirp_phase) + 0.05 * (2 * hash_uniform(3001, SAMPLES) - 1)
    return np.stack([tone, chirp]).astype(np.float32)


def forward(model, x):
    """Everything the reference file holds except the rollouts, as float tensors of the model's dtype."""
    with torch.no_grad():
        out = model(x, output_attentions=True, output_hidden_states=True)
        w2v = model.wav2vec2
        features = w2v.feature_extractor(x).transpose(1, 2)
        last = w2v(x).last_hidden_state
        if model.config.use_weighted_layer_sum:
            weights = torch.softmax(model.layer_weights, dim=-1)
            head_input = sum(w * h for w, h in zip(weights, out.hidden_states))
        else:
            head_input = last
        pooled = model.projector(head_input).mean(dim=1)
        r = {"logits": out.logits, "features": features, "last_hidden": last, "pooled": pooled}
        r.update({f"hidden.{i}": h for i, h in enumerate(out.hidden_states)})
        r.update({f"attention.{i}": a for i, a in enumerate(out.attentions)})

        # The docstring's descriptions, checked against transformers' own forward.
        stable = model.config.do_stable_layer_norm
        enc = w2v.encoder
        projected, _ = w2v.feature_projection(features)
        h0 = projected + enc.pos_conv_embed(projected)
        if not stable:
            h0 = enc.layer_norm(h0)
        last_hidden = enc.layer_norm(r["hidden.2"]) if stable else r["hidden.2"]
        assert len(out.hidden_states) == 3 and len(out.attentions) == 2
        assert torch.equal(h0, r["hidden.0"]), "hidden.0 is not what the docstring says"
        assert torch.equal(last_hidden, last), "last_hidden is not what the docstring says"
        assert torch.allclose(model.classifier(pooled), out.logits, rtol=0, atol=1e-6 * out.logits.abs().max())
    return r


# ---------------------------------------------------------------------------------------------------------
# Attention rollout (numpy float64)
# ---------------------------------------------------------------------------------------------------------

def fuse(heads, fusion):
    return {"mean": heads.mean(axis=0), "max": heads.max(axis=0), "min": heads.min(axis=0)}[fusion]


def discard_smallest(a, ratio):
    """Per row i: zero the floor(ratio * T) smallest entries among the off-diagonal ones (stable order)."""
    t = a.shape[0]
    count = int(math.floor(ratio * t))
    out = a.copy()
    for i in range(t):
        others = np.array([j for j in range(t) if j != i])
        drop = others[np.argsort(a[i, others], kind="stable")[:count]]
        out[i, drop] = 0.0
    return out


def rollout(layers, fusion, query, discard=None):
    """layers: per layer [heads, T, T] float64 of one example. Returns [T], summing to 1."""
    joint = None
    for heads in layers:
        a = fuse(heads, fusion)
        if discard is not None:
            a = discard_smallest(a, discard)
        a_hat = 0.5 * a + 0.5 * np.eye(a.shape[0])
        a_hat = a_hat / a_hat.sum(axis=1, keepdims=True)
        joint = a_hat if joint is None else a_hat @ joint
    assert np.allclose(joint.sum(axis=1), 1.0)
    v = joint[0] if query == "first" else joint.mean(axis=0)
    return v / v.sum()


def rollouts(r):
    attentions = [r[f"attention.{i}"].numpy().astype(np.float64) for i in range(2)]
    out = {}
    specs = [(f, q, None) for f in ("mean", "max", "min") for q in ("first", "mean")] + [("mean", "first", DISCARD)]
    for fusion, query, discard in specs:
        name = f"rollout.{fusion}.{query}" + (f".discard{discard}" if discard is not None else "")
        per_example = [rollout([a[b] for a in attentions], fusion, query, discard) for b in range(2)]
        out[name] = np.stack(per_example).astype(np.float32)
    return out


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------

def canonical_header(path):
    """Rewrites a safetensors header in place with `__metadata__` first and its keys sorted (same length, padded
    with spaces as the format allows), so that the bytes do not depend on hash-map order."""
    with open(path, "r+b") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        raw = f.read(size)
        header = json.loads(raw)
        meta = header.pop("__metadata__", {})
        text = json.dumps({"__metadata__": dict(sorted(meta.items())), **header}, separators=(",", ":")).encode()
        assert len(text) <= size and json.loads(text) == json.loads(raw)
        f.seek(8)
        f.write(text + b" " * (size - len(text)))


def write_reference(folder, variant, r):
    tensors = {}
    tensors.update({k: np.ascontiguousarray(v.numpy(), dtype=np.float32) for k, v in r.items()
                    if isinstance(v, torch.Tensor)})
    tensors.update(rollouts(r))
    path = os.path.join(folder, "reference.safetensors")
    save_numpy(tensors, path, metadata={
        "generator": "Scripts/reference/wav2vec2.py", "torch": torch.__version__,
        "transformers": transformers.__version__, "variant": variant,
        "frames": str(r["features"].shape[1]),
        "rollout_discard": "per row, the floor(0.5*T) smallest off-diagonal entries of the head-fused A set to 0",
    })
    canonical_header(path)
    return tensors


def derive(source, folder, dtype, legacy_names):
    """Copies source's weights into folder as dtype (optionally with the legacy weight-norm names) and edits the
    dtype in a copy of its config.json."""
    os.makedirs(folder, exist_ok=True)
    state = load_file(os.path.join(source, "model.safetensors"))
    converted = {}
    for name, t in state.items():
        if legacy_names:
            name = {NEW_G: OLD_G, NEW_V: OLD_V}.get(name, name)
        converted[name] = t.to(dtype).contiguous()
    save_torch(converted, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(source, "config.json")) as f:
        cfg = json.load(f)  # keeps transformers' key order (nested dicts such as id2label stay in numeric order)
    dtype_name = str(dtype).replace("torch.", "")
    if legacy_names:
        cfg.pop("dtype", None)
        cfg["torch_dtype"] = dtype_name
    else:
        cfg["dtype"] = dtype_name
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(json.dumps(dict(sorted(cfg.items())), indent=2) + "\n")
    return {k: v.to(dtype).float() for k, v in state.items()}  # the weights the loaded model must have


def check_loaded(model, expected, folder):
    loaded = {k: v.detach() for k, v in model.state_dict().items()}
    assert set(loaded) == set(expected), f"{folder}: parameter names differ: {set(loaded) ^ set(expected)}"
    for k, v in expected.items():
        assert torch.equal(loaded[k], v), f"{folder}: {k} differs after from_pretrained"


def float64_error(model, x, r):
    ref = forward(model.double(), x.double())
    model.float()
    worst = {}
    for k in ("logits", "last_hidden", "attention.1", "pooled"):
        worst[k] = float((r[k].double() - ref[k]).abs().max())
    return worst


def check_converter(model, x):
    """Scripts/convert_to_safetensors.py on the model saved as a pytorch_model.bin: transformers loads the result
    with no missing, unexpected or mismatched keys and gives the same logits, bit for bit."""
    import subprocess
    import sys
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        source, out = os.path.join(tmp, "bin"), os.path.join(tmp, "converted")
        # A folder as transformers 4 wrote it with safe_serialization=False (transformers 5 writes only
        # safetensors): config.json and the pickled state dict.
        model.config.save_pretrained(source)
        torch.save(model.state_dict(), os.path.join(source, "pytorch_model.bin"))
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "convert_to_safetensors.py")
        subprocess.run([sys.executable, script, source, "--out", out], check=True)
        converted, info = Wav2Vec2ForSequenceClassification.from_pretrained(
            out, attn_implementation="eager", output_loading_info=True)
        assert not any(info.values()), f"the converted folder did not load cleanly: {info}"
        with torch.no_grad():
            assert torch.equal(converted.eval()(x).logits, model(x).logits), "the converted model's logits differ"
    print("convert_to_safetensors.py: the converted folder loads cleanly and gives the same logits")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def main():
    if os.path.isdir(OUT):
        for entry in ("base", "stable", "base-legacy-fp16", "stable-bf16", "weighted", "weighted-stable"):
            shutil.rmtree(os.path.join(OUT, entry), ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    x = torch.from_numpy(waveform())
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, safetensors {safetensors.__version__}")

    variants = []
    for name in ("base", "stable"):
        folder = os.path.join(OUT, name)
        model = build(name)
        model.save_pretrained(folder, safe_serialization=True)
        reloaded = load(folder)
        check_loaded(reloaded, {k: v.detach() for k, v in model.state_dict().items()}, folder)
        variants.append((name, folder, model))
    derived = [("base-legacy-fp16", "base", torch.float16, True), ("stable-bf16", "stable", torch.bfloat16, False)]
    for name, source, dtype, legacy in derived:
        folder = os.path.join(OUT, name)
        expected = derive(os.path.join(OUT, source), folder, dtype, legacy)
        model = load(folder)
        check_loaded(model, expected, folder)
        variants.append((name, folder, model))

    for name, source in WEIGHTED.items():
        # The source's weights with the weighted head switched on and layer_weights drawn.
        model = Wav2Vec2ForSequenceClassification.from_pretrained(
            os.path.join(OUT, source), attn_implementation="eager", use_weighted_layer_sum=True).float().eval()
        with torch.no_grad():
            model.layer_weights.copy_(torch.randn(3, generator=torch.Generator().manual_seed(SEEDS[name])))
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        variants.append((name, folder, model))

    for name, folder, model in variants:
        r = forward(model, x)
        if name in WEIGHTED:
            r["layer_weights"] = model.layer_weights.detach().clone()
        r["input"] = x.numpy()
        tensors = write_reference(folder, name, r)
        err = float64_error(model, x, r)
        weights = os.path.join(folder if name not in WEIGHTED else os.path.join(OUT, WEIGHTED[name]), "model.safetensors")
        with safetensors.safe_open(weights, "pt") as f:
            keys = list(f.keys())
            pos = sorted(k.replace(POS_CONV, "") for k in keys if k.startswith(POS_CONV))
            dtypes = sorted({str(f.get_slice(k).get_dtype()) for k in keys})
        sizes = {fn: os.path.getsize(os.path.join(folder, fn)) for fn in sorted(os.listdir(folder))}
        print(f"\n{name}: T = {tensors['features'].shape[1]}, {len(keys)} weight tensors {dtypes}, pos conv {pos}")
        print("  logits[0] " + " ".join(f"{v:+.3f}" for v in tensors["logits"][0]))
        print("  attention max prob per layer " + ", ".join(f"{tensors[f'attention.{i}'].max():.3f}" for i in range(2))
              + ";  rollout.mean.first[0] max " + f"{tensors['rollout.mean.first'][0].max():.3f}")
        print("  float32 vs float64 max |error| " + ", ".join(f"{k} {v:.1e}" for k, v in err.items()))
        print("  " + ", ".join(f"{fn} {s / 1024:.1f} KiB ({sha(os.path.join(folder, fn))})" for fn, s in sizes.items()))
    check_converter(variants[-2][2], x)  # the weighted model (its layer_weights included)
    total = sum(os.path.getsize(os.path.join(d, fn)) for d, _, fns in os.walk(OUT) for fn in fns)
    print(f"\ntotal under {os.path.relpath(OUT)}: {total / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
