#!/usr/bin/env bash
# tkd verify at scale: a 300-speaker demo corpus, Recipes/experiments/verify-at-scale.yaml (8-s examples,
# every keyword at -5 dB SNR, bursty and modulated noises among the six), then `tkd verify --corpus` over
# every example. Not part of `make test` (about an hour on 2 cores); the result is committed to
# Benchmarks/results/verify-at-scale.json with the command, version, fingerprints and wall times.
#
#   Scripts/verify-at-scale.sh                  # WORK=/tmp/tkd-verify-at-scale SPEAKERS=300 UTTERANCES=3 JOBS=2
#   TKD=/path/to/tkd Scripts/verify-at-scale.sh # a given binary instead of a release build
#
# A rerun at the same commit on the same manifests skips the verify and keeps the recorded result.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
WORK="${WORK:-/tmp/tkd-verify-at-scale}"
SPEAKERS="${SPEAKERS:-300}"
UTTERANCES="${UTTERANCES:-3}"
JOBS="${JOBS:-2}"
RECIPE="$repo/Recipes/experiments/verify-at-scale.yaml"
RESULT="$repo/Benchmarks/results/verify-at-scale.json"
if [ -z "${TKD:-}" ]; then
  swift build -c release --product tkd >/dev/null
  TKD="$repo/.build/release/tkd"
fi
mkdir -p "$WORK"
version="tkd $("$TKD" version | awk '$1 == "tkd" {print $2}') @ $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo '+changes')"
now() { date +%s.%N; }

t0=$(now)
corpus="$WORK/corpus-${SPEAKERS}x${UTTERANCES}"
# Stages already finished in WORK are reused (each command resumes or does nothing); their times then say so.
reused=""
[ -f "$corpus/demo_corpus.json" ] && reused="$reused corpus"
[ -f "$WORK/data/dataset.json" ] && reused="$reused generate"
"$TKD" corpus demo --out "$corpus" --speakers "$SPEAKERS" --utterances "$UTTERANCES" --jobs "$JOBS" --quiet >/dev/null
t1=$(now)
"$TKD" generate --recipe "$RECIPE" --corpus "$corpus" --out "$WORK/data" --jobs "$JOBS" --quiet >/dev/null
t2=$(now)
dataset="$WORK/data"  # one variant: generate writes it straight into --out
manifests="$(cat "$dataset"/manifests/{training,validation,testing}.jsonl | sha256sum | cut -d' ' -f1)"
if [ -f "$RESULT" ] && grep -q "\"version\": \"$version\"" "$RESULT" && grep -q "\"manifests_sha256\": \"$manifests\"" "$RESULT"; then
  echo "verify-at-scale: $RESULT already records $version on these manifests; nothing to do"
  exit 0
fi
set +e
"$TKD" verify --dataset "$dataset" --corpus "$corpus" --jobs "$JOBS" --json >"$WORK/verify.json"
status=$?
set -e
t3=$(now)
python3 - "$WORK/verify.json" "$RESULT" "$status" "$version" "$manifests" "$SPEAKERS" "$UTTERANCES" "$JOBS" \
  "$(awk "BEGIN {print $t1 - $t0}")" "$(awk "BEGIN {print $t2 - $t1}")" "$(awk "BEGIN {print $t3 - $t2}")" \
  "$reused" <<'PY'
import json, sys, platform, os
report_path, out, status, version, manifests, speakers, utterances, jobs, t_corpus, t_gen, t_verify, reused = sys.argv[1:]
r = json.load(open(report_path))
checks = {c["name"]: {"checked": c["checked"], "failed": c["failed"]} for c in r["checks"] if c.get("skipped") is None}
result = {
    "command": f"Scripts/verify-at-scale.sh (SPEAKERS={speakers} UTTERANCES={utterances} JOBS={jobs})",
    "version": version,
    "recipe": "Recipes/experiments/verify-at-scale.yaml",
    "manifests_sha256": manifests,
    "examples": r["examples"],
    "audio_checked": r["audio_checked"],
    "exit_status": int(status),
    "failures": len(r["failures"]),
    "first_failures": r["failures"][:20],
    "checks": checks,
    "wall_seconds": {"corpus": round(float(t_corpus), 1), "generate": round(float(t_gen), 1),
                     "verify": round(float(t_verify), 1)},
    "reused_stages": reused.split(),
    "machine": f"{platform.machine()}, {os.cpu_count()} cores",
}
os.makedirs(os.path.dirname(out), exist_ok=True)
tmp = out + ".partial"
with open(tmp, "w") as f:
    json.dump(result, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(tmp, out)
print(f"verify-at-scale: {result['examples']} examples, {result['failures']} failures, exit {status}; "
      f"verify {result['wall_seconds']['verify']} s → {out}")
PY
