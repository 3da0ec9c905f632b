#!/usr/bin/env python3
"""PyTorch peer for `tkd bench teacher`: wav2vec 2.0 forward (transformers, eager attention) on CPU.

  make-model OUT        write a wav2vec2-base-sized Wav2Vec2ForSequenceClassification with random weights
                        (the facebook/wav2vec2-base architecture: 7 convolutions of 512 channels, 12 layers of
                        768 with 12 heads, FFN 3072, positional conv 128/16; 12 labels) to OUT, saved by
                        save_pretrained (config.json + model.safetensors). No download.
  run --teacher DIR --seconds S --clips N --threads T [--repeat R]
                        time forward passes (logits and attentions, as tkd computes them) over N deterministic
                        noise clips of S seconds in one batch, T torch threads; print one JSON line with the
                        fastest pass: wall seconds, real-time factor, clips per second.
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
import transformers
from transformers import Wav2Vec2Config, Wav2Vec2ForSequenceClassification


def make_model(out):
    torch.manual_seed(0)
    config = Wav2Vec2Config(num_labels=12, classifier_proj_size=256, feat_extract_norm="group", do_stable_layer_norm=False,
                            conv_bias=False, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                            feat_proj_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0)
    model = Wav2Vec2ForSequenceClassification(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {out}: {params:,} parameters", file=sys.stderr)


def run(args):
    torch.set_num_interop_threads(1)
    torch.set_num_threads(args.threads)
    model = Wav2Vec2ForSequenceClassification.from_pretrained(args.teacher, attn_implementation="eager").eval()
    n = int(args.seconds * 16000)
    x = torch.from_numpy(np.random.RandomState(2).normal(0, 0.1, size=(args.clips, n)).astype(np.float32))
    best = float("inf")
    with torch.no_grad():
        model(x[:1], output_attentions=True)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            model(x, output_attentions=True)
            best = min(best, time.perf_counter() - t0)
    audio = args.clips * args.seconds
    print(json.dumps({"tool": "pytorch", "torch": torch.__version__, "transformers": transformers.__version__,
                      "seconds": args.seconds, "clips": args.clips, "threads": args.threads, "wall_seconds": round(best, 4),
                      "real_time_factor": round(best / audio, 5), "clips_per_second": round(args.clips / best, 3)}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make-model")
    m.add_argument("out")
    r = sub.add_parser("run")
    r.add_argument("--teacher", required=True)
    r.add_argument("--seconds", type=float, default=2)
    r.add_argument("--clips", type=int, default=4)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    make_model(args.out) if args.command == "make-model" else run(args)


if __name__ == "__main__":
    main()
