#!/usr/bin/env python3
"""The ONNX Runtime side of Benchmarks/infer.sh: latency per window of an exported model (tkd export), one thread,
the peer of `tkd bench infer` (same batch, warm-up and timed runs; random audio, since the time does not depend on
it). Prints one JSON object: median and 10th/90th percentiles in milliseconds per window, real-time factor.

    .venv-reference/bin/python Benchmarks/peers/infer_peer.py --model DIR [--repeat 50] [--warmup 5] [--batch 1]
"""
import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--repeat", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch", type=int, default=1)
    a = p.parse_args()
    manifest = json.load(open(os.path.join(a.model, "deploy.json")))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(os.path.join(a.model, "model.onnx"), options, providers=["CPUExecutionProvider"])
    x = (np.random.default_rng(0).standard_normal((a.batch, manifest["window"]["samples"])) * 0.1).astype(np.float32)
    times = []
    for i in range(a.warmup + a.repeat):
        t0 = time.perf_counter()
        session.run(["probabilities"], {"audio": x})
        t1 = time.perf_counter()
        if i >= a.warmup:
            times.append((t1 - t0) * 1000 / a.batch)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * (len(times) - 1) + 0.5))]
    print(json.dumps({
        "tool": "onnxruntime " + ort.__version__, "model": manifest["checkpoint"]["student"],
        "precision": manifest["model"]["precision"], "window_seconds": manifest["window"]["seconds"],
        "batch": a.batch, "repeat": a.repeat, "ms_per_window": pick(0.5), "ms_p10": pick(0.1), "ms_p90": pick(0.9),
        "real_time_factor": pick(0.5) / 1000 / manifest["window"]["seconds"],
    }))


if __name__ == "__main__":
    main()
