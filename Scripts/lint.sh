#!/usr/bin/env bash
# make lint: the checked-in formatter configuration (.swift-format: 120 columns, 4-space indentation, one
# statement per line, ordered imports) applied in lint mode, plus the 120-column limit on every Swift line,
# counted in bytes (as the house check counts: "≥" or "…" count 3), which the formatter cannot enforce inside
# string literals and comments. Fix with
#   swift format format -i -r --configuration .swift-format Sources Tests Package.swift
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict --recursive --configuration .swift-format Sources Tests Package.swift
if long=$(LC_ALL=C grep -rnP --include='*.swift' '^.{121,}$' Sources Tests Package.swift); then
    echo "$long" | cut -c1-160 | sed 's/^/line over 120 characters: /' >&2
    exit 1
fi
echo "lint: clean (swift format, 120 columns)"
