#!/usr/bin/env bash
# Benchmark: tkd's front ends against torchaudio, librosa and kaldi-native-fbank with identical settings,
# in one run. Needs `make reference-env`. Prints a Markdown table for BENCHMARKS.md.
#
#   Benchmarks/features.sh          # CLIPS=1000 LONG=60 REPEAT=3
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
CLIPS="${CLIPS:-1000}"; LONG="${LONG:-60}"; REPEAT="${REPEAT:-3}"
PY="${PY:-$repo/.venv-reference/bin/python}"
[ -x "$PY" ] || { echo "features.sh: $PY not found; run 'make reference-env' first" >&2; exit 1; }
swift build -c release --product tkd >/dev/null
out="$(mktemp)"; trap 'rm -f "$out"' EXIT
for preset in torchaudio-melspec librosa-melspec kaldi-fbank kws-streaming-mfcc20 logmel40; do
  for jobs in 1 2; do
    .build/release/tkd bench features --preset "$preset" --clips "$CLIPS" --long-seconds "$LONG" --repeat "$REPEAT" --jobs "$jobs" >> "$out"
  done
done
"$PY" Benchmarks/peers/features_peer.py --clips "$CLIPS" --long-seconds "$LONG" --repeat "$REPEAT" >> "$out"
"$PY" - "$out" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| tool | preset | workload | jobs | audio-s per CPU-s | audio-s per wall-s |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['tool']} | {r['preset']} | {r['workload']} | {r['jobs']} | {r['audio_s_per_cpu_s']:,} | {r['audio_s_per_wall_s']:,} |")
PYEOF
