#!/usr/bin/env bash
# Benchmark (issue 23, point 5): inference latency per window of every student at 1-s, 2-s and 8-s windows, one
# thread, batch 1 — tkd's own inference (`tkd bench infer`: front end + model) against ONNX Runtime on the exported
# float32 graph and on the int8 graph (Benchmarks/peers/infer_peer.py), alternating REPEAT times; medians and
# ratios. Then `tkd detect`: audio seconds per second on a 10-minute recording with a 2-s TC-ResNet at a 100-ms hop
# (checkpoint and export), and peak memory on 10-minute and 1-hour recordings. Untrained checkpoints (`tkd model
# init`): the time does not depend on the weights; int8 calibrates on a small dataset of each length made here.
#
#   Benchmarks/infer.sh          # REPEAT=3 RUNS=50; needs make reference-env; ≈ 25 min on 2 cores
#   SKIP_DETECT=1 WORK=DIR Benchmarks/infer.sh    # the latency table again, reusing DIR's data and exports
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
REPEAT="${REPEAT:-3}"; RUNS="${RUNS:-50}"
PY="${PY:-$repo/.venv-reference/bin/python}"
[ -x "$PY" ] || { echo "infer.sh: $PY not found; run 'make reference-env' first" >&2; exit 1; }
swift build -c release --product tkd >/dev/null
TKD="${TKD:-.build/release/tkd}"
WORK="${WORK:-$(mktemp -d)}"
echo "work folder: $WORK" >&2
# A small corpus and a dataset at each length, with the three presets (for int8 calibration).
[ -d "$WORK/corpus" ] || $TKD corpus demo --out "$WORK/corpus" --speakers 3 --utterances 1 --jobs 2 -q
sed -e 's/^  - name: 2s$/  - name: 1s\n    length_seconds: 1\n  - name: 2s/' Recipes/demo.yaml > "$WORK/recipe.yaml"
[ -d "$WORK/data" ] || $TKD generate --recipe "$WORK/recipe.yaml" --corpus "$WORK/corpus" --out "$WORK/data" --jobs 2 -q
for len in 1s 2s 8s; do
  for p in kws-streaming-mfcc20 kws-streaming-mfcc40 kws-streaming-mfcc20-8000hz; do
    [ -d "$WORK/data/$len/features/$p" ] || $TKD features --dataset "$WORK/data/$len" --preset $p --jobs 2 -q
  done
done
out="$WORK/results.jsonl"; : > "$out"
for len in 1 2 8; do
  for s in lstm-p tc-resnet crnn att-rnn mhatt-rnn; do
    ck="$WORK/$s-$len.safetensors"
    [ -f "$ck" ] || $TKD model init $s --seconds $len --out "$ck" >/dev/null
    [ -f "$WORK/$s-$len-float32/deploy.json" ] || $TKD export --checkpoint "$ck" --out "$WORK/$s-$len-float32" >/dev/null
    [ -f "$WORK/$s-$len-int8/deploy.json" ] || $TKD export --checkpoint "$ck" --out "$WORK/$s-$len-int8" \
      --precision int8 --calibration "$WORK/data/${len}s" --calibration-examples 64 >/dev/null
    for rep in $(seq "$REPEAT"); do
      $TKD bench infer --checkpoint "$ck" --repeat "$RUNS" >> "$out"
      "$PY" Benchmarks/peers/infer_peer.py --model "$WORK/$s-$len-float32" --repeat "$RUNS" >> "$out"
      "$PY" Benchmarks/peers/infer_peer.py --model "$WORK/$s-$len-int8" --repeat "$RUNS" >> "$out"
    done
  done
done
"$PY" - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(model, w, tool, precision=None):
    v = [r["ms_per_window"] for r in rows if r["model"] == model and abs(r["window_seconds"] - w) < 1e-6
         and r["tool"].startswith(tool) and (precision is None or r.get("precision") == precision)]
    return statistics.median(v)
print("| student | window | tkd native (ms) | ORT float32 (ms) | ORT int8 (ms) | tkd / ORT float32 | tkd / ORT int8 | real-time factor (tkd) |")
print("|---|---|---|---|---|---|---|---|")
for w in (1, 2, 8):
    for m in ("lstm-p", "tc-resnet", "crnn", "att-rnn", "mhatt-rnn"):
        t, f, q = med(m, w, "tkd"), med(m, w, "onnxruntime", "float32"), med(m, w, "onnxruntime", "int8")
        print(f"| {m} | {w} s | {t:.3f} | {f:.3f} | {q:.3f} | {t/f:.2f}× | {t/q:.2f}× | {t/1000/w:.5f} |")
PY
[ "${SKIP_DETECT:-0}" = 1 ] && exit 0
# tkd detect: throughput on 10 minutes, peak memory on 10 minutes and 1 hour (2-s TC-ResNet, 100-ms hop).
"$PY" - "$WORK" <<'PY'
import glob, sys, numpy as np, soundfile as sf
work = sys.argv[1]
clips = [sf.read(f, dtype="int16")[0] for f in sorted(glob.glob(f"{work}/data/8s/audio/testing/*.wav"))]
x = np.concatenate(clips)
for minutes in (10, 60):
    n = minutes * 60 * 16000
    sf.write(f"{work}/long-{minutes}min.wav", np.resize(x, n), 16000, subtype="PCM_16")
PY
ck="$WORK/tc-resnet-2.safetensors"
for m in 10 60; do
  for scorer in "--checkpoint $ck" "--model $WORK/tc-resnet-2-float32"; do
    /usr/bin/time -f "%e s %M KB" -o "$WORK/time.txt" $TKD detect $scorer "$WORK/long-${m}min.wav" --hop-ms 100 -q > /dev/null
    read -r secs _ kb _ < "$WORK/time.txt"
    echo "tkd detect ${scorer%% *} ${m} min: $secs s wall, $(awk -v m=$m -v s=$secs 'BEGIN{printf "%.1f", m*60/s}') audio s/s, peak RSS $((kb / 1024)) MB"
  done
done
/usr/bin/time -f "%e s %M KB" -o "$WORK/time.txt" "$PY" Scripts/detect_onnx.py "$WORK/tc-resnet-2-float32" \
  "$WORK/long-10min.wav" --hop-ms 100 > /dev/null
read -r secs _ kb _ < "$WORK/time.txt"
echo "Scripts/detect_onnx.py (ONNX Runtime) 10 min: $secs s wall, $(awk -v s=$secs 'BEGIN{printf "%.1f", 600/s}') audio s/s, peak RSS $((kb / 1024)) MB"
