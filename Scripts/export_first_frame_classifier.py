#!/usr/bin/env python3
"""Export a wav2vec 2.0 classifier fine-tuned with transformers and a first-frame head (the paper's Fig. 1:
classifier(projector(h)[:, 0]) instead of transformers' mean over frames) as a model folder that
`tkd teacher cache --teacher` (and transformers) load.

    .venv-reference/bin/python Scripts/export_first_frame_classifier.py --model FINETUNED --out TEACHER \
        [--check-audio FILE --tkd .build/release/tkd]

FINETUNED is what `save_pretrained` wrote for the fine-tuned model: config.json and model.safetensors (or
pytorch_model.bin, loaded with torch.load(weights_only=True)) with the state-dict names of
Wav2Vec2ForSequenceClassification — `wav2vec2.*`, `projector.*`, `classifier.*` (and `layer_weights` with
use_weighted_layer_sum) — whatever the Python class that pooled the first frame was called. The export:

  config.json               the model's config with "architectures": ["Wav2Vec2ForSequenceClassification"]
                            and "tkd_pooling": "first" (tkd reads it; transformers ignores it), inference
                            settings (every dropout and masking 0)
  model.safetensors         every tensor, float32 unless --keep-dtype
  preprocessor_config.json  copied from FINETUNED, else a Wav2Vec2FeatureExtractor default with do_normalize
                            from --do-normalize (default true, as transformers' extractor)

Checks: the export loads as Wav2Vec2ForSequenceClassification with no missing, unexpected or mismatched
keys, and its first-frame logits on a test waveform equal the original weights' (bit for bit). With
--check-audio and --tkd, it also runs `tkd teacher attentions` on the file and requires tkd's logits to match
transformers' first-frame logits within 1e-4. Scripts/reference/finetune.py runs it on a tiny model, offline.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import Wav2Vec2ForSequenceClassification


def state_dict(folder):
    path = os.path.join(folder, "model.safetensors")
    if os.path.exists(path):
        return load_file(path)
    path = os.path.join(folder, "pytorch_model.bin")
    if os.path.exists(path):
        return torch.load(path, map_location="cpu", weights_only=True)
    sys.exit(f"{folder}: neither model.safetensors nor pytorch_model.bin")


def first_frame_logits(model, x):
    with torch.no_grad():
        if model.config.use_weighted_layer_sum:
            out = model.wav2vec2(x, output_hidden_states=True)
            weights = torch.softmax(model.layer_weights, dim=-1)
            hidden = sum(w * h for w, h in zip(weights, out.hidden_states))
        else:
            hidden = model.wav2vec2(x).last_hidden_state
        return model.classifier(model.projector(hidden)[:, 0])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the fine-tuned model folder (save_pretrained output)")
    p.add_argument("--out", required=True, help="the teacher folder to write (new or empty)")
    p.add_argument("--keep-dtype", action="store_true", help="keep float16/bfloat16 tensors (default: float32)")
    p.add_argument("--do-normalize", choices=("true", "false"), default="true",
                   help="do_normalize when the model folder has no preprocessor_config.json")
    p.add_argument("--check-audio", help="a 16-kHz audio file for the tkd logits check")
    p.add_argument("--tkd", help="the tkd binary for the check")
    args = p.parse_args()
    if os.path.exists(args.out) and os.listdir(args.out):
        sys.exit(f"{args.out}: not empty; refusing to overwrite it")
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "wav2vec2":
        sys.exit(f"{args.model}/config.json: model_type is {cfg.get('model_type')!r}; expected 'wav2vec2'")
    state = state_dict(args.model)
    for key in ("projector.weight", "classifier.weight"):
        if key not in state:
            sys.exit(f"{args.model}: no '{key}': not a sequence classifier")
    tensors = {k: (v if args.keep_dtype else v.float()).contiguous() for k, v in state.items()}
    cfg["architectures"] = ["Wav2Vec2ForSequenceClassification"]
    cfg["tkd_pooling"] = "first"
    for key in ("hidden_dropout", "attention_dropout", "activation_dropout", "feat_proj_dropout", "final_dropout",
                "layerdrop", "mask_time_prob", "mask_feature_prob"):
        cfg[key] = 0.0
    cfg["apply_spec_augment"] = False
    os.makedirs(args.out, exist_ok=True)
    save_file(tensors, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(dict(sorted(cfg.items())), f, indent=2)
        f.write("\n")
    pre = os.path.join(args.model, "preprocessor_config.json")
    if os.path.exists(pre):
        shutil.copy(pre, os.path.join(args.out, "preprocessor_config.json"))
    else:
        with open(os.path.join(args.out, "preprocessor_config.json"), "w") as f:
            json.dump({"feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1, "sampling_rate": 16000,
                       "padding_value": 0.0, "padding_side": "right", "do_normalize": args.do_normalize == "true",
                       "return_attention_mask": False}, f, indent=2, sort_keys=True)

    # The export loads cleanly and computes what the original weights compute.
    exported, info = Wav2Vec2ForSequenceClassification.from_pretrained(
        args.out, attn_implementation="eager", output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    if problems:
        sys.exit(f"{args.out}: transformers did not load the export cleanly: {problems}")
    exported = exported.float().eval()
    # The original folder under transformers' class (same state-dict names, whatever class pooled frame 0).
    original = Wav2Vec2ForSequenceClassification.from_pretrained(args.model, attn_implementation="eager")
    original = original.float().eval()
    x = torch.from_numpy(np.sin(np.arange(16000, dtype=np.float32) / 7.0)[None] * 0.1)
    if not torch.equal(first_frame_logits(exported, x), first_frame_logits(original, x)):
        sys.exit("the export's first-frame logits differ from the original weights'")
    if args.check_audio and args.tkd:
        import soundfile
        audio, rate = soundfile.read(args.check_audio, dtype="float32")
        if rate != 16000:
            sys.exit(f"{args.check_audio}: {rate} Hz; expected 16000")
        extractor_normalize = json.load(open(os.path.join(args.out, "preprocessor_config.json"))).get("do_normalize")
        inp = torch.from_numpy(audio)[None]
        if extractor_normalize:
            inp = (inp - inp.mean()) / torch.sqrt(inp.var(unbiased=False) + 1e-7)
        want = first_frame_logits(exported, inp)[0].numpy()
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "a.safetensors")
            subprocess.run([args.tkd, "teacher", "attentions", "--teacher", args.out, args.check_audio, "--out", out],
                           check=True, stdout=subprocess.DEVNULL)
            got = load_file(out)["logits"].numpy()
        error = float(np.abs(got - want).max())
        if error > 1e-4:
            sys.exit(f"tkd's logits differ from transformers' first-frame logits by {error}")
        print(f"tkd teacher attentions reproduces the first-frame logits within {error:.1e}")
    print(f"wrote {args.out}: {len(tensors)} tensors, tkd_pooling first")


if __name__ == "__main__":
    main()
