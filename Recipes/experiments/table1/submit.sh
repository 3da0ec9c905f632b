#!/usr/bin/env bash
# Submits the whole Table 1 protocol as dependent Slurm jobs (see table1.sbatch and README.md).
#   DATA=/scratch/tkd-fsd CORPUS=/data/FSD50K PRETRAINED=/models/wav2vec2-base Recipes/experiments/table1/submit.sh
# (the paper's teacher: fine-tuned here), or TEACHER=… (a multi-label classifier fine-tuned elsewhere) instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${DATA:?}"; : "${CORPUS:?}"
[[ -n "${PRETRAINED:-}${TEACHER:-}" ]] || { echo "submit.sh: set PRETRAINED or TEACHER" >&2; exit 2; }
export DATA CORPUS PRETRAINED="${PRETRAINED:-}" TEACHER="${TEACHER:-}" TKD="${TKD:-tkd}"
export RECIPES="${RECIPES:-$(dirname "$(dirname "$here")")}"
gen=$(sbatch --parsable --array=0-15 "$here/table1.sbatch" generate)
fea=$(sbatch --parsable --array=0-15 --dependency=afterok:"$gen" "$here/table1.sbatch" features)
after="$gen"
if [[ -n "$PRETRAINED" ]]; then
  tea=$(sbatch --parsable --dependency=afterok:"$gen" "$here/table1.sbatch" teacher)
  after="$tea"
fi
cac=$(sbatch --parsable --array=0-15 --dependency=afterok:"$after" "$here/table1.sbatch" cache)
cells=$(( $(wc -w <<< "${STUDENTS:-lstm-p tc-resnet crnn att-rnn mhatt-rnn}") * $(wc -w <<< "${LAMBDAS:-0 0.1 0.25 0.5}") \
  * $(wc -w <<< "${SEEDS:-1 2 3}") ))
trn=$(sbatch --parsable --array=0-$(( cells - 1 )) --dependency=afterok:"$fea":"$cac" "$here/table1.sbatch" train)
rep=$(sbatch --parsable --dependency=afterany:"$trn" "$here/table1.sbatch" report)
echo "submitted: generate $gen, features $fea, ${tea:+teacher $tea, }cache $cac, train $trn ($cells tasks), report $rep"
