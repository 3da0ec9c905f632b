#!/usr/bin/env bash
# Benchmark: the training steps that dominate `tkd study` (Recipes/study/: batch 32, TC-ResNet and Att-RNN,
# 2-s and 8-s inputs) in tkd with the old default chunk (25: one thread gets 25 examples of a batch of 32,
# the other 7) and the study's chunk (16: two equal halves), against PyTorch CPU training the same model at
# the same batch (Benchmarks/peers/train_peer.py), 1 and 2 threads, in one run: the tools alternate, REPEAT
# times each, and the median is reported. Needs `make reference-env`.
#
#   Benchmarks/study-train.sh          # REPEAT=3 STEPS_2S=20 STEPS_8S=8
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
REPEAT="${REPEAT:-3}"; STEPS_2S="${STEPS_2S:-20}"; STEPS_8S="${STEPS_8S:-8}"
PY="${PY:-$repo/.venv-reference/bin/python}"
[ -x "$PY" ] || { echo "study-train.sh: $PY not found; run 'make reference-env' first" >&2; exit 1; }
swift build -c release --product tkd >/dev/null
TKD=.build/release/tkd
out="$(mktemp)"; trap 'rm -f "$out"' EXIT
for model in tc-resnet att-rnn; do
  for frames in 99 399; do
    steps=$STEPS_2S; [ "$frames" = 399 ] && steps=$STEPS_8S
    for threads in 1 2; do
      for rep in $(seq "$REPEAT"); do
        for chunk in 25 16; do
          $TKD bench train --student "$model" --frames "$frames" --batch 32 --chunk "$chunk" --steps "$steps" \
            --warmup 2 --jobs "$threads" | sed "s/^{/{\"variant\":\"chunk $chunk\",/" >> "$out"
        done
        "$PY" Benchmarks/peers/train_peer.py --model "$model" --frames "$frames" --batch 32 --threads "$threads" \
          --steps "$steps" --warmup 2 2>/dev/null | sed 's/^{/{"variant":"torch",/' >> "$out"
      done
    done
  done
done
"$PY" - "$out" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
groups = {}
for r in rows:
    groups.setdefault((r["model"], r["frames"], r["threads"], r["variant"]), []).append(r["examples_per_second"])
print("| model | frames | threads | PyTorch ex/s | tkd chunk 25 ex/s | ratio | tkd chunk 16 ex/s | ratio | 16 vs 25 |")
print("|---|---|---|---|---|---|---|---|---|")
for (model, frames, threads) in sorted({k[:3] for k in groups}):
    torch = statistics.median(groups[(model, frames, threads, "torch")])
    a = statistics.median(groups[(model, frames, threads, "chunk 25")])
    b = statistics.median(groups[(model, frames, threads, "chunk 16")])
    print(f"| {model} | {frames} | {threads} | {torch:.0f} | {a:.0f} | {a / torch:.2f}× | {b:.0f} | {b / torch:.2f}× "
          f"| {b / a:.2f}× |")
PYEOF
