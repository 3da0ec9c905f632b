#!/usr/bin/env bash
# Submits the whole Table 2 protocol as five dependent Slurm jobs (see table2.sbatch and README.md).
#   DATA=/scratch/tkd CORPUS=/data/speech_commands_v0.02 TEACHER=/models/w2v2-ks Recipes/experiments/submit.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${DATA:?}"; : "${CORPUS:?}"; : "${TEACHER:?}"
export DATA CORPUS TEACHER TKD="${TKD:-tkd}" RECIPES="${RECIPES:-$(dirname "$here")}"
gen=$(sbatch --parsable --array=0-15 "$here/table2.sbatch" generate)
fea=$(sbatch --parsable --array=0-15 --dependency=afterok:"$gen" "$here/table2.sbatch" features)
cac=$(sbatch --parsable --array=0-15 --dependency=afterok:"$gen" "$here/table2.sbatch" cache)
trn=$(sbatch --parsable --array=0-239 --dependency=afterok:"$fea":"$cac" "$here/table2.sbatch" train)
rep=$(sbatch --parsable --dependency=afterany:"$trn" "$here/table2.sbatch" report)
echo "submitted: generate $gen, features $fea, cache $cac, train $trn (240 tasks), report $rep"
