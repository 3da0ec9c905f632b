#!/usr/bin/env python3
"""Convert a Hugging Face model folder that holds only PyTorch weights (`pytorch_model.bin`, or sharded
`pytorch_model-0000k-of-0000n.bin` with `pytorch_model.bin.index.json`) into `model.safetensors`, which tkd
reads (it never unpickles a file: a .bin checkpoint can run code when loaded).

    .venv-reference/bin/python Scripts/convert_to_safetensors.py MODEL_DIR [--out OUT_DIR]

Writes OUT_DIR/model.safetensors (default: MODEL_DIR itself) with every tensor of the state dict, contiguous,
under the same names and dtypes, metadata {"format": "pt"} as transformers writes it; tensors that share
storage (tied weights) are stored once each as separate copies. config.json and preprocessor_config.json are
copied when OUT_DIR differs. The .bin files are loaded with torch.load(weights_only=True): only tensors and
plain containers are accepted, never arbitrary pickled objects. Then checks that every tensor of the written
file equals the original bit for bit. Refuses to overwrite an existing model.safetensors.

Tested by Scripts/reference/wav2vec2.py, which converts a tiny model saved with safe_serialization=False and
checks that transformers loads the result with no missing or unexpected keys and the same outputs.
"""
import argparse
import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file


def state_dict(folder):
    single = os.path.join(folder, "pytorch_model.bin")
    index = os.path.join(folder, "pytorch_model.bin.index.json")
    if os.path.exists(single):
        files = [single]
    elif os.path.exists(index):
        with open(index) as f:
            files = [os.path.join(folder, name) for name in sorted(set(json.load(f)["weight_map"].values()))]
    else:
        sys.exit(f"{folder}: neither pytorch_model.bin nor pytorch_model.bin.index.json")
    state = {}
    for path in files:
        part = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(part, dict) or not all(isinstance(v, torch.Tensor) for v in part.values()):
            sys.exit(f"{path}: not a state dict of tensors")
        state.update(part)
    return state


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="the model folder (config.json + pytorch_model.bin)")
    p.add_argument("--out", help="where to write model.safetensors (default: the model folder)")
    args = p.parse_args()
    out = args.out or args.model
    target = os.path.join(out, "model.safetensors")
    if os.path.exists(target):
        sys.exit(f"{target} exists; refusing to overwrite it")
    state = state_dict(args.model)
    tensors = {name: t.detach().clone().contiguous() for name, t in state.items()}
    os.makedirs(out, exist_ok=True)
    temporary = target + ".partial"
    save_file(tensors, temporary, metadata={"format": "pt"})
    written = load_file(temporary)
    assert set(written) == set(tensors), "the written file lost tensors"
    for name, t in tensors.items():
        assert written[name].dtype == t.dtype and torch.equal(written[name], t), f"{name} changed"
    os.replace(temporary, target)
    if os.path.abspath(out) != os.path.abspath(args.model):
        for name in ("config.json", "preprocessor_config.json"):
            source = os.path.join(args.model, name)
            if os.path.exists(source):
                shutil.copy(source, os.path.join(out, name))
    print(f"wrote {target}: {len(tensors)} tensors, {os.path.getsize(target) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
