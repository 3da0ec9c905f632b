#!/usr/bin/env bash
# The int8 table (issue 23, point 3): the five students trained on the study's 2-s dataset (λ = 0, seed 0, the
# study's configs, Recipes/study/<student>.yaml; 1,000 steps, 3,000 for CRNN and LSTM-P), each exported as float32
# and as int8 (calibrated on 512 examples of the training split), and both scored on the 1,056-example test split by ONNX Runtime
# (Scripts/onnx_evaluate.py) and by tkd's runner (tkd evaluate --model), beside the checkpoint itself
# (tkd evaluate). Prints a Markdown table and writes Benchmarks/results/int8-<date>.json.
#
#   tkd study --recipe Recipes/study/standard.yaml --out STUDY --stage prepare --lengths 2s   # the data, once
#   Benchmarks/int8.sh STUDY [TKD]                                                              # ≈ 25 min, 2 cores
#
# Environment: JOBS (default 2), PYTHON (default .venv-reference/bin/python: make reference-env).
# Reruns skip finished runs and exports.
set -euo pipefail
cd "$(dirname "$0")/.."
STUDY="${1:?usage: Benchmarks/int8.sh STUDY [TKD]}"
TKD="${2:-.build/release/tkd}"
JOBS="${JOBS:-2}"
PYTHON="${PYTHON:-.venv-reference/bin/python}"
DATA="$STUDY/data/2s"
RUNS="$STUDY/deploy-runs"
OUT="$STUDY/deploy-exports"
mkdir -p "$RUNS" "$OUT" Benchmarks/results

[[ -f "$DATA/dataset.json" ]] || { echo "no $DATA: run tkd study --stage prepare --lengths 2s first" >&2; exit 1; }
[[ -d "$DATA/features/kws-streaming-mfcc20-8000hz" ]] ||
  "$TKD" features --dataset "$DATA" --preset kws-streaming-mfcc20-8000hz --jobs "$JOBS" -q

rows=()
for s in lstm-p tc-resnet crnn att-rnn mhatt-rnn; do
  run="$RUNS/study-$s"
  if [[ ! -f "$run/metrics.json" ]]; then
    start=$(date +%s)
    # The study's 1,000 steps at 2 s, and 3,000 for the two students that classify from a recurrence's last step
    # (Recipes/study/crnn.yaml says why).
    steps=1000
    [[ $s == crnn || $s == lstm-p ]] && steps=3000
    "$TKD" train --dataset "$DATA" --config "Recipes/study/$s.yaml" --name "study-$s" --runs "$RUNS" \
      --steps "$steps" --jobs "$JOBS" -q
    echo "$s: trained in $(( $(date +%s) - start )) s" >&2
  fi
  ck="$run/best.safetensors"
  for p in float32 int8; do
    dir="$OUT/$s-$p"
    if [[ ! -f "$dir/deploy.json" ]]; then
      if [[ $p == int8 ]]; then
        "$TKD" export --checkpoint "$ck" --out "$dir" --precision int8 --calibration "$DATA" >/dev/null
      else
        "$TKD" export --checkpoint "$ck" --out "$dir" >/dev/null
      fi
    fi
    [[ -f "$dir/ort.json" ]] || "$PYTHON" Scripts/onnx_evaluate.py --model "$dir" --dataset "$DATA" \
      --out "$dir/ort.json" >/dev/null
    [[ -f "$dir/tkd.json" ]] || "$TKD" evaluate --model "$dir" --dataset "$DATA" --details "$dir/tkd.json" \
      --out "$dir/tkd-metrics.json" >/dev/null
  done
  # The features graph too: the agreement of ONNX Runtime with tkd on the same stored features.
  fdir="$OUT/$s-features"
  [[ -f "$fdir/deploy.json" ]] || "$TKD" export --checkpoint "$ck" --out "$fdir" --input features >/dev/null
  [[ -f "$fdir/ort.json" ]] || "$PYTHON" Scripts/onnx_evaluate.py --model "$fdir" --dataset "$DATA" \
    --out "$fdir/ort.json" >/dev/null
  [[ -f "$run/native.json" ]] || "$TKD" evaluate --checkpoint "$ck" --dataset "$DATA" --details "$run/native.json" \
    --out "$run/native-metrics.json" >/dev/null
  rows+=("$s")
done

"$PYTHON" - "$RUNS" "$OUT" "$("$TKD" version)" "${rows[@]}" <<'PY'
import datetime, json, os, sys
import numpy as np
runs, out, version, students = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
table, records = [], []
print("| student | float32 MB | int8 MB | checkpoint (tkd) | float32 (ORT) | int8 (ORT) | Δ int8 | int8 (tkd runner) | audio graph: ORT ↔ tkd | features graph: ORT ↔ tkd |")
print("|---|---|---|---|---|---|---|---|---|---|")
for s in students:
    native = json.load(open(os.path.join(runs, f"study-{s}", "native.json")))
    r = {"student": s, "examples": len(native["ids"])}
    for p in ("float32", "int8"):
        d = os.path.join(out, f"{s}-{p}")
        m = json.load(open(os.path.join(d, "deploy.json")))
        ort, tkd = json.load(open(os.path.join(d, "ort.json"))), json.load(open(os.path.join(d, "tkd.json")))
        assert ort["ids"] == native["ids"] == tkd["ids"]
        r[p] = {"bytes": m["size"]["model_bytes"], "ort_accuracy": ort["accuracy"],
                "tkd_runner_accuracy": float(np.mean(np.array(tkd["predicted"]) == np.array(tkd["labels"]))),
                "ort_vs_tkd_max_abs": float(np.abs(np.array(ort["probabilities"]) - np.array(tkd["probabilities"])).max()),
                "ort_vs_tkd_prediction_agreement": float(np.mean(np.array(ort["predicted"]) == np.array(tkd["predicted"])))}
    acc = float(np.mean(np.array(native["predicted"]) == np.array(native["labels"])))
    ort_f = json.load(open(os.path.join(out, f"{s}-float32", "ort.json")))
    r["checkpoint_accuracy"] = acc
    r["float32_ort_vs_native_max_abs"] = float(np.abs(np.array(ort_f["probabilities"]) - np.array(native["probabilities"])).max())
    r["float32_ort_vs_native_prediction_agreement"] = float(np.mean(np.array(ort_f["predicted"]) == np.array(native["predicted"])))
    ort_x = json.load(open(os.path.join(out, f"{s}-features", "ort.json")))
    assert ort_x["ids"] == native["ids"]
    r["features_graph_ort_vs_native_max_abs"] = float(np.abs(np.array(ort_x["probabilities"]) - np.array(native["probabilities"])).max())
    r["features_graph_ort_vs_native_prediction_agreement"] = float(np.mean(np.array(ort_x["predicted"]) == np.array(native["predicted"])))
    records.append(r)
    f, q = r["float32"], r["int8"]
    print(f"| {s} | {f['bytes']/1048576:.2f} | {q['bytes']/1048576:.2f} | {100*acc:.1f} | {100*f['ort_accuracy']:.1f} | "
          f"{100*q['ort_accuracy']:.1f} | {100*(q['ort_accuracy']-f['ort_accuracy']):+.1f} | {100*q['tkd_runner_accuracy']:.1f} | "
          f"{100*r['float32_ort_vs_native_prediction_agreement']:.1f} % (max Δp {r['float32_ort_vs_native_max_abs']:.1e}) | "
          f"{100*r['features_graph_ort_vs_native_prediction_agreement']:.1f} % (max Δp {r['features_graph_ort_vs_native_max_abs']:.1e}) |")
path = f"Benchmarks/results/int8-{datetime.date.today().isoformat()}.json"
json.dump({"tool": version, "dataset": "study standard 2s (test split)", "students": records}, open(path, "w"), indent=2)
print(f"\nwritten: {path}")
PY
