#!/usr/bin/env bash
# Benchmark: wav2vec 2.0 forward (logits + attentions) of a wav2vec2-base-sized random-weight model, tkd
# against PyTorch + transformers (eager attention), same threads, same run, 2-s and 8-s clips. The model is
# made once by Benchmarks/peers/teacher_peer.py (no download). Needs `make reference-env`.
#
#   Benchmarks/teacher.sh        # CLIPS=4 REPEAT=3
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
CLIPS="${CLIPS:-4}"; REPEAT="${REPEAT:-3}"
PY="${PY:-$repo/.venv-reference/bin/python}"
[ -x "$PY" ] || { echo "teacher.sh: $PY not found; run 'make reference-env' first" >&2; exit 1; }
swift build -c release --product tkd >/dev/null
model="$(mktemp -d)"; out="$(mktemp)"; trap 'rm -rf "$model" "$out"' EXIT
"$PY" Benchmarks/peers/teacher_peer.py make-model "$model" 2>/dev/null
for seconds in 2 8; do
  for threads in 1 2; do
    .build/release/tkd bench teacher --teacher "$model" --seconds "$seconds" --clips "$CLIPS" --repeat "$REPEAT" --jobs "$threads" >> "$out"
    "$PY" Benchmarks/peers/teacher_peer.py run --teacher "$model" --seconds "$seconds" --clips "$CLIPS" --threads "$threads" \
      --repeat "$REPEAT" 2>/dev/null >> "$out"
  done
done
"$PY" - "$out" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {(r["tool"], r["seconds"], r["threads"]): r for r in rows}
print("| clip | threads | PyTorch RTF | tkd RTF | tkd / PyTorch speed |")
print("|---|---|---|---|---|")
for (tool, s, t) in sorted(k for k in by if k[0] == "tkd"):
    a, b = by[("tkd", s, t)], by[("pytorch", s, t)]
    print(f"| {s:g} s | {t} | {b['real_time_factor']:.4f} | {a['real_time_factor']:.4f} | {b['wall_seconds'] / a['wall_seconds']:.2f}× |")
PYEOF
