#!/usr/bin/env bash
# Benchmark: training steps per second of the students in MODELS (2-s and 8-s inputs, batch BATCH, default
# 100) in tkd against PyTorch CPU training the same model (Benchmarks/peers/train_peer.py), 1 and 2 threads,
# in one run: the tools alternate, REPEAT times each, and the median is reported. Needs `make reference-env`.
#
# MODELS (default all five, "lstm-p tc-resnet crnn att-rnn mhatt-rnn") picks the students, in table order; e.g.
#   MODELS="tc-resnet att-rnn" Benchmarks/train.sh     # the two students of the existing BENCHMARKS.md tables
#
# CHUNKS (e.g. "25 16") also measures tkd at each of those `--chunk` values (examples per thread and
# backward pass; by default tkd's own choice). The study's table in BENCHMARKS.md is
#   BATCH=32 CHUNKS="25 16" STEPS_2S=20 STEPS_8S=8 Benchmarks/train.sh
#
# OpenBLAS 0.3.21 falls back to its SSE3 "Prescott" kernels on CPU models newer than its table; tkd then
# restarts itself with OPENBLAS_CORETYPE set to the family the CPU supports (Docs/speed.md). When
# that happens, tkd is also measured with OpenBLAS's own choice (TKD_OPENBLAS_AUTO=0). PyTorch's BLAS
# (MKL, oneDNN) is not affected.
#
#   Benchmarks/train.sh          # REPEAT=3 STEPS_2S=10 STEPS_8S=4 BATCH=100, all five MODELS
#
# RAW=FILE keeps every measurement (one JSON object a line, "variant" added) in FILE besides the table.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
REPEAT="${REPEAT:-3}"; STEPS_2S="${STEPS_2S:-10}"; STEPS_8S="${STEPS_8S:-4}"; BATCH="${BATCH:-100}"
read -r -a models <<< "${MODELS:-lstm-p tc-resnet crnn att-rnn mhatt-rnn}"
read -r -a chunks <<< "${CHUNKS:-}"
[ "${#chunks[@]}" -eq 0 ] && chunks=(default)
PY="${PY:-$repo/.venv-reference/bin/python}"
[ -x "$PY" ] || { echo "train.sh: $PY not found; run 'make reference-env' first" >&2; exit 1; }
swift build -c release --product tkd >/dev/null
TKD=.build/release/tkd
core="$($TKD version | awk '$1 == "openblas_core" {print $2}')"
own="$(TKD_OPENBLAS_AUTO=0 $TKD version | awk '$1 == "openblas_core" {print $2}')"
variants=("$core")
[ "$own" != "$core" ] && variants+=("$own")
out="$(mktemp)"; trap 'rm -f "$out"' EXIT
for model in "${models[@]}"; do
  for frames in 99 399; do
    steps=$STEPS_2S; [ "$frames" = 399 ] && steps=$STEPS_8S
    for threads in 1 2; do
      for rep in $(seq "$REPEAT"); do
        for v in "${variants[@]}"; do
          if [ "$v" = "$core" ]; then env_core=(); else env_core=(TKD_OPENBLAS_AUTO=0); fi
          for chunk in "${chunks[@]}"; do
            chunk_opt=(); name="$v"
            [ "$chunk" != default ] && { chunk_opt=(--chunk "$chunk"); name="$v, chunk $chunk"; }
            env "${env_core[@]}" $TKD bench train --student "$model" --frames "$frames" --batch "$BATCH" \
              "${chunk_opt[@]}" --steps "$steps" --warmup 2 --jobs "$threads" \
              | sed "s/^{/{\"variant\":\"$name\",/" >> "$out"
          done
        done
        "$PY" Benchmarks/peers/train_peer.py --model "$model" --frames "$frames" --batch "$BATCH" --threads "$threads" \
          --steps "$steps" --warmup 2 2>/dev/null | sed 's/^{/{"variant":"torch",/' >> "$out"
      done
    done
  done
done
[ -n "${RAW:-}" ] && cp "$out" "$RAW"
"$PY" - "$out" "${models[@]}" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
groups = {}
for r in rows:
    groups.setdefault((r["model"], r["frames"], r["threads"], r["variant"]), []).append(r["examples_per_second"])
variants = sorted({k[3] for k in groups if k[3] != "torch"})
head = "| model | frames | threads | PyTorch ex/s | " + " | ".join(f"tkd ({v}) ex/s | ratio" for v in variants) + " |"
print(head)
print("|" + "---|" * (4 + 2 * len(variants)))
order = {m: i for i, m in enumerate(sys.argv[2:])}  # rows in MODELS order
for (model, frames, threads) in sorted({k[:3] for k in groups}, key=lambda k: (order.get(k[0], len(order)), k)):
    torch = statistics.median(groups[(model, frames, threads, "torch")])
    cells = [model, str(frames), str(threads), f"{torch:.0f}"]
    for v in variants:
        t = statistics.median(groups[(model, frames, threads, v)])
        cells += [f"{t:.0f}", f"{t / torch:.2f}×"]
    print("| " + " | ".join(cells) + " |")
PYEOF
