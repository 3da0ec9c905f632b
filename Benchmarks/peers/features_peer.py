#!/usr/bin/env python3
"""Front-end throughput of the peer libraries with the settings of tkd's presets (see FrontEndPreset.swift).

    .venv-reference/bin/python Benchmarks/peers/features_peer.py [--clips 1000] [--long-seconds 60] [--repeat 3]

Single thread (torch.set_num_threads(1), OMP/MKL/OpenBLAS threads 1). For each peer and workload (N
one-second clips, one long clip; deterministic noise) prints one JSON line like `tkd bench features`:
audio seconds, wall and CPU (process) seconds of the fastest repetition, audio-s per CPU-second.
"""
import argparse
import json
import os
import time

for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[v] = "1"
import numpy as np  # noqa: E402
import kaldi_native_fbank as knf  # noqa: E402
import librosa  # noqa: E402
import torch  # noqa: E402
import torchaudio  # noqa: E402
import torchaudio.compliance.kaldi as kaldi  # noqa: E402

torch.set_num_threads(1)
RATE = 16000
MEL = torchaudio.transforms.MelSpectrogram(sample_rate=RATE, n_fft=512, win_length=400, hop_length=160, f_min=20,
                                           f_max=8000, n_mels=40, power=2.0, center=True, pad_mode="reflect",
                                           mel_scale="htk", norm=None)
DB = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)


def torchaudio_melspec(x):
    with torch.inference_mode():
        return DB(MEL(torch.from_numpy(x)))


def librosa_melspec(x):
    s = librosa.feature.melspectrogram(y=x, sr=RATE, n_fft=512, win_length=400, hop_length=160, n_mels=40, fmin=20,
                                       fmax=8000, center=True, pad_mode="constant", htk=False, norm="slaney", power=2.0)
    return librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=None)


def torchaudio_kaldi(x):
    with torch.inference_mode():
        return kaldi.fbank(torch.from_numpy(x).unsqueeze(0), num_mel_bins=40, frame_length=25, frame_shift=10,
                           sample_frequency=RATE, low_freq=20, high_freq=0, dither=0.0, window_type="povey",
                           preemphasis_coefficient=0.97, remove_dc_offset=True, snip_edges=True, use_energy=False)


KNF = knf.FbankOptions()
KNF.frame_opts.samp_freq = RATE
KNF.frame_opts.dither = 0.0
KNF.frame_opts.window_type = "povey"
KNF.frame_opts.snip_edges = True
KNF.mel_opts.num_bins = 40
KNF.mel_opts.low_freq = 20
KNF.use_energy = False


def kaldi_native(x):
    f = knf.OnlineFbank(KNF)
    f.accept_waveform(RATE, x)
    f.input_finished()
    return [f.get_frame(i) for i in range(f.num_frames_ready)]


PEERS = {
    "torchaudio": ("torchaudio-melspec", torchaudio_melspec),
    "librosa": ("librosa-melspec", librosa_melspec),
    "torchaudio.compliance.kaldi": ("kaldi-fbank", torchaudio_kaldi),
    "kaldi-native-fbank": ("kaldi-fbank", kaldi_native),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--long-seconds", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    short = [(0.1 * rng.standard_normal(RATE)).astype(np.float32) for _ in range(a.clips)]
    long = [(0.1 * rng.standard_normal(RATE * a.long_seconds)).astype(np.float32)]
    for tool, (preset, fn) in PEERS.items():
        fn(short[0])  # warm up (plans, caches, lazy imports)
        for name, inputs in ((f"clips-1s", short), (f"clip-{a.long_seconds}s", long)):
            best = (float("inf"), float("inf"))
            for _ in range(a.repeat):
                w0, c0 = time.perf_counter(), time.process_time()
                for x in inputs:
                    fn(x)
                w1, c1 = time.perf_counter(), time.process_time()
                if w1 - w0 < best[0]:
                    best = (w1 - w0, c1 - c0)
            audio = sum(len(x) for x in inputs) / RATE
            print(json.dumps({"tool": tool, "preset": preset, "workload": name, "jobs": 1, "audio_seconds": audio,
                              "wall_seconds": round(best[0], 4), "cpu_seconds": round(best[1], 4),
                              "audio_s_per_cpu_s": round(audio / best[1]), "audio_s_per_wall_s": round(audio / best[0])}),
                  flush=True)


if __name__ == "__main__":
    main()
