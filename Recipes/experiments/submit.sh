#!/usr/bin/env bash
# Submits the whole Table 2 protocol as dependent Slurm jobs (see table2.sbatch and README.md).
#   DATA=/scratch/tkd CORPUS=/data/speech_commands_v0.02 PRETRAINED=/models/wav2vec2-xls-r-300m Recipes/experiments/submit.sh
# (the paper's teacher: one first-frame fine-tune per length), or IMPORTS=… (per-length exports of teachers
# fine-tuned elsewhere) or TEACHER=… (one classifier for every length) instead of PRETRAINED.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${DATA:?}"; : "${CORPUS:?}"
[[ -n "${PRETRAINED:-}${IMPORTS:-}${TEACHER:-}" ]] || { echo "submit.sh: set PRETRAINED, IMPORTS or TEACHER" >&2; exit 2; }
export DATA CORPUS PRETRAINED="${PRETRAINED:-}" IMPORTS="${IMPORTS:-}" TEACHER="${TEACHER:-}" TKD="${TKD:-tkd}"
export RECIPES="${RECIPES:-$(dirname "$here")}"
gen=$(sbatch --parsable --array=0-15 "$here/table2.sbatch" generate)
fea=$(sbatch --parsable --array=0-15 --dependency=afterok:"$gen" "$here/table2.sbatch" features)
after="$gen"
if [[ -n "$PRETRAINED" ]]; then
  # One fine-tune per length; each task requeues itself until its metrics.json exists.
  lengths=$(wc -w <<< "${LENGTHS:-2s 4s 6s 8s}")
  tea=$(sbatch --parsable --array=0-$(( lengths - 1 )) --dependency=afterok:"$gen" "$here/table2.sbatch" teacher)
  after="$tea"
fi
cac=$(sbatch --parsable --array=0-15 --dependency=afterok:"$after" "$here/table2.sbatch" cache)
# The grid (and its overrides: LENGTHS, STUDENTS, LAMBDAS, SEEDS, TARGET) as table2.sbatch reads it.
cells=$(( $(wc -w <<< "${LENGTHS:-2s 4s 6s 8s}") * $(wc -w <<< "${STUDENTS:-lstm-p tc-resnet crnn att-rnn mhatt-rnn}") \
  * $(wc -w <<< "${LAMBDAS:-0 0.1 0.25 0.5}") * $(wc -w <<< "${SEEDS:-1 2 3}") ))
# Train tasks requeue themselves until their metrics.json exists; the report waits for every one (afterany:
# a requeued task has not ended) and fails, after writing the reports, when a cell is still missing.
trn=$(sbatch --parsable --array=0-$(( cells - 1 )) --dependency=afterok:"$fea":"$cac" "$here/table2.sbatch" train)
rep=$(sbatch --parsable --dependency=afterany:"$trn" "$here/table2.sbatch" report)
echo "submitted: generate $gen, features $fea, ${tea:+teacher $tea, }cache $cac, train $trn ($cells tasks), report $rep"
