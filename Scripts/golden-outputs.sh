#!/usr/bin/env bash
# Runs a small end-to-end pipeline with a given tkd binary and prints the SHA-256 of every file it wrote,
# so that two builds (before and after a refactoring) can be compared output for output:
#
#   Scripts/golden-outputs.sh OLD_TKD /tmp/golden > before.txt
#   Scripts/golden-outputs.sh NEW_TKD /tmp/golden > after.txt
#   diff before.txt after.txt
#
# Use the same WORK folder for both runs: a few outputs record absolute paths (cache.json's teacher).
# The pipeline: demo corpus → the 2-s and 8-s demo datasets → three feature stores → a short bundled-teacher
# run → teacher caches (from that teacher and from the committed tiny Hugging Face fixture, whose weights do
# not depend on the trainer) → short student runs (oracle target, fixture-teacher target, a stopped-and-resumed
# run) → evaluate → verify --json → report. About 4 minutes on 2 cores.
set -euo pipefail
TKD=$(readlink -f "$1")
WORK=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
q() { "$TKD" "$@" -q >/dev/null; }
mkdir configs
for f in teacher/demo train/demo/tc-resnet train/demo/att-rnn train/demo/crnn; do
  sed 's/^eval_every: .*/eval_every: 5/' "$ROOT/Recipes/$f.yaml" > "configs/$(basename "$(dirname "$f")")-$(basename "$f").yaml"
done
"$TKD" corpus demo --out corpus --speakers 6 --jobs 2 -q >/dev/null
q generate --recipe "$ROOT/Recipes/demo.yaml" --corpus corpus --out noisy --jobs 2
for p in kws-streaming-mfcc20 kws-streaming-mfcc40 logmel40; do q features --dataset noisy/2s --preset $p --jobs 2; done
q features --dataset noisy/8s --preset kws-streaming-mfcc20 --jobs 2 --dtype float16
q teacher train --dataset noisy/2s --config configs/teacher-demo.yaml --out teacher --steps 30 --jobs 2
q teacher cache --dataset noisy/2s --teacher teacher --jobs 2
q teacher cache --dataset noisy/2s --teacher "$ROOT/Tests/TeacherTests/Fixtures/base" --query first --jobs 2 --dtype float16
fixture=$(cd noisy/2s/teachers && for d in *; do if grep -q Fixtures/base "$d/cache.json"; then echo "$d"; fi; done)
q train --dataset noisy/2s --config configs/demo-tc-resnet.yaml --runs runs --steps 20 --jobs 2
q train --dataset noisy/2s --config configs/demo-att-rnn.yaml --runs runs --steps 20 --jobs 2 \
  --kd-lambda 0.25 --kd-target "teacher:$fixture"
q train --dataset noisy/2s --config configs/demo-crnn.yaml --runs runs --steps 20 --jobs 2 --kd-lambda 0.5 --stop-after 7
q train --dataset noisy/2s --config configs/demo-crnn.yaml --runs runs --steps 20 --jobs 1 --kd-lambda 0.5
"$TKD" evaluate --checkpoint runs/demo-tc-resnet/best.safetensors --dataset noisy/2s --json -q > evaluate.json
"$TKD" verify --dataset noisy/2s --corpus corpus --json -q > verify-2s.json || true
"$TKD" verify --dataset noisy/8s --corpus corpus --json -q > verify-8s.json || true
"$TKD" report --dataset noisy/2s --runs runs --out report.html > /dev/null
find . -type f -print0 | sort -z | xargs -0 sha256sum
