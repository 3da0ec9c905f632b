#!/usr/bin/env python3
"""Export a Hugging Face audio transformer's attentions for `tkd teacher cache --import`.

For every example in a tkd dataset's manifests, runs the model (transformers, eager attention) on the
example's audio and writes OUT/<id>.safetensors with

  layer.<i>  [heads, T, T]   attention probabilities of layer i (rows are queries), float32
  logits     [labels]        the classification head's output, when the model has one

plus OUT/import.json with the teacher's frame grid (`frame_hop`, `frame_centre_offset` in samples, from the
convolutional feature extractor's strides and kernels), its class names (`labels`, from id2label), which
tkd uses for the localisation summary and to map logits onto the dataset's classes, and the row its head
reads (`rollout_row`: `first` for a first-frame classifier, `mean` for transformers' mean-pooling head;
from --head, else the config's `tkd_pooling`, else `mean`), which `query: auto` takes. tkd then computes
the rollout with its own settings:

  .venv-reference/bin/python Scripts/export_hf_attentions.py --model MODEL_DIR --dataset D --out EXPORTS
  tkd teacher cache --dataset D --import EXPORTS

Any model whose forward accepts `output_attentions=True` and returns `attentions` works (wav2vec 2.0,
HuBERT, WavLM, AST with --feature-extractor); audio is fed as read (16 kHz float32), or through the model's
feature extractor with --feature-extractor. Existing exports are kept (rerun to resume).
"""
import argparse
import json
import os
import sys

import numpy as np
import soundfile
import torch
from safetensors.numpy import save_file
from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForAudioClassification


def frame_grid(config):
    kernels = getattr(config, "conv_kernel", None)
    strides = getattr(config, "conv_stride", None)
    if not kernels or not strides:
        return None
    field = 1
    for k, s in reversed(list(zip(kernels, strides))):
        field = (field - 1) * s + k
    return int(np.prod(strides)), field / 2


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a local Hugging Face model folder")
    p.add_argument("--dataset", required=True, help="a tkd dataset folder (manifests/*.jsonl, audio)")
    p.add_argument("--out", required=True)
    p.add_argument("--feature-extractor", action="store_true", help="run the model's feature extractor on the audio first")
    p.add_argument("--head", choices=("first", "mean"),
                   help="the row the classification head reads (default: the config's tkd_pooling, else mean)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    config = AutoConfig.from_pretrained(args.model)
    model = AutoModelForAudioClassification.from_pretrained(args.model, attn_implementation="eager").float().eval()
    extractor = AutoFeatureExtractor.from_pretrained(args.model) if args.feature_extractor else None
    info = {"labels": [config.id2label[i] for i in range(len(config.id2label))],
            "rollout_row": args.head or ("first" if getattr(config, "tkd_pooling", "mean") == "first" else "mean")}
    grid = frame_grid(config)
    if grid:
        info["frame_hop"], info["frame_centre_offset"] = grid
    with open(os.path.join(args.out, "import.json"), "w") as f:
        json.dump(info, f, indent=2, sort_keys=True)
    records = []
    for split in ("training", "validation", "testing"):
        with open(os.path.join(args.dataset, "manifests", f"{split}.jsonl")) as f:
            records += [json.loads(line) for line in f if line.strip()]
    done = 0
    for r in records:
        path = os.path.join(args.out, f"{r['id']}.safetensors")
        if os.path.exists(path):
            continue
        audio, rate = soundfile.read(os.path.join(args.dataset, r["audio"]), dtype="float32")
        if rate != 16000:
            sys.exit(f"{r['audio']}: {rate} Hz; expected 16000")
        with torch.no_grad():
            if extractor is not None:
                inputs = extractor(audio, sampling_rate=rate, return_tensors="pt")
                out = model(**inputs, output_attentions=True)
            else:
                out = model(torch.from_numpy(audio)[None], output_attentions=True)
        tensors = {f"layer.{i}": a[0].float().numpy() for i, a in enumerate(out.attentions)}
        if getattr(out, "logits", None) is not None:
            tensors["logits"] = out.logits[0].float().numpy()
        tmp = path + ".partial"
        save_file(tensors, tmp)
        os.replace(tmp, path)
        done += 1
    print(f"{args.out}: {done} exported, {len(records) - done} already there", file=sys.stderr)


if __name__ == "__main__":
    main()
