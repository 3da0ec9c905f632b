#!/usr/bin/env python3
"""Refresh the generated parts of a study's RESULTS.md from `tkd study --stage report`'s study.md.

    tkd study --recipe Recipes/study/standard.yaml --out DIR --ledger Recipes/study/cells --stage report
    Scripts/study-results.py DIR/study.md Recipes/study/RESULTS.md

Between `<!-- generated: begin … -->` and `<!-- generated: end -->` go study.md's tables (its sections one
heading level down); from `<!-- provenance: begin … -->` to the end, its provenance. The hand-written prose
around them is kept. Written atomically; a RESULTS.md without the markers is refused.
"""
import os
import sys
import tempfile

BEGIN, END, PROV = "<!-- generated: begin", "<!-- generated: end -->", "<!-- provenance: begin"


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: study-results.py STUDY_MD RESULTS_MD", file=sys.stderr)
        return 2
    study, results = sys.argv[1], sys.argv[2]
    md = open(study, encoding="utf-8").read()
    text = open(results, encoding="utf-8").read()
    if not md.startswith("# Study "):
        print(f"{study}: not a study.md (expected a first line '# Study …')", file=sys.stderr)
        return 1
    for marker in (BEGIN, END, PROV):
        if text.count(marker) != 1:
            print(f"{results}: expected one '{marker}' marker, found {text.count(marker)}", file=sys.stderr)
            return 1
    body = md.split("\n", 1)[1].lstrip("\n")
    if "## Provenance" not in body:
        print(f"{study}: no '## Provenance' section", file=sys.stderr)
        return 1
    tables, provenance = body.split("## Provenance", 1)
    tables = ("\n" + tables).replace("\n## ", "\n### ").lstrip("\n")
    b = text.index(BEGIN)
    b = text.index("\n", b) + 1
    e = text.index(END)
    p = text.index(PROV)
    p = text.index("\n", p) + 1
    out = text[:b] + tables.rstrip("\n") + "\n\n" + text[e:p] + "## Provenance" + provenance
    folder = os.path.dirname(os.path.abspath(results))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".results-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(out)
    os.replace(tmp, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
