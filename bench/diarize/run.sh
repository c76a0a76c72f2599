#!/usr/bin/env bash
# Clustering cost on the client: diarize.Cluster on 10 minutes, 1 hour and
# 4 hours of 6 synthetic voices (one 192-dimension embedding per 0.75 s
# window: 800, 4800 and 19200 of them), in auto mode, measured against an
# anchor in the same run:
#
#   anchor: the dense n×n cosine affinity of the 10-minute input alone (the
#           first step of clustering every window at once), so times read
#           as multiples of one machine-independent unit of work.
#   memory: peak resident set (/usr/bin/time -v) of a process that
#           clusters, minus that of one that only makes the same input;
#           plus the live-heap peak sampled inside the process.
#
# Usage: bench/diarize/run.sh [ROUNDS]   (default 3; medians are printed)
# Targets (issue 13): one hour in <= 2 s on 2 cores and <= 300 MB extra
# peak memory. GOMAXPROCS defaults to 2. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
export GOMAXPROCS=${GOMAXPROCS:-2}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/diarizebench" ./bench/diarize

field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
rss_kb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }

anchor_line=$("$bin/diarizebench" -mode anchor -minutes 10 -rounds "$rounds")
anchor=$(field "$anchor_line" seconds)
echo "anchor: dense 800x800 cosine affinity, $anchor s (GOMAXPROCS=$GOMAXPROCS)"
printf '%8s %6s %9s %9s %10s %11s %11s %9s %9s\n' minutes n seconds xanchor x10min extra_rss_mb heap_peak_mb speakers accuracy
base_t=""
base_m=""
fail=0
for minutes in 10 60 240; do
	/usr/bin/time -v "$bin/diarizebench" -mode input -minutes "$minutes" >/dev/null 2>"$bin/in.time"
	line=$(/usr/bin/time -v "$bin/diarizebench" -mode cluster -minutes "$minutes" -rounds "$rounds" 2>"$bin/cl.time")
	t=$(field "$line" seconds)
	extra=$(awk -v a="$(rss_kb "$bin/cl.time")" -v b="$(rss_kb "$bin/in.time")" 'BEGIN { printf "%.1f", (a - b) / 1024 }')
	[ -n "$base_t" ] || base_t=$t
	printf '%8s %6s %9s %9s %10s %11s %11s %9s %9s\n' "$minutes" "$(field "$line" n)" "$t" \
		"$(awk -v t="$t" -v a="$anchor" 'BEGIN { printf "%.1f", t / a }')" \
		"$(awk -v t="$t" -v b="$base_t" 'BEGIN { printf "%.2f", t / b }')" \
		"$extra" "$(field "$line" heap_peak_mb)" "$(field "$line" speakers)" "$(field "$line" accuracy)"
	if [ "$minutes" = 60 ]; then
		awk -v t="$t" -v m="$extra" 'BEGIN { exit !(t <= 2 && m <= 300) }' || fail=1
	fi
	[ "$(field "$line" speakers)" = 6 ] || fail=1
done
if [ "$fail" = 0 ]; then
	echo "targets met: 1 h within 2 s and 300 MB extra, 6 speakers found at every length"
else
	echo "TARGET MISSED (see the 60-minute row and the speaker counts)"
	exit 1
fi
