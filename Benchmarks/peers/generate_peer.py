#!/usr/bin/env python3
"""Peer implementation of `tkd generate` in plain Python (numpy + soundfile), for throughput comparison.

Generates one variant of a Noisy Speech Commands recipe the way a researcher would write it: for each
example read the 1-s keyword clip, find its speech-active span, read a noise window from the split's
region of a `_background_noise_` file (looped with an equal-power crossfade when the region is short),
set the noise gain for the target SNR on the speech span, limit the peak, write 16-bit PCM, hash the
file, and write one JSON-lines manifest per split (keys sorted, records sorted by id).

It does the same work as the Swift tool but uses its own RNG (numpy default_rng seeded per example
from a hash of (seed, variant, split, id)), so its bytes differ from `tkd generate`.

    python generate_peer.py --recipe Recipes/demo.yaml --corpus CORPUS --out DIR --variant 8s [--jobs N]

Layout: DIR/audio/<split>/<id>.wav, DIR/manifests/<split>.jsonl. Prints one JSON line of throughput.
"""
import argparse
import glob
import hashlib
import json
import math
import multiprocessing
import os
import time

import numpy as np
import soundfile as sf
import yaml

SPLITS = ("training", "validation", "testing")
SC12_WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
SILENCE, UNKNOWN = "_silence_", "_unknown_"


def round_half_up(x):
    """Round half away from zero (like Swift's `.rounded()`), not Python's banker's rounding."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def draw(spec, rng):
    """A recipe value: a plain number, {type: uniform, min, max} or {type: constant, value}."""
    if isinstance(spec, (int, float)):
        return float(spec)
    if spec["type"] == "uniform":
        return float(rng.uniform(spec["min"], spec["max"]))
    if spec["type"] == "constant":
        return float(spec["value"])
    raise ValueError(f"unsupported distribution {spec!r}")


def rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


# ---------------------------------------------------------------------------------------------------
# Planning (in the parent process): the corpus, the noise regions and the list of examples.

def scan_corpus(root):
    """All clips `<word>/<speaker>_nohash_<n>.wav` with their split from the list files."""
    lists = {}
    for split, name in (("validation", "validation_list.txt"), ("testing", "testing_list.txt")):
        with open(os.path.join(root, name)) as f:
            lists.update({line.strip(): split for line in f if line.strip()})
    clips = []
    for word in sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("_")):
        for path in sorted(glob.glob(os.path.join(root, word, "*.wav"))):
            rel = f"{word}/{os.path.basename(path)}"
            speaker, _, n = os.path.basename(path)[:-4].partition("_nohash_")
            clips.append({"path": rel, "word": word, "speaker": speaker, "index": int(n),
                          "split": lists.get(rel, "training")})
    return clips


def noise_files(root, recipe, sr):
    """The corpus noise files, each with disjoint [start, end) regions per split, sorted by path."""
    assert recipe["noise"]["sources"] == ["background_noise"], "only the corpus background noise is supported"
    shares = recipe["noise"]["regions"]
    files = []
    for path in sorted(glob.glob(os.path.join(root, "_background_noise_", "*.wav"))):
        info = sf.info(path)
        assert info.samplerate == sr, f"{path}: {info.samplerate} Hz (resampling not supported)"
        n, start, acc, regions = info.frames, 0, 0.0, {}
        for split in SPLITS:
            acc += shares[split]
            end = n if split == "testing" else int(math.floor(acc * n))
            regions[split] = [start, end]
            start = end
        files.append({"source": os.path.relpath(path, root), "path": path, "sha256": sha256_file(path),
                      "num_samples": n, "regions": regions})
    return files


def enumerate_examples(recipe, clips):
    """Keyword clips of every split, then round(share * keywords) `_unknown_` and `_silence_` examples."""
    task = recipe["task"]
    assert task["labels"] == "speech_commands_12", "only the speech_commands_12 task is supported"
    keywords = set(SC12_WORDS)
    labels = [SILENCE, UNKNOWN] + SC12_WORDS
    seed = recipe["seed"]

    def clip_id(c):
        return f"{c['word']}_{c['speaker']}_nohash_{c['index']}"

    def seeded(items, purpose):  # a seeded order that does not depend on the variant
        return sorted(items, key=lambda c: hashlib.sha256(f"{seed}|{purpose}|{c['path']}".encode()).hexdigest())

    out = []
    for split in SPLITS:
        here = [c for c in clips if c["split"] == split]
        kw = [c for c in here if c["word"] in keywords]
        specs = [{"id": clip_id(c), "split": split, "label": c["word"], "clip": c} for c in kw]
        others = [c for c in here if c["word"] not in keywords]  # unknown_words: rest
        n_unknown = round_half_up(task["unknown_share"] * len(kw))
        specs += [{"id": clip_id(c), "split": split, "label": UNKNOWN, "clip": c}
                  for c in seeded(others, f"unknown-{split}")[:n_unknown]]
        n_silence = round_half_up(task["silence_share"] * len(kw))
        specs += [{"id": f"_silence_{split}_{i:05d}", "split": split, "label": SILENCE, "clip": None}
                  for i in range(n_silence)]
        for s in specs:
            s["label_index"] = labels.index(s["label"])
        out += sorted(specs, key=lambda s: s["id"])
    return out


# ---------------------------------------------------------------------------------------------------
# Rendering one example (in a worker).

CTX = {}  # recipe, variant, corpus, out, noise files: set once per process


def init_worker(ctx):
    CTX.update(ctx)


def speech_span(x, frame, threshold_db, margin, floor=1e-6):
    """[lo, hi) from the first to the last 10-ms frame within threshold_db of the loudest, plus margins."""
    n_frames = -(-len(x) // frame)
    padded = np.zeros(n_frames * frame, dtype=np.float64)
    padded[:len(x)] = x
    lengths = np.full(n_frames, frame)
    lengths[-1] = len(x) - (n_frames - 1) * frame
    frame_rms = np.sqrt(np.square(padded).reshape(n_frames, frame).sum(axis=1) / lengths)
    loudest = frame_rms.max()
    if loudest <= floor:
        return None
    active = np.nonzero(frame_rms >= max(loudest * 10 ** (-threshold_db / 20), floor))[0]
    return max(0, active[0] * frame - margin), min(len(x), (active[-1] + 1) * frame + margin)


def draw_noise(files, split, length, fade, rng):
    """Segments covering `length` samples from one file's region (weighted by region length)."""
    sizes = np.array([f["regions"][split][1] - f["regions"][split][0] for f in files])
    f = files[rng.choice(len(files), p=sizes / sizes.sum())]
    lo, hi = f["regions"][split]
    seg = lambda start, count, dest, fin, fout: {  # noqa: E731
        "source": f["source"], "source_sha256": f["sha256"], "source_start_sample": int(start), "num_samples": int(count),
        "dest_start_sample": int(dest), "gain_db": 0.0, "fade_in_samples": fin, "fade_out_samples": fout}
    if hi - lo >= length:
        return f, [seg(lo + rng.integers(0, hi - lo - length + 1), length, 0, 0, 0)]
    # Loop: a first pass from a random start, then whole passes each overlapping the previous by the crossfade.
    start = lo + int(rng.integers(0, hi - lo - 2 * fade))
    out, dest, src, count, fin = [], 0, start, hi - start, 0
    while dest + count < length:
        out.append(seg(src, count, dest, fin, fade))
        dest, src, count, fin = dest + count - fade, lo, hi - lo, fade
    out.append(seg(src, length - dest, dest, fin, 0))
    return f, out


def render_noise(f, segments, length):
    """Sum of the noise segments (unit gain) with equal-power crossfades, float32."""
    noise = np.zeros(length, dtype=np.float32)
    for s in segments:
        x, _ = sf.read(f["path"], start=s["source_start_sample"], stop=s["source_start_sample"] + s["num_samples"],
                       dtype="float32", always_2d=True)
        x = x[:, 0].copy()
        if s["fade_in_samples"]:
            n = s["fade_in_samples"]
            x[:n] *= np.sin(np.pi / 2 * (np.arange(n) + 0.5) / n).astype(np.float32)
        if s["fade_out_samples"]:
            n = s["fade_out_samples"]
            x[-n:] *= np.cos(np.pi / 2 * (np.arange(n) + 0.5) / n).astype(np.float32)
        noise[s["dest_start_sample"]:s["dest_start_sample"] + len(x)] += x
    return noise


def make_example(spec):
    recipe, variant, sr = CTX["recipe"], CTX["variant"], CTX["sr"]
    level, act = recipe["level"], recipe["speech_activity"]
    key = f"{recipe['seed']}|generate|{variant['name']}|{spec['split']}|{spec['id']}"
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:16], "little"))
    length = max(sr, round_half_up(draw(variant["length_seconds"], rng) * sr))

    rec = {"id": spec["id"], "split": spec["split"], "label": spec["label"], "label_index": spec["label_index"],
           "sample_rate": sr, "num_samples": length, "duration_seconds": length / sr,
           "audio": f"audio/{spec['split']}/{spec['id']}.wav", "keyword": None,
           "snr_db": None, "snr_db_achieved": None, "snr_definition": None}
    keyword = np.zeros(length, dtype=np.float32)
    span = None
    if spec["clip"] is not None:
        c = spec["clip"]
        path = os.path.join(CTX["corpus"], c["path"])
        raw, clip_sr = sf.read(path, dtype="float32", always_2d=True)
        assert clip_sr == sr, f"{path}: {clip_sr} Hz"
        clip = np.zeros(sr, dtype=np.float32)
        clip[:min(sr, len(raw))] = raw[:sr, 0]  # pad (or cut) to one second
        active = speech_span(clip, round_half_up(act["frame_seconds"] * sr), act["threshold_db"],
                             round_half_up(act["margin_seconds"] * sr))
        if active is None:
            raise RuntimeError(f"{spec['id']}: silent keyword clip {c['path']}")
        assert recipe["placement"]["onset"] == "uniform"
        onset = int(rng.integers(0, length - sr + 1))
        gain_db = draw(level["keyword_gain_db"], rng)
        keyword[onset:onset + sr] = clip * np.float32(10 ** (gain_db / 20))
        span = (onset + active[0], onset + active[1])
        rec["keyword"] = {
            "source": c["path"], "source_sha256": sha256_file(path), "source_num_samples": len(raw),
            "word": c["word"], "speaker": c["speaker"], "gain_db": gain_db,
            "onset_sample": onset, "offset_sample": onset + sr, "onset_seconds": onset / sr,
            "offset_seconds": (onset + sr) / sr, "speech_onset_sample": int(span[0]),
            "speech_offset_sample": int(span[1]), "speech_onset_seconds": span[0] / sr,
            "speech_offset_seconds": span[1] / sr}

    fade = round_half_up(recipe["noise"]["crossfade_seconds"] * sr)
    f, segments = draw_noise(CTX["noise"], spec["split"], length, fade, rng)
    noise = render_noise(f, segments, length)

    # Noise gain: from the target SNR on the speech-active span, or the silence gain.
    if span is not None:
        assert level["snr_definition"] == "speech_active"
        snr = draw(level["snr_db"], rng)
        k, n = rms(keyword[span[0]:span[1]]), rms(noise[span[0]:span[1]])
        if n <= 1e-9:
            raise RuntimeError(f"{spec['id']}: silent noise in {f['source']}")
        noise_gain_db = 20 * math.log10(k / n) - snr
        rec.update(snr_db=snr, snr_definition="speech_active")
    else:
        noise_gain_db = draw(level["silence_gain_db"], rng)
    for s in segments:
        s["gain_db"] = noise_gain_db
    noise *= np.float32(10 ** (noise_gain_db / 20))
    rec["noise"] = segments

    # Mix, limit the peak, quantise to 16 bits (x * 32768, half-to-even, saturated), write and hash.
    mix = keyword + noise
    peak = float(np.max(np.abs(mix)))
    scale = level["max_peak"] / peak if peak > level["max_peak"] else 1.0
    rec["scale"] = scale
    if span is not None:
        rec["snr_db_achieved"] = 20 * math.log10(rms(keyword[span[0]:span[1]]) / rms(noise[span[0]:span[1]]))
    mix *= np.float32(scale)
    pcm = np.clip(np.rint(mix.astype(np.float64) * 32768), -32768, 32767).astype(np.int16)
    out_path = os.path.join(CTX["out"], rec["audio"])
    sf.write(out_path, pcm, sr, subtype="PCM_16")
    rec["audio_sha256"] = sha256_file(out_path)
    return rec


# ---------------------------------------------------------------------------------------------------

def main():
    t0 = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True, help="the dataset folder of the variant")
    ap.add_argument("--variant", required=True)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()

    with open(args.recipe) as f:
        recipe = yaml.safe_load(f)
    assert recipe["corpus"]["splits"] == "list-files" and recipe["output"]["format"] == "wav-pcm16"
    variant = next(v for v in recipe["variants"] if v["name"] == args.variant)
    sr = recipe["corpus"]["sample_rate"]

    specs = enumerate_examples(recipe, scan_corpus(args.corpus))
    ctx = {"recipe": recipe, "variant": variant, "sr": sr, "corpus": args.corpus, "out": args.out,
           "noise": noise_files(args.corpus, recipe, sr)}
    for split in SPLITS:
        os.makedirs(os.path.join(args.out, "audio", split), exist_ok=True)
    os.makedirs(os.path.join(args.out, "manifests"), exist_ok=True)

    if args.jobs > 1:
        with multiprocessing.Pool(args.jobs, initializer=init_worker, initargs=(ctx,)) as pool:
            records = list(pool.imap_unordered(make_example, specs, chunksize=4))
    else:
        init_worker(ctx)
        records = [make_example(s) for s in specs]

    for split in SPLITS:
        lines = [json.dumps(r, sort_keys=True) for r in sorted(records, key=lambda r: r["id"]) if r["split"] == split]
        with open(os.path.join(args.out, "manifests", f"{split}.jsonl"), "w") as f:
            f.write("".join(line + "\n" for line in lines))

    wall = time.perf_counter() - t0
    audio = sum(r["num_samples"] for r in records) / sr
    print(json.dumps({"examples": len(records), "audio_seconds": audio, "wall_seconds": round(wall, 3),
                      "examples_per_s": round(len(records) / wall, 1), "audio_seconds_per_s": round(audio / wall, 1)}))


if __name__ == "__main__":
    main()
