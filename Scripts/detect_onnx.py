#!/usr/bin/env python3
"""Keyword detection with a model exported by `tkd export`, in ONNX Runtime: the same windowing, smoothing and
cooldown as `tkd detect`, and the snippet to start a device integration from.

    python3 Scripts/detect_onnx.py MODEL_DIR recording.wav [more.wav ...] [--threshold T] [--hop-ms H]
        [--smoothing N] [--cooldown-ms C] [--labels yes,no] [--scores F]

Needs numpy, onnxruntime and soundfile (pip install numpy onnxruntime soundfile). Prints one JSON line per
detection, like `tkd detect --json`: {"file", "label", "peak_seconds" (when the model localises), "score",
"time_seconds"}.

The detector (deploy.json's `detector` block gives the defaults):
  * windows of `window.samples` samples end every `hop_ms`, the first at one window's length; a recording
    shorter than one window is zero-padded at its end to one window;
  * each label's probability is averaged over the last `smoothing_windows` windows (fewer at the start);
  * a label fires when that average is at least `threshold` and its previous detection ended at least
    `cooldown_ms` earlier; only `detector.labels` may fire;
  * `peak_seconds` is the window's start plus the centre of the step where the `attention` output peaks.

Audio must be at the model's rate; multichannel audio is averaged to mono (as tkd does). tkd resamples other
rates with libsamplerate; this script refuses them rather than resample differently.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np


def load(folder):
    import onnxruntime as ort

    with open(os.path.join(folder, "deploy.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("format") != "tkd-deploy/1" or manifest["model"]["file"] != "model.onnx":
        sys.exit(f"{folder}/deploy.json: not a tkd-deploy/1 manifest")
    path = os.path.join(folder, "model.onnx")
    with open(path, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != manifest["model"]["sha256"]:
        sys.exit(f"{path}: its SHA-256 is not the one deploy.json records")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return manifest, session


def windows(samples, window, hop):
    """(start, window) pairs: windows ending every hop, or one zero-padded window for a short recording."""
    if len(samples) < window:
        yield 0, np.concatenate([samples, np.zeros(window - len(samples), dtype=np.float32)])
        return
    start = 0
    while start + window <= len(samples):
        yield start, samples[start:start + window]
        start += hop


def detect(manifest, session, samples, name, settings, scores_out=None, batch=16):
    rate, window = manifest["sample_rate"], manifest["window"]["samples"]
    if manifest["model"]["input"] != "audio":
        sys.exit("this script runs audio-input exports (tkd export without --input features)")
    if manifest.get("streaming"):
        sys.exit("this script slides window graphs; a streaming export (tkd export --graph streaming) carries "
                 "its states call by call: run it with tkd detect, or export with --graph window")
    labels = manifest["labels"]
    hop = settings["hop_ms"] * rate // 1000
    cooldown = settings["cooldown_ms"] * rate // 1000
    watch = [labels.index(label) for label in settings["labels"]]
    loc = manifest.get("localisation")
    outputs = ["probabilities"] + ([loc["output"]] if loc else [])
    history, last_fire, detections = [], {}, []
    pending = []

    def flush():
        result = session.run(outputs, {"audio": np.stack([w for _, w in pending])})
        for i, (start, _) in enumerate(pending):
            p = result[0][i]
            history.append(p)
            if len(history) > settings["smoothing_windows"]:
                history.pop(0)
            # The same order of additions as tkd (float32, window by window), then one division.
            smoothed = np.zeros(len(labels), dtype=np.float32)
            for h in history:
                smoothed += h
            smoothed /= np.float32(len(history))
            end = start + window
            if scores_out is not None:
                scores_out.write(json.dumps({"file": name, "time_seconds": end / rate,
                                             "probabilities": [float(v) for v in p],
                                             "smoothed": [float(v) for v in smoothed]}) + "\n")
            peak = None
            if loc:
                j = int(np.argmax(result[1][i]))
                peak = start / rate + loc["step_centres_seconds"][j]
            for c in watch:
                if float(smoothed[c]) >= settings["threshold"]:
                    if c in last_fire and end - last_fire[c] < cooldown:
                        continue
                    last_fire[c] = end
                    d = {"file": name, "label": labels[c], "score": float(smoothed[c]), "time_seconds": end / rate}
                    if peak is not None:
                        d["peak_seconds"] = peak
                    detections.append(d)
        pending.clear()

    for start, w in windows(samples, window, hop):
        pending.append((start, w))
        if len(pending) == batch:
            flush()
    if pending:
        flush()
    return detections


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("audio", nargs="+")
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--hop-ms", type=int)
    parser.add_argument("--smoothing", type=int)
    parser.add_argument("--cooldown-ms", type=int)
    parser.add_argument("--labels")
    parser.add_argument("--scores")
    args = parser.parse_args()
    import soundfile as sf

    manifest, session = load(args.model)
    settings = dict(manifest["detector"])
    for key, value in (("threshold", args.threshold), ("hop_ms", args.hop_ms), ("smoothing_windows", args.smoothing),
                       ("cooldown_ms", args.cooldown_ms)):
        if value is not None:
            settings[key] = value
    if args.labels:
        settings["labels"] = args.labels.split(",")
    scores = open(args.scores, "w", encoding="utf-8") if args.scores else None
    for path in args.audio:
        x, rate = sf.read(path, dtype="float32", always_2d=True)
        if rate != manifest["sample_rate"]:
            sys.exit(f"{path}: {rate} Hz; the model reads {manifest['sample_rate']} Hz (resample it first)")
        mono = x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]
        if len(mono) == 0:
            sys.exit(f"{path}: no samples")
        for d in detect(manifest, session, np.ascontiguousarray(mono), path, settings, scores):
            print(json.dumps(d, sort_keys=True))
    if scores:
        scores.close()


if __name__ == "__main__":
    main()
