#!/usr/bin/env python3
"""Writes the feature-parity fixtures of Tests/FeaturesTests/Fixtures from the real reference libraries.

    .venv-reference/bin/python Scripts/reference/features.py      # (make reference-env first)

For each test signal (speech from espeak-ng, white noise, a chirp, a 1-kHz tone; 16 kHz and 8 kHz) it
writes the input (`<signal>-<rate>.npy`, float32) and, per preset, the reference output
(`<preset>--<signal>-<rate>.npy`, frames x bins, float32):

  torchaudio-melspec   torchaudio.transforms.MelSpectrogram(...) + AmplitudeToDB(stype="power")
  librosa-melspec      librosa.feature.melspectrogram(...) + librosa.power_to_db(ref=1.0, amin=1e-10)
  kaldi-fbank          torchaudio.compliance.kaldi.fbank(...) (also checked against kaldi-native-fbank here)
  kws-streaming-mfcc20/40, -mfcc20-8000hz  an independent numpy implementation of Docs/students.md section 1.2

The calls are exactly those documented for the presets in Sources/Features/FrontEnd/FrontEndPreset.swift;
at 8 kHz the window and hop keep their milliseconds (see that file). `manifest.json` records the library
versions. Tests never run Python; they read these files.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
import kaldi_native_fbank as knf  # noqa: E402
import librosa  # noqa: E402
import scipy.signal  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402
import torchaudio  # noqa: E402
import torchaudio.compliance.kaldi as kaldi  # noqa: E402

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "FeaturesTests", "Fixtures")
SECONDS = 0.75


def signals(rate):
    n = int(SECONDS * rate)
    t = np.arange(n) / rate
    rng = np.random.default_rng(1234 + rate)
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, "s.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", wav, "seven"], check=True)
        speech, sr = sf.read(wav, dtype="float64")
    speech = scipy.signal.resample_poly(speech, rate, sr)
    speech = np.pad(speech, (0, max(0, n - len(speech))))[:n]
    speech = np.round(0.7 * speech / np.max(np.abs(speech)) * 32767) / 32768  # as a PCM16 clip reads
    f1 = 0.45 * rate
    return {
        "speech": speech,
        "noise": np.clip(0.1 * rng.standard_normal(n), -1, 1),
        "chirp": 0.5 * scipy.signal.chirp(t, f0=50, t1=SECONDS, f1=f1, method="logarithmic"),
        "tone": 0.5 * np.sin(2 * np.pi * 1000 * t),
    }


def ms(rate, value):
    return int(round(value * rate / 1000))


def pow2(n):
    p = 1
    while p < n:
        p *= 2
    return p


def torch_melspec(x, rate):
    win, hop = ms(rate, 25), ms(rate, 10)
    nfft = 512 if rate == 16000 else pow2(win * 512 // 400)
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=rate, n_fft=nfft, win_length=win, hop_length=hop, f_min=20, f_max=min(8000, rate / 2),
        n_mels=40, power=2.0, center=True, pad_mode="reflect", mel_scale="htk", norm=None)
    db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None)
    return db(mel(torch.from_numpy(x.astype(np.float32)))).numpy().T


def librosa_melspec(x, rate):
    win, hop = ms(rate, 25), ms(rate, 10)
    nfft = 512 if rate == 16000 else pow2(win * 512 // 400)
    s = librosa.feature.melspectrogram(
        y=x.astype(np.float32), sr=rate, n_fft=nfft, win_length=win, hop_length=hop, n_mels=40, fmin=20,
        fmax=min(8000, rate / 2), center=True, pad_mode="constant", htk=False, norm="slaney", power=2.0)
    return librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=None).T


def kaldi_fbank(x, rate):
    out = kaldi.fbank(
        torch.from_numpy(x.astype(np.float32)).unsqueeze(0), num_mel_bins=40, frame_length=25, frame_shift=10,
        sample_frequency=rate, low_freq=20, high_freq=0, dither=0.0, window_type="povey",
        preemphasis_coefficient=0.97, remove_dc_offset=True, snip_edges=True, use_energy=False).numpy()
    # Cross-check: kaldi-native-fbank with the same options.
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = rate
    opts.frame_opts.frame_length_ms = 25
    opts.frame_opts.frame_shift_ms = 10
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "povey"
    opts.frame_opts.preemph_coeff = 0.97
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = 40
    opts.mel_opts.low_freq = 20
    opts.mel_opts.high_freq = 0
    opts.use_energy = False
    f = knf.OnlineFbank(opts)
    f.accept_waveform(rate, x.astype(np.float32).tolist())
    f.input_finished()
    native = np.array([f.get_frame(i) for i in range(f.num_frames_ready)])
    assert native.shape == out.shape, (native.shape, out.shape)
    top = out.max(axis=1, keepdims=True)
    mask = out > top - 18.4
    err = np.abs(native - out)[mask].max()
    assert err < 5e-3, f"kaldi-native-fbank and torchaudio disagree by {err}"
    return out


def kws_mfcc(x, rate, coefficients, upper_edge=7600.0):
    """Docs/students.md section 1.2, written from the prose (not from the Swift code)."""
    win, hop = ms(rate, 40), ms(rate, 20)
    nfft = pow2(win)
    upper = min(upper_edge, rate / 2)
    frames = 1 + (len(x) - win) // hop
    n = np.arange(win)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / win)
    idx = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    mag = np.abs(np.fft.rfft(x[idx] * window, n=nfft))
    freqs = np.linspace(0, rate / 2, nfft // 2 + 1)

    def mel(f):
        return 1127.0 * np.log1p(f / 700.0)

    edges = np.linspace(mel(20.0), mel(upper), 40 + 2)
    m = mel(freqs)[:, None]
    lo, c, hi = edges[:-2][None, :], edges[1:-1][None, :], edges[2:][None, :]
    w = np.maximum(0, np.minimum((m - lo) / (c - lo), (hi - m) / (hi - c)))
    w[0, :] = 0
    logmel = np.log(np.maximum(mag @ w, 1e-12))
    k = np.arange(coefficients)[:, None]
    i = np.arange(40)[None, :]
    dct = 2 * np.cos(np.pi * (2 * i + 1) * k / 80) / np.sqrt(80)
    return logmel @ dct.T


PRESETS = {
    "torchaudio-melspec": torch_melspec,
    "librosa-melspec": librosa_melspec,
    "kaldi-fbank": kaldi_fbank,
    "kws-streaming-mfcc20": lambda x, r: kws_mfcc(x, r, 20),
    "kws-streaming-mfcc40": lambda x, r: kws_mfcc(x, r, 40),
    "kws-streaming-mfcc20-8000hz": lambda x, r: kws_mfcc(x, r, 20, upper_edge=8000.0),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    written = []
    for rate in (16000, 8000):
        for name, x in signals(rate).items():
            x = x.astype(np.float32)
            base = f"{name}-{rate}"
            np.save(os.path.join(OUT, f"{base}.npy"), x)
            written.append(f"{base}.npy")
            for preset, fn in PRESETS.items():
                y = np.ascontiguousarray(fn(x.astype(np.float64) if preset.startswith("kws") else x, rate), dtype=np.float32)
                np.save(os.path.join(OUT, f"{preset}--{base}.npy"), y)
                written.append(f"{preset}--{base}.npy")
    # The reference numbers quoted in Docs/students.md for the kws front end (1 s, 1 kHz tone at 0.5).
    t = np.arange(16000) / 16000
    ref = kws_mfcc(0.5 * np.sin(2 * np.pi * 1000 * t), 16000, 20)
    manifest = {
        "generator": "Scripts/reference/features.py",
        "seconds": SECONDS,
        "files": sorted(written),
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "torch": torch.__version__,
                     "torchaudio": torchaudio.__version__, "librosa": librosa.__version__,
                     "kaldi_native_fbank": getattr(knf, "__version__", "unknown"), "scipy": scipy.__version__},
        "kws_tone_frame10_mfcc0_4": [round(float(v), 5) for v in ref[10, :5]],
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(written)} files to {os.path.normpath(OUT)}; kws check {manifest['kws_tone_frame10_mfcc0_4']}")


if __name__ == "__main__":
    main()
