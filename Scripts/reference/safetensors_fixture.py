#!/usr/bin/env python3
"""Writes Tests/TensorStoreTests/Fixtures/python-written.safetensors with the `safetensors` package, so that
the Swift reader is tested on a file the reference implementation wrote (the other direction, Python
reading tkd's shards with safetensors.numpy.load_file, is documented in Docs/cli.md).

    .venv-reference/bin/python Scripts/reference/safetensors_fixture.py
"""
import os

import numpy as np
import safetensors
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "TensorStoreTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
tensors = {
    "yes_0a7c2a8d_nohash_0": (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 4,
    "_silence_training_00000": np.array([[0.5, -1.0], [2048.0, 1e-3]], dtype=np.float16),
}
save_file(tensors, os.path.join(OUT, "python-written.safetensors"), metadata={"writer": f"safetensors {safetensors.__version__}"})
print("wrote python-written.safetensors")
