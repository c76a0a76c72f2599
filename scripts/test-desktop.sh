#!/usr/bin/env bash
# Starts the production desktop app (build/bin/nemo-transcribe-app) in a
# real window under Xvfb, with a PulseAudio null sink for its sound, and
# checks that the window shows the UI: a screenshot of that window alone
# (build/test-output/desktop-window.png) must be mostly not background, have
# text in its header, and read back (OCR) the title and the main controls.
# Then SIGTERM must close the app cleanly (exit status 0).
#
#   scripts/test-desktop.sh [--rebuild]
#
# The binary is rebuilt with scripts/build-app.sh when it is missing, older
# than the sources, or with --rebuild. Installs what it needs from Debian.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

app="$root/build/bin/nemo-transcribe-app"
out="$root/build/test-output"
shot="$out/desktop-window.png"
title="NeMo Transcribe"
# Words the first screen shows; OCR must find each.
expected_words=("NeMo Transcribe" "Server address" "Check server" "Queue")
ready_timeout=30 # seconds for the window to show the UI
exit_timeout=10  # seconds for the app to exit after SIGTERM

rebuild=0
case "${1:-}" in
--rebuild) rebuild=1 ;;
"") ;;
-h | --help)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "test-desktop.sh: unknown option $1" >&2
	exit 2
	;;
esac

log() { printf 'test-desktop: %s\n' "$*"; }
fail() {
	printf 'test-desktop: FAIL: %s\n' "$*" >&2
	exit 1
}

. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

apt_need xvfb xauth xdotool x11-utils imagemagick tesseract-ocr pulseaudio pulseaudio-utils

# The real ImageMagick, whatever else is first on PATH.
im() { if [ -x "/usr/bin/$1" ]; then "/usr/bin/$1" "${@:2}"; else "$@"; fi; }

# --- processes, all stopped on exit ---------------------------------------

work=$(mktemp -d)
xvfb_pid="" pulse_pid="" app_pid=""
stop_pid() {
	local pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$app_pid"
	stop_pid "$pulse_pid"
	stop_pid "$xvfb_pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_xvfb starts a virtual screen on a display number the X server picks
# itself (-displayfd: no race with other servers) and exports DISPLAY.
start_xvfb() {
	local fd_file="$work/display"
	Xvfb -displayfd 3 -screen 0 1280x900x24 -nolisten tcp 3>"$fd_file" >"$work/xvfb.log" 2>&1 &
	xvfb_pid=$!
	for _ in $(seq 100); do
		[ -s "$fd_file" ] && break
		kill -0 "$xvfb_pid" 2>/dev/null || { cat "$work/xvfb.log" >&2; fail "Xvfb did not start"; }
		sleep 0.1
	done
	[ -s "$fd_file" ] || fail "Xvfb chose no display"
	export DISPLAY=":$(head -n1 "$fd_file")"
	log "Xvfb on $DISPLAY"
}

# start_pulse starts a private PulseAudio server (its own socket, no system
# configuration, no D-Bus) whose default sink is a null sink named
# nemo_null, and exports PULSE_SERVER so programs started after it play
# there. Its monitor source, nemo_null.monitor, records what was played.
start_pulse() {
	local dir="$work/pulse"
	mkdir -p "$dir/home"
	# As root PulseAudio warns but runs in user mode; --system is not needed
	# for a server of our own.
	HOME="$dir/home" XDG_RUNTIME_DIR="$dir" XDG_CONFIG_HOME="$dir/home" DBUS_SESSION_BUS_ADDRESS=disabled: \
		pulseaudio --daemonize=no -n --exit-idle-time=-1 --use-pid-file=no \
		--realtime=no --high-priority=no --log-target=stderr \
		-L "module-native-protocol-unix socket=$dir/native auth-anonymous=1" \
		-L "module-null-sink sink_name=nemo_null sink_properties=device.description=NeMo-test-sink" \
		>"$work/pulse.log" 2>&1 &
	pulse_pid=$!
	export PULSE_SERVER="unix:$dir/native"
	for _ in $(seq 100); do
		pactl info >/dev/null 2>&1 && break
		kill -0 "$pulse_pid" 2>/dev/null || { cat "$work/pulse.log" >&2; fail "PulseAudio did not start"; }
		sleep 0.1
	done
	[ "$(pactl get-default-sink 2>/dev/null)" = nemo_null ] || { cat "$work/pulse.log" >&2; fail "PulseAudio has no null sink"; }
	log "PulseAudio at $PULSE_SERVER, default sink nemo_null"
}

# pulse_monitor_peak SECONDS records the null sink's monitor for that long
# and prints the largest absolute 16-bit sample heard (0: silence).
pulse_monitor_peak() {
	# A short latency: by default the server delivers a recording in
	# fragments of about two seconds.
	timeout "$1" parec --latency-msec=50 --raw --format=s16le --channels=1 --rate=16000 -d nemo_null.monitor \
		>"$work/monitor.raw" 2>/dev/null || true
	od -An -v -td2 -w2 "$work/monitor.raw" | awk '{v = $1 < 0 ? -$1 : $1; if (v > m) m = v} END {print m + 0}'
}

# pulse_selftest plays noise into the sink while recording its monitor: the
# sound must arrive, so a player that finds this server is heard.
pulse_selftest() {
	local quiet peak player
	quiet=$(pulse_monitor_peak 0.6)
	[ "$quiet" -lt 100 ] || fail "the null sink's monitor hears sound nobody played (peak $quiet)"
	(sleep 0.3 && head -c 32000 /dev/urandom |
		pacat --latency-msec=50 --raw --format=s16le --channels=1 --rate=16000) &
	player=$!
	peak=$(pulse_monitor_peak 1.5)
	wait "$player" || fail "pacat could not play into the null sink"
	[ "$peak" -gt 1000 ] || fail "nothing arrived at the null sink's monitor (peak $peak)"
	log "PulseAudio null sink carries sound: monitor peak $quiet in silence, $peak while noise plays"
}

# --- the app binary --------------------------------------------------------

stale() {
	[ -x "$app" ] || return 0
	[ -n "$(find main.go app.go backend frontend/src frontend/index.html wails.json \
		-newer "$app" -type f -print -quit 2>/dev/null)" ]
}
if ((rebuild)) || stale; then
	log "building $app"
	scripts/build-app.sh >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; fail "build-app.sh failed"; }
fi

# --- the window ------------------------------------------------------------

# A fresh profile: nothing of the developer's leaks in, nothing is left.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
	XDG_CACHE_HOME="$work/home/.cache"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"

start_xvfb
start_pulse
pulse_selftest

mkdir -p "$out"
rm -f "$shot"
started=$(date +%s.%N)
"$app" >"$work/app.log" 2>&1 &
app_pid=$!
log "started $(basename "$app") (pid $app_pid)"

# find_window prints the id of our process's window titled $title.
find_window() {
	local w
	for w in $(xdotool search --name "^$title\$" 2>/dev/null); do
		[ "$(xdotool getwindowpid "$w" 2>/dev/null)" = "$app_pid" ] && { echo "$w"; return 0; }
	done
	return 1
}

# check_shot FILE checks one screenshot and says why it fails, if it does.
# The tests compare against the most common colour, the page background,
# so they hold for the light and the dark theme alike.
check_shot() {
	local f=$1 bg nonbg ink width
	width=$(im identify -format '%w' "$f")
	bg=$(im convert "$f" -alpha off -format %c histogram:info:- | sort -rn | head -n1 | grep -o '#[0-9A-Fa-f]\{6\}' | head -n1)
	# The share of pixels not the background colour: a blank page is ~0.
	nonbg=$(im convert "$f" -alpha off \( +clone -fill "$bg" -colorize 100 \) -compose difference -composite \
		-colorspace gray -threshold 1% -format '%[fx:mean]' info:)
	# Strong-contrast pixels in the header band: the title's glyphs.
	ink=$(im convert "$f" -alpha off -crop "${width}x60+0+0" +repage \( +clone -fill "$bg" -colorize 100 \) \
		-compose difference -composite -colorspace gray -threshold 50% -format '%[fx:round(mean*w*h)]' info:)
	shot_stats="background $bg, $(awk -v v="$nonbg" 'BEGIN {printf "%.0f%%", v * 100}') of the window not background, $ink text pixels in the header"
	awk -v v="$nonbg" 'BEGIN {exit !(v >= 0.10)}' || { why="the window is nearly all one colour ($shot_stats)"; return 1; }
	[ "$ink" -ge 300 ] || { why="no text in the header ($shot_stats)"; return 1; }
	# OCR at twice the size, in grey: the words must be there, spelt right.
	im convert "$f" -alpha off -resize 200% -colorspace gray "$work/ocr.png"
	tesseract "$work/ocr.png" "$work/ocr" >/dev/null 2>&1 || { why="tesseract failed"; return 1; }
	local w
	for w in "${expected_words[@]}"; do
		grep -qF "$w" "$work/ocr.txt" || { why="OCR does not find \"$w\" ($shot_stats)"; return 1; }
	done
}

win="" why="the window did not appear"
deadline=$(($(date +%s) + ready_timeout))
while [ "$(date +%s)" -lt "$deadline" ]; do
	kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; fail "the app exited at start"; }
	if [ -z "$win" ] && win=$(find_window); then
		log "window $win: $(xwininfo -id "$win" | awk '/Width:/ {w=$2} /Height:/ {h=$2} END {print w "x" h}')"
	fi
	if [ -n "$win" ] && im import -window "$win" "$work/shot.png" 2>/dev/null && check_shot "$work/shot.png"; then
		ready=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
		cp "$work/shot.png" "$shot"
		log "the window shows the UI after ${ready} s: $shot_stats; OCR found: ${expected_words[*]}"
		break
	fi
	sleep 0.5
done
if [ ! -f "$shot" ]; then
	[ -f "$work/shot.png" ] && cp "$work/shot.png" "$shot" && log "last screenshot kept in $shot"
	cat "$work/app.log" >&2
	fail "$why"
fi

# The checks must tell a blank window from this one: one of the same size
# in its background colour fails them.
bg=$(im convert "$shot" -alpha off -format %c histogram:info:- | sort -rn | head -n1 | grep -o '#[0-9A-Fa-f]\{6\}' | head -n1)
im convert -size "$(im identify -format '%wx%h' "$shot")" "xc:$bg" "$work/blank.png"
! check_shot "$work/blank.png" || fail "the checks pass a blank window too"
log "a blank window of the same size fails the checks: $why"

# The screenshot is of the window, not the screen.
read -r sw sh < <(im identify -format '%w %h\n' "$shot")
read -r ww wh < <(xwininfo -id "$win" | awk '/Width:/ {w=$2} /Height:/ {h=$2} END {print w, h}')
[ "$sw" = "$ww" ] && [ "$sh" = "$wh" ] || fail "screenshot is ${sw}x${sh}, the window ${ww}x${wh}"
log "screenshot ${sw}x${sh} (the window, on a 1280x900 screen) in ${shot#"$root"/}"

# --- a clean exit -----------------------------------------------------------

kill -TERM "$app_pid"
status=""
for _ in $(seq $((exit_timeout * 10))); do
	if ! kill -0 "$app_pid" 2>/dev/null; then
		set +e
		wait "$app_pid"
		status=$?
		set -e
		break
	fi
	sleep 0.1
done
[ -n "$status" ] || { cat "$work/app.log" >&2; fail "the app did not exit within ${exit_timeout} s of SIGTERM"; }
app_pid=""
[ "$status" -eq 0 ] || { cat "$work/app.log" >&2; fail "the app exited with status $status after SIGTERM"; }
[ -z "$(xdotool search --name "^$title\$" 2>/dev/null)" ] || fail "a window titled $title is still there after the app exited"
log "SIGTERM: the app closed its window and exited with status 0"
log "passed"
