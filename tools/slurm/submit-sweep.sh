#!/usr/bin/env bash
# Submits a Hafnia sweep as a Slurm job array of --parts parts and a merge
# job that runs once every part has succeeded. The merged report, text and
# SVG in OUTDIR are the ones a single `hafnia-sim` run writes.
#
#   submit-sweep.sh [--parts=N] MODEL.hfp INPUT.npy LABELS.npy OUTDIR \
#       [hafnia-sim options, e.g. --sweep-cycles=1e2,1e4,1e6 --trials=100] \
#       [-- sbatch options, e.g. --partition=cpu --time=02:00:00]
#
# Prints the two job ids. HAFNIA_SIM names the hafnia-sim to run (default:
# the one on PATH, else this checkout's build/bin/hafnia-sim).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
parts=4
if [[ ${1:-} == --parts=* ]]; then
  parts=${1#--parts=}
  shift
fi
if [ $# -lt 4 ]; then
  sed -n '2,12p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
model=$(realpath "$1") input=$(realpath "$2") labels=$(realpath "$3")
mkdir -p "$4"
outdir=$(realpath "$4")
shift 4
sim_options=() sbatch_options=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then
    shift
    sbatch_options=("$@")
    break
  fi
  sim_options+=("$1")
  shift
done
sim=${HAFNIA_SIM:-$(command -v hafnia-sim || echo "$here/../../build/bin/hafnia-sim")}
sim=$(realpath "$sim")
rm -f "$outdir"/part-*.json

array=$(sbatch --parsable --array=0-$((parts - 1)) --chdir="$outdir" \
  --output="$outdir/part-%a.log" "${sbatch_options[@]}" \
  "$here/sweep.sbatch" "$outdir" "$sim" "$model" "$input" "$labels" \
  "${sim_options[@]}")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" --chdir="$outdir" \
  --job-name=hafnia-merge --output="$outdir/merge.log" "${sbatch_options[@]}" \
  --wrap="'$sim' merge '$outdir'/part-*.json --report='$outdir/report.json' --sweep-svg='$outdir/sweep.svg' > '$outdir/report.txt'")
merge=${merge%%;*}
echo "parts: job $array ($parts tasks); merge: job $merge"
