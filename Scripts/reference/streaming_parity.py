#!/usr/bin/env python3
"""Writes Tests/DeployTests/Fixtures/onnx/<student>-streaming.safetensors: tkd's streaming graphs (`tkd export
--graph streaming`) run in ONNX Runtime, call by call, against the window graph.

    swift build -c release --product tkd
    .venv-reference/bin/python Scripts/reference/streaming_parity.py [--tkd .build/release/tkd]

For lstm-p and crnn, the checkpoint of Scripts/reference/onnx_parity.py (`tkd model init <student> --seconds 1`,
batch-norm tensors overwritten, seed 0) is exported three times: the window graph (`--input audio`) and the
streaming graph with `--input audio` and with `--input features`. In ONNX Runtime (one thread):

  * reset1: every state zeros (deploy.json `streaming.states`), then the probe's two 1-s examples (onnx_parity.py's
    integer probe) fed one hop (320 samples) at a time for `streaming.window_steps` calls; the last call's
    logits and probabilities are stored (`reset1.audio.*`), with the window graph's on the same examples
    (`window.*`). The features graph reads the frames of `tkd features extract` on the probe, one per call
    (`reset1.features.*`).
  * reset0: the 4-s recording of the probe's examples 0, 1, 0, 1 in a row, fed hop by hop with the states carried
    over from one call to the next (from zeros at the start): every call's probabilities (`reset0.audio`,
    [calls, labels]).

The metadata holds each graph's `graph_sha256` and the onnx / onnxruntime / numpy versions: the Swift test
(Tests/DeployTests/StreamingExportTests.swift) rebuilds the checkpoint, exports again, checks the hashes, and
compares tkd's runner with these outputs and both with the window graph. Tests never run Python.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_parity as common  # noqa: E402

STUDENTS = ["lstm-p", "crnn"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tkd", default=os.path.join(common.REPO, ".build", "release", "tkd"))
    args = parser.parse_args()
    import onnx
    import onnxruntime as ort
    import soundfile as sf
    from safetensors import safe_open
    from safetensors.numpy import save_file

    x = common.probe()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as tmp:
        wavs = []
        for e in range(2):
            path = os.path.join(tmp, f"probe-{e}.wav")
            sf.write(path, (x[e] * 32768).astype(np.int16), 16000, subtype="PCM_16")
            wavs.append(path)
        for student in STUDENTS:
            ck = os.path.join(tmp, f"{student}.safetensors")
            common.run([args.tkd, "model", "init", student, "--seconds", "1", "--out", ck])
            with safe_open(ck, "np") as f:
                meta = f.metadata()
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            for name, t in tensors.items():
                if name.rsplit(".", 1)[-1] in ("gamma", "beta", "moving_mean", "moving_variance"):
                    tensors[name] = common.batch_norm_values(name, t.size).reshape(t.shape)
            description = json.loads(meta["tkd_checkpoint"])
            description["kd_lambda"] = 0.25
            meta["tkd_checkpoint"] = json.dumps(description, sort_keys=True, separators=(",", ":"))
            save_file(tensors, ck, metadata=meta)
            folders = {k: os.path.join(tmp, f"{student}-{k}") for k in ("window", "audio", "features")}
            common.run([args.tkd, "export", "--checkpoint", ck, "--out", folders["window"]])
            common.run([args.tkd, "export", "--checkpoint", ck, "--out", folders["audio"], "--graph", "streaming"])
            common.run([args.tkd, "export", "--checkpoint", ck, "--out", folders["features"], "--graph", "streaming",
                        "--input", "features"])
            fixture, hashes, sessions, manifests = {}, {}, {}, {}
            for kind, folder in folders.items():
                manifest = json.load(open(os.path.join(folder, "deploy.json")))
                manifests[kind] = manifest
                hashes[f"{kind}_graph_sha256"] = manifest["model"]["graph_sha256"]
                model = onnx.load(os.path.join(folder, "model.onnx"))
                onnx.checker.check_model(model, full_check=True)
                sessions[kind] = ort.InferenceSession(model.SerializeToString(), options,
                                                      providers=["CPUExecutionProvider"])
            logits, probabilities = sessions["window"].run(["logits", "probabilities"], {"audio": x})
            fixture["window.logits"], fixture["window.probabilities"] = logits, probabilities

            def stream(kind, inputs, batch):
                """Feeds `inputs` (a list of per-call arrays) from zero states; every call's outputs."""
                st = manifests[kind]["streaming"]
                state = {s["name"]: np.zeros([batch] + s["shape"], dtype=np.float32) for s in st["states"]}
                names = ["logits", "probabilities"] + [s["output"] for s in st["states"]]
                out = []
                for value in inputs:
                    result = sessions[kind].run(names, {manifests[kind]["model"]["input"]: value, **state})
                    for s, v in zip(st["states"], result[2:]):
                        state[s["name"]] = v
                    out.append((result[0], result[1]))
                return out

            hop = manifests["audio"]["streaming"]["hop_samples"]
            steps = manifests["audio"]["streaming"]["window_steps"]
            calls = stream("audio", [x[:, k * hop:(k + 1) * hop] for k in range(steps)], 2)
            fixture["reset1.audio.logits"], fixture["reset1.audio.probabilities"] = calls[-1]
            fx = os.path.join(tmp, f"{student}-fx")
            common.run([args.tkd, "features", "extract", "--preset", "kws-streaming-mfcc20", *wavs, "--out", fx])
            feats = np.stack([np.load(os.path.join(fx, f"probe-{e}.npy")) for e in range(2)]).astype(np.float32)
            calls = stream("features", [feats[:, t, :] for t in range(feats.shape[1])], 2)
            fixture["reset1.features.logits"], fixture["reset1.features.probabilities"] = calls[-1]
            recording = np.concatenate([x[0], x[1], x[0], x[1]])
            calls = stream("audio", [recording[None, k * hop:(k + 1) * hop] for k in range(len(recording) // hop)], 1)
            fixture["reset0.audio"] = np.concatenate([p for _, p in calls])
            fixture = {k: np.ascontiguousarray(v.astype(np.float32)) for k, v in sorted(fixture.items())}
            meta_out = {
                "generator": "Scripts/reference/streaming_parity.py", "student": student, "onnx": onnx.__version__,
                "onnxruntime": ort.__version__, "numpy": np.__version__, **hashes,
            }
            path = os.path.join(common.OUT, f"{student}-streaming.safetensors")
            save_file(fixture, path, metadata=meta_out)
            common.sorted_metadata(path)
            gap = np.abs(fixture["reset1.audio.probabilities"] - fixture["window.probabilities"]).max()
            print(f"{student}: reset1 vs window max |dp| {gap:.2e}; "
                  f"{', '.join(f'{k} {list(v.shape)}' for k, v in fixture.items())} -> {path}")


if __name__ == "__main__":
    main()
