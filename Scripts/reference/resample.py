#!/usr/bin/env python3
"""Writes Tests/AudioIOTests/Fixtures/resample-44100-16000.npy: a reference resampling of a test signal from
44.1 kHz (FSD50K's rate) to 16 kHz by soxr at its very-high quality, for the Swift Resampler test (which
never runs Python). The Swift test rebuilds the same input from the formula below and compares libsamplerate's
output at each quality against this one.

    .venv-reference/bin/python Scripts/reference/resample.py      # (make reference-env first)

Input, 0.5 s at 44,100 Hz (22,050 samples), computed in float64 and stored as float32:
  x[n] = sum_k a_k sin(2 pi f_k n / 44100 + p_k)  with
  (f, a, p) = (440, 0.2, 0.1), (1000, 0.2, 0.7), (3100.5, 0.15, 1.3), (5500, 0.15, 2.1), (7000, 0.1, 0.4)
  and (10000, 0.2, 0.9), above the new Nyquist frequency (8 kHz): a resampler must remove it.
"""
import pathlib

import numpy as np
import soxr

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests/AudioIOTests/Fixtures/resample-44100-16000.npy"
TONES = [(440, 0.2, 0.1), (1000, 0.2, 0.7), (3100.5, 0.15, 1.3), (5500, 0.15, 2.1), (7000, 0.1, 0.4),
         (10000, 0.2, 0.9)]


def main():
    n = np.arange(22050, dtype=np.float64)
    x = sum(a * np.sin(2 * np.pi * f * n / 44100 + p) for f, a, p in TONES).astype(np.float32)
    y = soxr.resample(x.astype(np.float64), 44100, 16000, quality="VHQ").astype(np.float32)
    assert y.shape == (8000,), y.shape
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.save(OUT, y)
    print(f"wrote {OUT} ({y.size} samples; soxr {soxr.__version__} VHQ)")


if __name__ == "__main__":
    main()
