#!/usr/bin/env python3
"""The ONNX Runtime side of Benchmarks/streaming.sh (issue 25, point 3): what one detector hop costs a device that
slides the window graph against one that runs the streaming graph, one thread, batch 1, in the same process.

A detector hop of H ms (deploy.json's `detector.hop_ms`, 100 ms by default) is one window-graph run over the
last window, or H / hop_ms calls of the streaming graph (each one `streaming.hop_samples` of audio, the states
carried). Both are timed on the same random audio (the time does not depend on it), alternating, W warm-up and R
timed hops each. Prints one JSON object: median and 10th/90th percentiles in milliseconds per detector hop for
each, and their ratio.

    .venv-reference/bin/python Benchmarks/peers/streaming_peer.py --window DIR --streaming DIR [--repeat 200]
"""
import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort


def session(folder):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    manifest = json.load(open(os.path.join(folder, "deploy.json")))
    return manifest, ort.InferenceSession(os.path.join(folder, "model.onnx"), options,
                                          providers=["CPUExecutionProvider"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--window", required=True, help="tkd export --graph window folder")
    p.add_argument("--streaming", required=True, help="tkd export --graph streaming folder, same checkpoint")
    p.add_argument("--repeat", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    a = p.parse_args()
    wm, ws = session(a.window)
    sm, ss = session(a.streaming)
    st = sm.get("streaming")
    if not st or wm.get("streaming"):
        raise SystemExit("--window needs a window export and --streaming a streaming export")
    if wm["checkpoint"]["sha256"] != sm["checkpoint"]["sha256"]:
        raise SystemExit("the two exports come from different checkpoints")
    hop = st["hop_samples"]
    calls = wm["detector"]["hop_ms"] * sm["sample_rate"] // 1000 // hop
    rng = np.random.default_rng(0)
    window = (rng.standard_normal((1, wm["window"]["samples"])) * 0.1).astype(np.float32)
    chunks = [(rng.standard_normal((1, hop)) * 0.1).astype(np.float32) for _ in range(calls)]
    inputs = {i.name: i for i in ss.get_inputs()}
    states = {s["name"]: np.zeros([1] + s["shape"], dtype=np.float32) for s in st["states"]}
    state_out = [s["output"] for s in st["states"]]
    names = [s["name"] for s in st["states"]]
    for n in names:
        if n not in inputs:
            raise SystemExit(f"{a.streaming}/deploy.json: state {n} is not an input of model.onnx")

    def slide():
        ws.run(["probabilities"], {"audio": window})

    def stream():
        for c in chunks:
            out = ss.run(["probabilities"] + state_out, {"audio": c, **states})
            for n, v in zip(names, out[1:]):
                states[n] = v

    times = {"window": [], "streaming": []}
    for i in range(a.warmup + a.repeat):
        for name, run in (("window", slide), ("streaming", stream)):
            t0 = time.perf_counter()
            run()
            t1 = time.perf_counter()
            if i >= a.warmup:
                times[name].append((t1 - t0) * 1000)

    def pick(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]

    row = {"tool": "onnxruntime " + ort.__version__, "model": wm["checkpoint"]["student"],
           "window_seconds": wm["window"]["seconds"], "detector_hop_ms": wm["detector"]["hop_ms"],
           "streaming_calls_per_hop": calls, "repeat": a.repeat}
    for name, v in times.items():
        row[f"{name}_ms_per_hop"] = pick(v, 0.5)
        row[f"{name}_ms_p10"] = pick(v, 0.1)
        row[f"{name}_ms_p90"] = pick(v, 0.9)
    row["window_over_streaming"] = row["window_ms_per_hop"] / row["streaming_ms_per_hop"]
    print(json.dumps(row))


if __name__ == "__main__":
    main()
