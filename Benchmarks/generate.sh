#!/usr/bin/env bash
# Benchmark: `tkd generate` against a straightforward Python implementation of the same recipe
# (Benchmarks/peers/generate_peer.py: numpy + soundfile), side by side in one run.
#
#   Benchmarks/generate.sh                 # defaults below; needs `make reference-env` and /usr/bin/time
#   SPEAKERS=40 UTTERANCES=5 REPEAT=3 Benchmarks/generate.sh
#
# For each variant (2s, 8s) and --jobs (1, 2) it runs both tools REPEAT times, alternating, each into a
# fresh folder, and reports the median wall time as examples/s and audio-seconds/s, the ratio
# tkd / peer, and the peak resident memory (/usr/bin/time -v). A second corpus 4x larger checks that
# memory stays flat as the corpus grows. Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
SPEAKERS="${SPEAKERS:-40}"
UTTERANCES="${UTTERANCES:-5}"
REPEAT="${REPEAT:-3}"
WORK="${WORK:-/tmp/tkd-bench-generate}"
PY="${PY:-$repo/.venv-reference/bin/python}"
RECIPE="$repo/Recipes/demo.yaml"

[ -x "$PY" ] || { echo "generate.sh: $PY not found; run 'make reference-env' first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "generate.sh: /usr/bin/time not found; apt-get install time" >&2; exit 1; }
swift build -c release --product tkd >/dev/null
TKD="$repo/.build/release/tkd"
mkdir -p "$WORK"

corpus() {  # corpus SPEAKERS UTTERANCES → path (built once, reused)
  local dir="$WORK/corpus-$1x$2"
  [ -f "$dir/demo_corpus.json" ] && grep -q '"complete" : true' "$dir/demo_corpus.json" ||
    "$TKD" corpus demo --out "$dir" --speakers "$1" --utterances "$2" --jobs 2 --quiet >/dev/null
  echo "$dir"
}

measure() {  # measure LABEL CMD... → "seconds maxrss_kb"
  local out="$WORK/time.txt"
  /usr/bin/time -v -o "$out" "$@" >/dev/null
  awk -F': ' '/Elapsed \(wall clock\)/ {split($2, t, ":"); s = (length(t) == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2]}
              /Maximum resident set size/ {m = $2} END {printf "%.3f %d\n", s, m}' "$out"
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

big="$(corpus "$SPEAKERS" "$UTTERANCES")"
small="$(corpus $((SPEAKERS / 4)) "$UTTERANCES")"
echo "| variant | jobs | examples | tkd ex/s | peer ex/s | tkd audio-s/s | peer audio-s/s | ratio | tkd peak RSS | peer peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for variant in 2s 8s; do
  seconds=${variant%s}
  for jobs in 1 2; do
    : > "$WORK/tkd.txt"; : > "$WORK/peer.txt"
    for _ in $(seq "$REPEAT"); do
      rm -rf "$WORK/out-tkd" "$WORK/out-peer"
      measure "$TKD" generate --recipe "$RECIPE" --corpus "$big" --out "$WORK/out-tkd" --variant "$variant" --jobs "$jobs" --quiet >> "$WORK/tkd.txt"
      rm -rf "$WORK/out-tkd" "$WORK/out-peer"
      measure "$PY" Benchmarks/peers/generate_peer.py --recipe "$RECIPE" --corpus "$big" --out "$WORK/out-peer" --variant "$variant" --jobs "$jobs" >> "$WORK/peer.txt"
    done
    rm -rf "$WORK/out-tkd"
    "$TKD" generate --recipe "$RECIPE" --corpus "$big" --out "$WORK/out-tkd" --variant "$variant" --quiet >/dev/null
    n=$(cat "$WORK/out-tkd/manifests/"*.jsonl | wc -l)
    t_tkd=$(cut -d' ' -f1 "$WORK/tkd.txt" | median); m_tkd=$(cut -d' ' -f2 "$WORK/tkd.txt" | sort -n | tail -1)
    t_peer=$(cut -d' ' -f1 "$WORK/peer.txt" | median); m_peer=$(cut -d' ' -f2 "$WORK/peer.txt" | sort -n | tail -1)
    awk -v v="$variant" -v j="$jobs" -v n="$n" -v s="$seconds" -v a="$t_tkd" -v b="$t_peer" -v ma="$m_tkd" -v mb="$m_peer" 'BEGIN {
      printf "| %s | %d | %d | %.0f | %.0f | %.0f | %.0f | %.2fx | %.0f MB | %.0f MB |\n", v, j, n, n/a, n/b, n*s/a, n*s/b, b/a, ma/1024, mb/1024 }'
  done
done
# Memory as the corpus grows: peak RSS of tkd on the 4x smaller and the full corpus (8s, --jobs 2).
for c in "$small" "$big"; do
  rm -rf "$WORK/out-tkd"
  read -r t m < <(measure "$TKD" generate --recipe "$RECIPE" --corpus "$c" --out "$WORK/out-tkd" --variant 8s --jobs 2 --quiet)
  clips=$(find "$c" -name '*_nohash_*.wav' | wc -l)
  echo "memory: corpus of $clips clips → tkd peak RSS $((m / 1024)) MB (${t} s)"
done
rm -rf "$WORK/out-tkd" "$WORK/out-peer"
