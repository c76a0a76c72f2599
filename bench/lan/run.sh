#!/usr/bin/env bash
# One long file over a 100 Mb/s link with 1 ms of delay, client and
# devserver in one network namespace (see bench/lan/main.go for what is
# measured and the two targets).
#
# The link: the namespace's loopback gets an htb root whose default class
# is unlimited; u32 filters send the relay's ports 9000 and 9001 (both
# directions) to a class whose leaf is tbf at 100 Mb/s. Only the relayed
# leg is limited, so the relay's hop to the devserver does not count
# twice. Both directions share one tbf (a real link has one each way; the
# answers are small). The delay: netem is missing on this kernel, so the
# relay holds every piece of data 1 ms in each direction (2 ms round
# trip, as netem's 1 ms on both ends of a link would give).
#
# The devserver runs with --skip-compute: it stands for a GPU server
# whose compute is not on this machine's 2 cores.
#
# Usage: sudo bench/lan/run.sh [ROUNDS] [FORMAT]   (default 3 mp3; FORMAT
# mp3 or wav). Needs root (ip netns, tc) and ffmpeg; skips otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
format=${2:-mp3}
rate=${LAN_RATE:-100mbit}
if [[ $(id -u) != 0 ]]; then
	echo "bench/lan: skipped: needs root for ip netns and tc (run it with sudo)"
	exit 0
fi
for tool in ip tc ffmpeg; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench/lan: skipped: $tool is not installed"
		exit 0
	fi
done
ns=lanbench$$
bin=$(mktemp -d)
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$bin"
}
trap cleanup EXIT
go build -o "$bin/lanbench" ./bench/lan
go build -o "$bin/triton-devserver" ./cmd/triton-devserver

ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx tc qdisc add dev lo root handle 1: htb default 20
nsx tc class add dev lo parent 1: classid 1:10 htb rate 10gbit 2>/dev/null
nsx tc class add dev lo parent 1: classid 1:20 htb rate 10gbit 2>/dev/null
nsx tc qdisc add dev lo parent 1:10 handle 10: tbf rate "$rate" burst 256kb latency 50ms
for port in 9000 9001; do
	nsx tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport $port 0xffff flowid 1:10
	nsx tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport $port 0xffff flowid 1:10
done
echo "link: tbf $rate burst 256kb on the relay's ports; 1 ms delay each way in the relay"

# Not through nsx: $! must be the devserver itself (ip netns exec execs
# it), not a subshell, or cleanup would leave it running.
ip netns exec "$ns" "$bin/triton-devserver" --addr 127.0.0.1:8001 --models dtmf --skip-compute >"$bin/dev.out" 2>"$bin/dev.err" &
pid=$!
for _ in $(seq 200); do
	grep -q 'listening on' "$bin/dev.out" && break
	sleep 0.05
done
grep -q 'listening on' "$bin/dev.out" || { echo "devserver did not start: $(cat "$bin/dev.err")" >&2; exit 1; }
echo "load before: $(uptime)"
nsx "$bin/lanbench" -server 127.0.0.1:8001 -rounds "$rounds" -format "$format" -dir "${BENCH_DIR:-/var/tmp}" ${LAN_ARGS:-}
echo "load after: $(uptime)"
nsx tc -s qdisc show dev lo | sed -n '/tbf/,+2p'
