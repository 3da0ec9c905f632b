#!/usr/bin/env python3
"""Writes the ONNX parity fixtures of Tests/DeployTests/Fixtures/onnx/ by running tkd's exports in ONNX Runtime.

    swift build -c release --product tkd
    .venv-reference/bin/python Scripts/reference/onnx_parity.py [--tkd .build/release/tkd]

Per student (lstm-p, tc-resnet, crnn, att-rnn, mhatt-rnn):

  1. `tkd model init <student> --seconds 1` (seed 0: Keras's initialisers, 12 labels, the student's preset);
  2. every batch-norm tensor is then overwritten with deterministic values (an initialised model's statistics
     are 0 and 1, which would leave the folding untested), and `kd_lambda` in the checkpoint's description is
     set to 0.25 so that its KD head may be exported:
         key(name) = FNV-1a 32-bit of the tensor name; u(name, i) = ((i * 2654435761 + key * 97531 + 12345)
         mod 2^32) / 2^32 in integers; gamma = 0.5 + u, beta = 0.2 (2u - 1), moving_mean = 0.3 (2u - 1),
         moving_variance = 0.5 + u (float64, then float32)
     (Tests/DeployTests/ONNXParityTests.swift builds the same checkpoint);
  3. `tkd export` twice: the audio graph with `--with-localisation`, and `--input features`;
  4. both models must pass `onnx.checker.check_model(full_check=True)`; they run in ONNX Runtime (one thread) on a
     probe of two 1-s examples defined in integers (below, rebuilt by the Swift test), the audio graph with its
     `features` value added as an output; the features graph reads `tkd features extract` of the probe.

Probe example e (0, 1), sample n (0 ... 15999), all integer arithmetic:
    state_0 = e + 1;  state_{n+1} = (1103515245 * state_n + 12345) mod 2^31   (the sample uses state_{n+1})
    noise = ((state >> 8) mod 65536) - 32768
    amplitude = 9000 if 3000 + 2000 e <= n < 11000 + 2000 e else 700
    square = 2500 if (n // (16 + 8 e)) is even else -2500, inside the loud part only, else 0
    value = clamp((noise * amplitude) // 32768 + square, -32768, 32767);  x = value / 32768 (exact in float32)

Also `detect-tc-resnet.json`: Scripts/detect_onnx.py's detections with the tc-resnet audio export on a 4-s
recording (the probe's examples 0, 1, 0, 1 in a row): hop 100 ms, smoothing 3, cooldown 1000 ms, on the label whose
smoothed probability varies most, at the threshold halfway through its range. The Swift test runs tkd's detector
on the same recording and must find the same detections.

And `python-written.onnx` with `python-written.json`: a small graph written by `onnx.helper` itself (tensors in
float_data / int32_data rather than raw bytes; Conv, Relu, Add, MatMul, QuantizeLinear / DequantizeLinear per
tensor and per axis, Transpose, ReduceMean, Softmax), its input and ONNX Runtime's output: the Swift reader and
runner must read and run a file tkd did not write.

`tc-resnet-<preset>.safetensors`: the same for TC-ResNet on each other front end (logmel40, torchaudio-melspec,
librosa-melspec, kaldi-fbank; `tkd model init --preset`), the audio graph only.

Each fixture `<student>.safetensors` holds (float32): audio.features [2, T, F], audio.logits [2, 12],
audio.probabilities, audio.attention [2, T'], features.input [2, T, F] (what the features graph read),
features.logits, features.probabilities; metadata: the two graphs' `graph_sha256` (deploy.json), the
onnx / onnxruntime / numpy versions. Tests never run Python: they rebuild the checkpoint, export it, check the
graph hashes (a changed export fails until this script is rerun) and compare tkd's own inference (and tkd's
runner) with these outputs.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "Tests", "DeployTests", "Fixtures", "onnx")
STUDENTS = ["lstm-p", "tc-resnet", "crnn", "att-rnn", "mhatt-rnn"]
PRESETS = {"tc-resnet": "kws-streaming-mfcc40", "mhatt-rnn": "kws-streaming-mfcc20-8000hz"}
# The other front ends, each through a TC-ResNet (their 40 bands are its 40 input channels): audio graph only.
OTHER_PRESETS = ["logmel40", "torchaudio-melspec", "librosa-melspec", "kaldi-fbank"]


def fnv1a(text):
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) % 2**32
    return h


def u(name, count):
    key = fnv1a(name)
    i = np.arange(count, dtype=np.uint64)
    return ((i * np.uint64(2654435761) + np.uint64(key * 97531 + 12345)) % np.uint64(2**32)).astype(np.float64) / 2**32


def batch_norm_values(name, count):
    v = u(name, count)
    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("gamma", "moving_variance"):
        return (0.5 + v).astype(np.float32)
    if leaf == "beta":
        return (0.2 * (2 * v - 1)).astype(np.float32)
    return (0.3 * (2 * v - 1)).astype(np.float32)  # moving_mean


def probe():
    out = np.zeros((2, 16000), dtype=np.float32)
    for e in range(2):
        state = e + 1
        for n in range(16000):
            state = (1103515245 * state + 12345) % 2**31
            noise = ((state >> 8) % 65536) - 32768
            loud = 3000 + 2000 * e <= n < 11000 + 2000 * e
            amplitude = 9000 if loud else 700
            square = (2500 if (n // (16 + 8 * e)) % 2 == 0 else -2500) if loud else 0
            value = max(-32768, min(32767, (noise * amplitude) // 32768 + square))
            out[e, n] = np.float32(value) / np.float32(32768)
    return out


def write_detect_fixture(folder, x, graph_sha256):
    sys.path.insert(0, os.path.join(REPO, "Scripts"))
    import detect_onnx

    manifest, session = detect_onnx.load(folder)
    recording = np.concatenate([x[0], x[1], x[0], x[1]])
    settings = {"hop_ms": 100, "smoothing_windows": 3, "cooldown_ms": 1000, "threshold": 0.0,
                "labels": manifest["labels"]}

    class Lines:
        def __init__(self):
            self.rows = []

        def write(self, text):
            self.rows.append(json.loads(text))

    lines = Lines()
    detect_onnx.detect(manifest, session, recording, "probe-4s.wav", settings, lines)
    smoothed = np.array([r["smoothed"] for r in lines.rows])
    label = int(np.argmax(smoothed.max(axis=0) - smoothed.min(axis=0)))
    threshold = float((smoothed[:, label].max() + smoothed[:, label].min()) / 2)
    settings.update(threshold=threshold, labels=[manifest["labels"][label]])
    detections = detect_onnx.detect(manifest, session, recording, "probe-4s.wav", settings)
    path = os.path.join(OUT, "detect-tc-resnet.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": "Scripts/reference/onnx_parity.py", "graph_sha256": graph_sha256,
                   "settings": settings, "detections": detections}, f, indent=1, sort_keys=True)
    print(f"detect: {len(detections)} detections of {settings['labels'][0]} at threshold {threshold:.4f} -> {path}")


def write_python_model():
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    rng = np.random.default_rng(7)
    w = rng.standard_normal((4, 2, 3)).astype(np.float32)
    m = rng.standard_normal((4, 5)).astype(np.float32)
    wq = rng.integers(-127, 128, size=(5, 3)).astype(np.int8)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1], strides=[2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["t", "m"], ["mm"]),
        helper.make_node("QuantizeLinear", ["mm", "s", "z"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["dq"]),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=1),
        helper.make_node("MatMul", ["dq", "wd"], ["mw"]),
        helper.make_node("Add", ["mw", "bias"], ["a"]),
        helper.make_node("ReduceMean", ["a"], ["mean"], axes=[1], keepdims=0),
        helper.make_node("Softmax", ["mean"], ["y"], axis=-1),
    ]
    inits = [
        helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten().tolist()),
        helper.make_tensor("b", TensorProto.FLOAT, [4], [0.1, -0.2, 0.3, 0.0]),
        helper.make_tensor("m", TensorProto.FLOAT, m.shape, m.flatten().tolist()),
        helper.make_tensor("s", TensorProto.FLOAT, [], [0.05]),
        helper.make_tensor("z", TensorProto.UINT8, [], [128]),
        helper.make_tensor("wq", TensorProto.INT8, wq.shape, wq.flatten().tolist()),
        helper.make_tensor("ws", TensorProto.FLOAT, [3], [0.01, 0.02, 0.015]),
        helper.make_tensor("wz", TensorProto.INT8, [3], [0, 0, 0]),
        helper.make_tensor("bias", TensorProto.FLOAT, [3], [0.5, -0.5, 0.25]),
    ]
    graph = helper.make_graph(
        nodes, "python_written", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="onnx.helper")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    x = rng.standard_normal((2, 2, 9)).astype(np.float32)
    y = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    onnx.save(model, os.path.join(OUT, "python-written.onnx"))
    with open(os.path.join(OUT, "python-written.json"), "w", encoding="utf-8") as f:
        json.dump({"input_shape": list(x.shape), "input": x.flatten().tolist(), "output_shape": list(y.shape),
                   "output": y.flatten().tolist(), "onnx": onnx.__version__, "onnxruntime": ort.__version__}, f)
    print(f"python-written.onnx: {len(model.graph.node)} nodes, output {list(y.shape)}")


def sorted_metadata(path):
    """safetensors writes its metadata in hash-map order, different from run to run: rewrite the header in place
    with sorted keys (the same JSON, padded to the same length) so that a rerun gives the same bytes."""
    with open(path, "r+b") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps({"__metadata__": header.pop("__metadata__"), **header}, separators=(",", ":")).encode()
        assert len(text) <= size
        f.seek(8)
        f.write(text + b" " * (size - len(text)))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}\n{r.stderr}")
    return r.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tkd", default=os.path.join(REPO, ".build", "release", "tkd"))
    args = parser.parse_args()
    import onnx
    import onnxruntime as ort
    import soundfile as sf
    from safetensors import safe_open
    from safetensors.numpy import save_file

    os.makedirs(OUT, exist_ok=True)
    write_python_model()
    x = probe()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as tmp:
        wavs = []
        for e in range(2):
            path = os.path.join(tmp, f"probe-{e}.wav")
            sf.write(path, (x[e] * 32768).astype(np.int16), 16000, subtype="PCM_16")
            back, _ = sf.read(path, dtype="float32")
            assert np.array_equal(back, x[e]), "the probe does not survive PCM16"
            wavs.append(path)
        cases = [(s, None) for s in STUDENTS] + [("tc-resnet", p) for p in OTHER_PRESETS]
        for student, preset_override in cases:
            tag = student if preset_override is None else f"{student}-{preset_override}"
            ck = os.path.join(tmp, f"{tag}.safetensors")
            run([args.tkd, "model", "init", student, "--seconds", "1", "--out", ck]
                + ([] if preset_override is None else ["--preset", preset_override]))
            with safe_open(ck, "np") as f:
                meta = f.metadata()
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            for name, t in tensors.items():
                if name.rsplit(".", 1)[-1] in ("gamma", "beta", "moving_mean", "moving_variance"):
                    tensors[name] = batch_norm_values(name, t.size).reshape(t.shape)
            description = json.loads(meta["tkd_checkpoint"])
            description["kd_lambda"] = 0.25
            meta["tkd_checkpoint"] = json.dumps(description, sort_keys=True, separators=(",", ":"))
            save_file(tensors, ck, metadata=meta)
            audio_dir, features_dir = os.path.join(tmp, f"{tag}-audio"), os.path.join(tmp, f"{tag}-features")
            run([args.tkd, "export", "--checkpoint", ck, "--out", audio_dir, "--with-localisation"])
            kinds = [("audio", audio_dir)]
            if preset_override is None:
                run([args.tkd, "export", "--checkpoint", ck, "--out", features_dir, "--input", "features"])
                kinds.append(("features", features_dir))
            fixture, hashes = {}, {}
            for kind, folder in kinds:
                manifest = json.load(open(os.path.join(folder, "deploy.json")))
                hashes[f"{kind}_graph_sha256"] = manifest["model"]["graph_sha256"]
                model = onnx.load(os.path.join(folder, "model.onnx"))
                onnx.checker.check_model(model, full_check=True)
                if kind == "audio":
                    model.graph.output.append(onnx.helper.make_tensor_value_info("features", onnx.TensorProto.FLOAT, None))
                    feed = {"audio": x}
                else:
                    preset = PRESETS.get(student, "kws-streaming-mfcc20")
                    fx = os.path.join(tmp, f"{student}-fx")
                    run([args.tkd, "features", "extract", "--preset", preset, *wavs, "--out", fx])
                    feats = np.stack([np.load(os.path.join(fx, f"probe-{e}.npy")) for e in range(2)]).astype(np.float32)
                    fixture["features.input"] = feats
                    feed = {"features": feats}
                session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
                names = [o.name for o in session.get_outputs()]
                for name, value in zip(names, session.run(names, feed)):
                    fixture[f"{kind}.{name}"] = np.ascontiguousarray(value.astype(np.float32))
            meta_out = {
                "generator": "Scripts/reference/onnx_parity.py", "student": student, "onnx": onnx.__version__,
                "onnxruntime": ort.__version__, "numpy": np.__version__, **hashes,
            }
            path = os.path.join(OUT, f"{tag}.safetensors")
            save_file(dict(sorted(fixture.items())), path, metadata=meta_out)
            sorted_metadata(path)
            if tag == "tc-resnet":
                write_detect_fixture(audio_dir, x, hashes["audio_graph_sha256"])
            print(f"{tag}: {', '.join(f'{k} {list(v.shape)}' for k, v in sorted(fixture.items()))} -> {path}")


if __name__ == "__main__":
    main()
