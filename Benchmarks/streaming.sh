#!/usr/bin/env bash
# Benchmark (issue 25, point 3): what a detector hop costs when the window slides (the window graph run over the
# last window every hop) against the streaming graph (tkd export --graph streaming: one 20-ms call per frame,
# the states carried), for the two students that stream (LSTM-P, CRNN) at 1-s, 2-s and 8-s windows.
#   1. ONNX Runtime, one thread, batch 1, both graphs alternating in one process (Benchmarks/peers/streaming_peer.py):
#      milliseconds per 100-ms detector hop, and the ratio.
#   2. tkd detect over a 10-minute recording with each export (the whole detector: decode, scores, smoothing),
#      audio seconds per second, and peak memory.
# Untrained checkpoints (tkd model init): the time does not depend on the weights.
#
#   Benchmarks/streaming.sh          # REPEAT=3 RUNS=200; needs make reference-env (or PY=…); ≈ 10 min on 2 cores
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
REPEAT="${REPEAT:-3}"; RUNS="${RUNS:-200}"
PY="${PY:-$repo/.venv-reference/bin/python}"
[ -x "$PY" ] || { echo "streaming.sh: $PY not found; run 'make reference-env' first" >&2; exit 1; }
[ -n "${TKD:-}" ] || { swift build -c release --product tkd >/dev/null; TKD=.build/release/tkd; }
WORK="${WORK:-$(mktemp -d)}"
echo "work folder: $WORK" >&2
out="$WORK/streaming.jsonl"; : > "$out"
"$PY" - "$WORK" <<'PY'
import sys, numpy as np, soundfile as sf
rng = np.random.default_rng(0)
sf.write(f"{sys.argv[1]}/long-10min.wav", (rng.standard_normal(600 * 16000) * 0.1).astype(np.float32), 16000,
         subtype="PCM_16")
PY
for len in 1 2 8; do
  for s in lstm-p crnn; do
    ck="$WORK/$s-$len.safetensors"
    [ -f "$ck" ] || $TKD model init $s --seconds $len --out "$ck" >/dev/null
    [ -f "$WORK/$s-$len-window/deploy.json" ] || $TKD export --checkpoint "$ck" --out "$WORK/$s-$len-window" >/dev/null
    [ -f "$WORK/$s-$len-streaming/deploy.json" ] || $TKD export --checkpoint "$ck" --graph streaming \
      --out "$WORK/$s-$len-streaming" >/dev/null
    for rep in $(seq "$REPEAT"); do
      "$PY" Benchmarks/peers/streaming_peer.py --window "$WORK/$s-$len-window" \
        --streaming "$WORK/$s-$len-streaming" --repeat "$RUNS" >> "$out"
    done
    for graph in window streaming; do
      /usr/bin/time -f "%e s %M KB" -o "$WORK/time.txt" $TKD detect --model "$WORK/$s-$len-$graph" \
        "$WORK/long-10min.wav" --jobs 1 -q > /dev/null
      read -r secs _ kb _ < "$WORK/time.txt"
      echo "{\"tool\":\"tkd detect\",\"model\":\"$s\",\"window_seconds\":$len,\"graph\":\"$graph\",\"seconds\":$secs,\"peak_kb\":$kb}" >> "$out"
    done
  done
done
"$PY" - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("ONNX Runtime, ms per 100-ms detector hop (median of the runs' medians):")
print("| student | window | window graph | streaming graph (5 calls) | window / streaming |")
print("|---|---|---|---|---|")
for w in (1, 2, 8):
    for m in ("lstm-p", "crnn"):
        r = [x for x in rows if x["tool"].startswith("onnxruntime") and x["model"] == m and x["window_seconds"] == w]
        a = statistics.median(x["window_ms_per_hop"] for x in r)
        b = statistics.median(x["streaming_ms_per_hop"] for x in r)
        print(f"| {m} | {w} s | {a:.3f} | {b:.3f} | {a / b:.2f}× |")
print()
print("tkd detect --jobs 1 over 10 minutes, audio seconds per second (peak RSS):")
print("| student | window | window graph | streaming graph | streaming / window |")
print("|---|---|---|---|---|")
for w in (1, 2, 8):
    for m in ("lstm-p", "crnn"):
        d = {x["graph"]: x for x in rows if x["tool"] == "tkd detect" and x["model"] == m and x["window_seconds"] == w}
        a, b = 600 / d["window"]["seconds"], 600 / d["streaming"]["seconds"]
        print(f"| {m} | {w} s | {a:.0f} ({d['window']['peak_kb'] // 1024} MB) | "
              f"{b:.0f} ({d['streaming']['peak_kb'] // 1024} MB) | {b / a:.2f}× |")
PY
