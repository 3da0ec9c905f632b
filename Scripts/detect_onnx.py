#!/usr/bin/env python3
"""Keyword detection with a model exported by `tkd export`, in ONNX Runtime: the same windowing, smoothing and
cooldown as `tkd detect`, and the snippet to start a device integration from.

    python3 Scripts/detect_onnx.py MODEL_DIR recording.wav [more.wav ...] [--threshold T] [--hop-ms H]
        [--smoothing N] [--cooldown-ms C] [--labels yes,no] [--scores F] [--reset-every N]

Needs numpy, onnxruntime and soundfile (pip install numpy onnxruntime soundfile). Prints one JSON line per
detection, like `tkd detect --json`: {"file", "label", "peak_seconds" (when the model localises), "score",
"time_seconds"}.

The detector (deploy.json's `detector` block gives the defaults):
  * windows of `window.samples` samples end every `hop_ms`, the first at one window's length; a recording
    shorter than one window is zero-padded at its end to one window;
  * each label's probability is averaged over the last `smoothing_windows` windows (fewer at the start);
  * a label fires when that average is at least `threshold` and its previous detection ended at least
    `cooldown_ms` earlier; only `detector.labels` may fire;
  * `peak_seconds` is the window's start plus the centre of the step where the `attention` output peaks;
  * a streaming export (`tkd export --graph streaming`) is fed one hop of audio per call, its states carried over
    the recording (reset0), and its scores are read where the windows above would end; `--reset-every N` runs
    two copies of the states restarted every N windows, half a period apart, as `tkd detect --reset-every`.

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


def slid(manifest, session, samples, hop, batch):
    """(start, probabilities, attention or None) of every window of a window graph, in batches."""
    window = manifest["window"]["samples"]
    loc = manifest.get("localisation")
    outputs = ["probabilities"] + ([loc["output"]] if loc else [])
    pending = []

    def flush():
        result = session.run(outputs, {"audio": np.stack([w for _, w in pending])})
        for i, (start, _) in enumerate(pending):
            yield start, result[0][i], (result[1][i] if loc else None)
        pending.clear()

    for start, w in windows(samples, window, hop):
        pending.append((start, w))
        if len(pending) == batch:
            yield from flush()
    if pending:
        yield from flush()


def streamed(manifest, session, samples, hop, reset_every):
    """(start, probabilities, None) where each sliding window would end, from a streaming graph fed one hop of
    audio per call with its states carried (reset0), or with --reset-every N: two copies of the states, one
    restarted every N windows and the other half a period later, each score read from the youngest copy that has
    heard at least a window (as tkd detect)."""
    st, window = manifest["streaming"], manifest["window"]["samples"]
    step = st["hop_samples"]
    if hop % step:
        sys.exit(f"--hop-ms: {hop} samples is not a whole number of the graph's {step}-sample calls")
    copies = 1 if reset_every == 0 else 2
    period = reset_every * window
    if copies == 2 and (period % 2 or (period // 2) % step):
        sys.exit(f"--reset-every {reset_every}: half its period is not a whole number of {step}-sample calls")
    names = [x["name"] for x in st["states"]]
    outputs = ["probabilities"] + [x["output"] for x in st["states"]]
    states = {x["name"]: np.zeros([copies] + x["shape"], dtype=np.float32) for x in st["states"]}
    started = [0] * copies
    if len(samples) < window:
        samples = np.concatenate([samples, np.zeros(window - len(samples), dtype=np.float32)])
    for at in range(0, len(samples) - step + 1, step):
        if copies == 2 and at > 0:
            for c in range(2):
                offset = c * period // 2
                if at >= offset and (at - offset) % period == 0:
                    for n in names:
                        states[n][c] = 0
                    started[c] = at
        out = session.run(outputs, {"audio": np.tile(samples[at:at + step], (copies, 1)), **states})
        for n, v in zip(names, out[1:]):
            states[n] = v
        end = at + step
        if end >= window and (end - window) % hop == 0:
            ready = [c for c in range(copies) if end - started[c] >= window]
            c = min(ready, key=lambda c: end - started[c]) if ready else 0
            yield end - window, out[0][c], None


def detect(manifest, session, samples, name, settings, scores_out=None, batch=16, reset_every=0):
    rate, window = manifest["sample_rate"], manifest["window"]["samples"]
    if manifest["model"]["input"] != "audio":
        sys.exit("this script runs audio-input exports (tkd export without --input features)")
    if reset_every and not manifest.get("streaming"):
        sys.exit("--reset-every applies to streaming exports (tkd export --graph streaming)")
    labels = manifest["labels"]
    hop = settings["hop_ms"] * rate // 1000
    cooldown = settings["cooldown_ms"] * rate // 1000
    watch = [labels.index(label) for label in settings["labels"]]
    loc = manifest.get("localisation")
    history, last_fire, detections = [], {}, []
    scored = (streamed(manifest, session, samples, hop, reset_every) if manifest.get("streaming")
              else slid(manifest, session, samples, hop, batch))
    for start, p, attention in scored:
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
        if loc and attention is not None:
            peak = start / rate + loc["step_centres_seconds"][int(np.argmax(attention))]
        for c in watch:
            if float(smoothed[c]) >= settings["threshold"]:
                if c in last_fire and end - last_fire[c] < cooldown:
                    continue
                last_fire[c] = end
                d = {"file": name, "label": labels[c], "score": float(smoothed[c]), "time_seconds": end / rate}
                if peak is not None:
                    d["peak_seconds"] = peak
                detections.append(d)
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
    parser.add_argument("--reset-every", type=int, default=0)
    args = parser.parse_args()
    if args.reset_every != 0 and args.reset_every < 2:
        sys.exit(f"--reset-every must be 0 (never) or at least 2 windows; got {args.reset_every}")
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
        for d in detect(manifest, session, np.ascontiguousarray(mono), path, settings, scores,
                        reset_every=args.reset_every):
            print(json.dumps(d, sort_keys=True))
    if scores:
        scores.close()


if __name__ == "__main__":
    main()
