#!/usr/bin/env python3
"""Scores one split of a tkd dataset with an exported model in ONNX Runtime: the peer of
`tkd evaluate --model DIR --details F` (same keys), for checking tkd's numbers against ONNX Runtime's.

    .venv-reference/bin/python Scripts/onnx_evaluate.py --model DIR --dataset D [--split testing] [--out F]
        [--threads 1]

Reads DIR/deploy.json and DIR/model.onnx (its SHA-256 must be the one deploy.json records), the split's manifest
(`manifests/<split>.jsonl`, records sorted by id), and for an `audio` model each example's rendered WAV (read with
soundfile as float32, PCM16 / 32768, exactly as tkd reads it); for a `features` model the dataset's feature store
of the model's preset (`features/<preset>/index.json` and its safetensors shards). Prints a JSON summary (examples,
accuracy, and for multi-label data the clip-level macro mAP is left to tkd) and writes with --out:

    {"split", "ids", "labels", "predicted", "probabilities", "accuracy", "onnxruntime"}
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np


def load_model(folder, threads):
    import onnxruntime as ort

    with open(os.path.join(folder, "deploy.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    path = os.path.join(folder, "model.onnx")
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != manifest["model"]["sha256"]:
        sys.exit(f"{path}: SHA-256 {digest[:12]}…; deploy.json records {manifest['model']['sha256'][:12]}…")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return manifest, session


def records(dataset, split):
    with open(os.path.join(dataset, "manifests", f"{split}.jsonl"), encoding="utf-8") as f:
        out = [json.loads(line) for line in f if line.strip()]
    return sorted(out, key=lambda r: r["id"])


def feature_reader(dataset, preset):
    from safetensors.numpy import load_file

    folder = os.path.join(dataset, "features", preset)
    with open(os.path.join(folder, "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    shards = {}

    def read(example_id):
        entry = index["entries"][example_id]
        shard = entry["shard"]
        if shard not in shards:
            shards[shard] = load_file(os.path.join(folder, shard))
        return shards[shard][entry.get("tensor", example_id)].astype(np.float32)

    return read


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--split", default="testing")
    parser.add_argument("--out")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    import onnxruntime as ort
    import soundfile as sf

    manifest, session = load_model(args.model, args.threads)
    recs = records(args.dataset, args.split)
    kind = manifest["model"]["input"]
    read_features = feature_reader(args.dataset, manifest["features"]["preset"]) if kind == "features" else None
    probabilities = []
    for start in range(0, len(recs), args.batch):
        group = recs[start:start + args.batch]
        if kind == "audio":
            batch = []
            for r in group:
                x, rate = sf.read(os.path.join(args.dataset, r["audio"]), dtype="float32", always_2d=False)
                if rate != manifest["sample_rate"] or x.ndim != 1 or len(x) != manifest["window"]["samples"]:
                    sys.exit(f"{r['audio']}: {rate} Hz, shape {x.shape}; the model reads "
                             f"{manifest['window']['samples']} mono samples at {manifest['sample_rate']} Hz")
                batch.append(x)
            feed = {"audio": np.stack(batch)}
        else:
            feed = {"features": np.stack([read_features(r["id"]) for r in group])}
        probabilities.append(session.run(["probabilities"], feed)[0])
    p = np.concatenate(probabilities, axis=0)
    labels = [r["label_index"] for r in recs]
    predicted = [int(i) for i in p.argmax(axis=1)]
    accuracy = float(np.mean([a == b for a, b in zip(labels, predicted)]))
    result = {
        "split": args.split, "ids": [r["id"] for r in recs], "labels": labels, "predicted": predicted,
        "probabilities": [[float(v) for v in row] for row in p], "accuracy": accuracy,
        "onnxruntime": ort.__version__,
    }
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f)
    print(json.dumps({"examples": len(recs), "accuracy": accuracy, "model": args.model,
                      "precision": manifest["model"]["precision"], "onnxruntime": ort.__version__}))


if __name__ == "__main__":
    main()
