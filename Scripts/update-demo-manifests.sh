#!/usr/bin/env bash
# Regenerates Manifests/demo/ — the canonical manifests of Recipes/demo.yaml on the default demo corpus —
# after a deliberate change to generation. Review the diff before committing it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
swift build -c release --product tkd
tkd=.build/release/tkd
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$tkd" corpus demo --out "$work/corpus" --jobs 2 --quiet
"$tkd" generate --recipe Recipes/demo.yaml --corpus "$work/corpus" --out "$work/out" --plan-only --jobs 2 --quiet
for variant in 2s 8s; do
  mkdir -p "Manifests/demo/$variant"
  cp "$work/out/$variant/manifests/"*.jsonl "$work/out/$variant/dataset.json" "Manifests/demo/$variant/"
done
espeak-ng --version | sed -n 's/.*text-to-speech: \([^ ]*\).*/\1/p' > Manifests/demo/espeak-ng-version
git status --short Manifests/demo
