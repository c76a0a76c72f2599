#!/usr/bin/env bash
# Staging a large file versus standard tools doing the same work, measured
# in the same run: copy it, hash it (SHA-256) and make the copy durable.
#
#   anchor:  tee COPY < SRC | sha256sum; sync
#   ours:    stagebench -src SRC -cache DIR   (staging.Stage: copy + hash in
#            one pass, fsync, rename, fsync of the folder)
#
# Usage: bench/staging/run.sh [SIZE_MB] [ROUNDS]   (default 1024 MB, 5 rounds)
# The work folder must be on a real disk, not tmpfs: BENCH_DIR, default
# /var/tmp. The source is read once beforehand so both sides read it from
# the page cache; each side starts with no dirty pages. Rounds alternate
# which side goes first. Prints the median of each, their ratio
# ours/anchor and the median of the rounds' own ratios (steadier on a busy
# machine: the two sides of a round run back to back); the target is at
# most 1.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mb=${1:-1024}
rounds=${2:-5}
base=${BENCH_DIR:-/var/tmp}
work=$(mktemp -d "$base/staging-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

fs=$(df --output=fstype "$work" | tail -n 1)
[ "$fs" != tmpfs ] || { echo "$work is on tmpfs: set BENCH_DIR to a folder on disk" >&2; exit 1; }

go build -o "$work/stagebench" ./bench/staging
echo "source: $size_mb MiB of random bytes in $work ($fs)"
head -c "$((size_mb << 20))" /dev/urandom >"$work/src.bin"
cat "$work/src.bin" >/dev/null
sync

now() { date +%s%N; }
secs() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e9 }'; }
anchor() {
  rm -f "$work/copy.bin"; sync
  local t0; t0=$(now)
  tee "$work/copy.bin" <"$work/src.bin" | sha256sum >"$work/anchor.sum"
  sync
  echo $(( $(now) - t0 ))
}
ours() {
  rm -rf "$work/cache"; sync
  local t0; t0=$(now)
  "$work/stagebench" -src "$work/src.bin" -cache "$work/cache" >"$work/ours.out"
  echo $(( $(now) - t0 ))
}

a=(); o=(); r=()
for ((i = 1; i <= rounds; i++)); do
  if ((i % 2)); then ta=$(anchor); to=$(ours); else to=$(ours); ta=$(anchor); fi
  a+=("$ta"); o+=("$to"); r+=("$(awk -v o="$to" -v a="$ta" 'BEGIN { printf "%.4f", o / a }')")
  echo "round $i: anchor $(secs "$ta") s, staging $(secs "$to") s, ratio ${r[-1]}"
done

want=$(cut -d' ' -f1 "$work/anchor.sum")
got=$(cut -d' ' -f1 "$work/ours.out")
[ "$want" = "$got" ] || { echo "hash mismatch: sha256sum $want, staging $got" >&2; exit 1; }
cmp -s "$work/src.bin" "$work/cache/$got.bin" || { echo "staged copy differs from the source" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ma=$(median "${a[@]}"); mo=$(median "${o[@]}")
echo
echo "$size_mb MiB, median of $rounds rounds: anchor (tee | sha256sum; sync) $(secs "$ma") s, staging $(secs "$mo") s"
awk -v o="$mo" -v a="$ma" -v r="$(median "${r[@]}")" \
  'BEGIN { printf "ratio staging/anchor: %.2f of the medians, %.2f median of the rounds (target <= 1.10)\n", o / a, r }'
