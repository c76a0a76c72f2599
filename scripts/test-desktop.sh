#!/usr/bin/env bash
# Starts the production desktop app (build/bin/nemo-transcribe-app) in a
# real window under Xvfb, with a PulseAudio null sink for its sound, and
# checks that the window shows the UI: a screenshot of that window alone
# (build/test-output/desktop-window.png) must be mostly not background, have
# text in its header, and read back (OCR) the title and the main controls.
#
# Then playback in that window: the app is started with a DTMF recording
# on its command line (as "Open with" does) and a profile whose server is
# our Triton test server. When the file is done, the test clicks the queue
# row's Open, which shows the transcript workspace, then one segment's time
# button (found by OCR on the row of its Edit button), and records the null
# sink: the keys
# heard, decoded by the same test server, must be the file's keys from the
# clicked segment on, as far apart as in the file, and the player's
# position (read by OCR) must advance. Screenshots of the transcript go to
# build/test-output/desktop-playback*.png.
#
# A second launch with another file (on a private D-Bus session bus, which
# Wails' single-instance lock uses on Linux) must hand the file to the
# running window's queue and quit, opening no second window.
#
# Then SIGTERM must close the app cleanly (exit status 0).
#
# Last, the app is started twice more with the UI language set in its
# settings file (uiLanguage, as Settings saves it), German and Japanese:
# the window must pass the same checks, OCR reading the main view's labels
# from the language's catalog (Japanese with tesseract's jpn model, so
# missing CJK fonts, boxes instead of glyphs, fail it). The shots are
# build/test-output/desktop-window-de.png and desktop-window-ja.png.
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
# Words the first screen shows (the sidebar and the Transcribe view: the
# profile has a saved server, so there is no first-run step); OCR must find
# each.
expected_words=("NeMo Transcribe" "Transcribe" "Library" "Settings" "Queue")
# Every wait below is bounded polling with room for a busy machine (two
# cores shared with builds): a screenshot and an OCR pass alone can take
# seconds there.
ready_timeout=60 # seconds for the window to show the UI
ocr_lang=eng     # tesseract's model for the window's language
exit_timeout=10  # seconds for the app to exit after SIGTERM
# The recording played back: one key every 2 s, 0.4 s each.
sample_keys=(1 2 3 4 5 6)
sample_presses="1@0.5:0.4,2@2.5:0.4,3@4.5:0.4,4@6.5:0.4,5@8.5:0.4,6@10.5:0.4"
click_row=3     # the segment clicked (1-based): key 3 at 4.5 s
listen_s=6      # seconds recorded after the click: keys 3, 4 and 5
done_timeout=90   # seconds for the file to be transcribed (its Open button)
settle_timeout=60 # seconds for the workspace's layout to settle once opened

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

apt_need xvfb xauth xdotool x11-utils imagemagick tesseract-ocr tesseract-ocr-jpn pulseaudio pulseaudio-utils
# Japanese and Chinese UI text in the window's screenshots.
apt_need fonts-noto-cjk

# The real ImageMagick, whatever else is first on PATH.
im() { if [ -x "/usr/bin/$1" ]; then "/usr/bin/$1" "${@:2}"; else "$@"; fi; }

# --- processes, all stopped on exit ---------------------------------------

work=$(mktemp -d)
xvfb_pid="" pulse_pid="" app_pid="" dbus_pid=""
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
devserver_pid=""
cleanup() {
	stop_pid "$app_pid"
	stop_pid "$devserver_pid"
	stop_pid "$pulse_pid"
	stop_pid "$xvfb_pid"
	stop_pid "$dbus_pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_xvfb starts a virtual screen on a display number the X server picks
# itself (-displayfd: no race with other servers) and exports DISPLAY.
start_xvfb() {
	local fd_file="$work/display"
	Xvfb -displayfd 3 -screen 0 1280x1300x24 -nolisten tcp 3>"$fd_file" >"$work/xvfb.log" 2>&1 &
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
	# for a server of our own. Real-time and high priority, as a desktop's
	# sound server has them (through rtkit): at normal priority, with both
	# cores busy, it misses periods and a played key comes back split,
	# clipped or lost (seen under stress-ng --cpu 2). Where the system
	# refuses them it only warns.
	HOME="$dir/home" XDG_RUNTIME_DIR="$dir" XDG_CONFIG_HOME="$dir/home" DBUS_SESSION_BUS_ADDRESS=disabled: \
		pulseaudio --daemonize=no -n --exit-idle-time=-1 --use-pid-file=no \
		--realtime=yes --high-priority=yes --log-target=stderr \
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
# The test server, the CLI (to decode what was heard) and the synthesiser.
for c in triton-devserver nemo-transcribe dtmf-synth; do
	go build -o "$work/$c" "./cmd/$c" || fail "building cmd/$c failed"
done

# --- the window ------------------------------------------------------------

# A fresh profile: nothing of the developer's leaks in, nothing is left.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
	XDG_CACHE_HOME="$work/home/.cache"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"

start_xvfb
start_pulse
pulse_selftest

# A session bus of our own: Wails' single-instance lock lives on it.
dbus-daemon --session --nofork --nopidfile --print-address=3 3>"$work/dbus.addr" >"$work/dbus.log" 2>&1 &
dbus_pid=$!
for _ in $(seq 50); do
	[ -s "$work/dbus.addr" ] && break
	sleep 0.1
done
[ -s "$work/dbus.addr" ] || { cat "$work/dbus.log" >&2; fail "dbus-daemon did not start"; }
export DBUS_SESSION_BUS_ADDRESS="$(head -n1 "$work/dbus.addr")"

# The test server, and a profile that uses it (the settings file the app
# writes when the user saves its settings).
"$work/triton-devserver" --addr 127.0.0.1:0 >"$work/devserver.log" 2>&1 &
devserver_pid=$!
for _ in $(seq 100); do
	server=$(grep -o '127\.0\.0\.1:[0-9]*' "$work/devserver.log" | head -n1) && break
	sleep 0.1
done
[ -n "${server:-}" ] || { cat "$work/devserver.log" >&2; fail "the test server did not start"; }
mkdir -p "$XDG_DATA_HOME/nemo-transcribe"
printf '{"server": "%s", "model": "dtmf", "timestamps": true, "notifications": false}\n' "$server" \
	>"$XDG_DATA_HOME/nemo-transcribe/settings.json"
sample="$work/keys.wav"
"$work/dtmf-synth" --out "$sample" --duration 12 --presses "$sample_presses" --noise-db 0 >/dev/null ||
	fail "dtmf-synth failed"
log "test server on $server; sample $(basename "$sample"): keys ${sample_keys[*]}, one every 2 s from 0.5 s"

mkdir -p "$out"
rm -f "$shot" "$out"/desktop-playback*.png
started=$(date +%s.%N)
"$app" "$sample" >"$work/app.log" 2>&1 &
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

# background prints an image's most common colour as #RRGGBB. (awk reads
# the whole histogram: `sort | head` would die of SIGPIPE under pipefail
# once the histogram outgrows the pipe.)
background() {
	im convert "$1" -alpha off -format %c histogram:info:- |
		awk '$1 + 0 > best {best = $1 + 0; for (i = 2; i <= NF; i++) if ($i ~ /^#/) c = substr($i, 1, 7)} END {print c}'
}

# check_shot FILE checks one screenshot and says why it fails, if it does.
# The tests compare against the most common colour, the page background,
# so they hold for the light and the dark theme alike.
check_shot() {
	local f=$1 bg nonbg ink width
	width=$(im identify -format '%w' "$f")
	bg=$(background "$f")
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
	# (Japanese needs three times: at two it loses the two glyphs of 設定;
	# its OCR puts spaces between glyphs, which are dropped.)
	local zoom=200
	[ "$ocr_lang" = eng ] || zoom=300
	im convert "$f" -alpha off -resize "$zoom%" -colorspace gray "$work/ocr.png"
	tesseract "$work/ocr.png" "$work/ocr" -l "$ocr_lang" >/dev/null 2>&1 || { why="tesseract failed"; return 1; }
	if [ "$ocr_lang" != eng ]; then
		tr -d ' \t' <"$work/ocr.txt" >"$work/ocr.tmp" && mv "$work/ocr.tmp" "$work/ocr.txt"
	fi
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
bg=$(background "$shot")
im convert -size "$(im identify -format '%wx%h' "$shot")" "xc:$bg" "$work/blank.png"
! check_shot "$work/blank.png" || fail "the checks pass a blank window too"
log "a blank window of the same size fails the checks: $why"

# The screenshot is of the window, not the screen.
read -r sw sh < <(im identify -format '%w %h\n' "$shot")
read -r ww wh < <(xwininfo -id "$win" | awk '/Width:/ {w=$2} /Height:/ {h=$2} END {print w, h}')
[ "$sw" = "$ww" ] && [ "$sh" = "$wh" ] || fail "screenshot is ${sw}x${sh}, the window ${ww}x${wh}"
log "screenshot ${sw}x${sh} (the window, on a 1280x1300 screen) in ${shot#"$root"/}"

# --- playback ---------------------------------------------------------------

# ocr_words prints "x y word" for each word OCR reads in a screenshot of
# the window, x and y the word's centre in window pixels.
ocr_words() {
	im import -window "$win" "$work/now.png" 2>/dev/null || return 1
	im convert "$work/now.png" -alpha off -resize 200% -colorspace gray "$work/ocrw.png"
	tesseract "$work/ocrw.png" "$work/ocrw" --psm 11 tsv >/dev/null 2>&1 || return 1
	awk -F'\t' 'NR > 1 && $12 != "" {printf "%d %d %s\n", ($7 + $9 / 2) / 2, ($8 + $10 / 2) / 2, $12}' "$work/ocrw.tsv"
}

# wait_words SECONDS AWK-CONDITION waits until the words on screen satisfy
# the condition (an awk expression over the counts n[word]); prints them.
wait_words() {
	local until=$(($(date +%s) + $1)) words
	while [ "$(date +%s)" -lt "$until" ]; do
		kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; fail "the app exited"; }
		if words=$(ocr_words) && awk "{n[\$3]++} END {exit !($2)}" <<<"$words"; then
			printf '%s\n' "$words"
			return 0
		fi
		sleep 0.5
	done
	return 1
}

# position reads the player's "[mm:ss.s] / [mm:ss.s]" and prints the first
# time in seconds.
position() {
	im import -window "$win" "$work/pos.png" 2>/dev/null || return 1
	# The line right of the Play button, enlarged: OCR reads it alone.
	im convert "$work/pos.png" -alpha off -crop "420x40+$((play_x + 20))+$((play_y - 20))" +repage \
		-resize 300% -colorspace gray "$work/pos-crop.png"
	tesseract "$work/pos-crop.png" - --psm 7 2>/dev/null |
		grep -o '[0-9][0-9]:[0-9][0-9][.,][0-9]' | head -n1 | tr , . | awk -F: '{print $1 * 60 + $2}'
}

# The room the transcript needs below the queue.
xdotool windowsize "$win" 1100 1200
sleep 0.5

words=$(wait_words "$done_timeout" 'n["Open"] >= 1') || {
	im import -window "$win" "$out/desktop-playback-failed.png" 2>/dev/null || true
	cat "$work/app.log" >&2
	fail "the file named on the command line was not transcribed within ${done_timeout} s (no Open button)"
}
read -r x y _ < <(awk '$3 == "Open"' <<<"$words" | head -n1)
xdotool mousemove --window "$win" "$x" "$y" click 1
log "the file on the command line was transcribed; clicked Open at ($x, $y)"

# The layout settles once the audio is loaded (the waveform appears above
# the segments): wait until two reads agree, polling until settle_timeout
# (each read is a screenshot and an OCR pass, slow on a loaded machine).
layout() { awk '$3 == "Play" || $3 == "Edit" {print $1, $2, $3}' <<<"$1"; }
prev="" settle_until=$(($(date +%s) + settle_timeout)) reads=0
while :; do
	left=$((settle_until - $(date +%s)))
	[ "$left" -gt 0 ] || fail "the transcript's layout did not settle within ${settle_timeout} s ($reads reads)"
	words=$(wait_words "$left" "n[\"Play\"] >= 1 && n[\"Edit\"] >= $click_row && !n[\"Loading\"]") || {
		im import -window "$win" "$out/desktop-playback-failed.png" 2>/dev/null || true
		fail "the transcript did not show a Play button and $click_row segments within ${settle_timeout} s"
	}
	reads=$((reads + 1))
	[ -n "$prev" ] && [ "$(layout "$words")" = "$prev" ] && break
	prev=$(layout "$words")
	sleep 0.5
done
log "the workspace's layout settled after $reads OCR reads"
read -r play_x play_y _ < <(awk '$3 == "Play"' <<<"$words" | head -n1)
# Each segment's row ends with its Edit button and starts with its time
# button ("[00:04.5]"): the time OCR reads on the Edit button's row, or
# failing that the row's leftmost word.
row_y=$(awk '$3 == "Edit" {print $2}' <<<"$words" | sort -n | sed -n "${click_row}p")
read -r time_x _ < <(awk -v y="$row_y" '($2 - y) ^ 2 <= 144 && $3 ~ /[0-9][0-9]:[0-9][0-9]/ {print $1, $3}' <<<"$words" | sort -n | head -n1) ||
	read -r time_x _ < <(awk -v y="$row_y" '($2 - y) ^ 2 <= 144 {print $1, $3}' <<<"$words" | sort -n | head -n1) ||
	fail "OCR found nothing on the row of segment $click_row (y $row_y)"
im import -window "$win" "$out/desktop-playback-ready.png"

quiet=$(pulse_monitor_peak 0.6)
[ "$quiet" -lt 100 ] || fail "the null sink hears sound before anything was clicked (peak $quiet)"

# Record the null sink; click once the recording is running, noting where
# in the recording the click falls.
heard="$work/heard.wav"
timeout -s INT "$((listen_s + 2))" parec --latency-msec=50 --file-format=wav --format=s16le --channels=1 --rate=16000 \
	-d nemo_null.monitor "$heard" 2>/dev/null &
rec_pid=$!
for _ in $(seq 50); do
	[ "$(stat -c %s "$heard" 2>/dev/null || echo 0)" -gt 8000 ] && break
	sleep 0.1
done
sleep 0.5
click_at=$(awk -v b="$(stat -c %s "$heard")" 'BEGIN {printf "%.2f", (b - 44) / 32000}')
xdotool mousemove --window "$win" "$time_x" "$row_y" click 1
sleep 1
pos1=$(position) || pos1=""
im import -window "$win" "$out/desktop-playback.png" 2>/dev/null || true
sleep 1
pos2=$(position) || pos2=""
wait "$rec_pid" || true

clicked_key=${sample_keys[$((click_row - 1))]}
clicked_at=$(awk -v r="$click_row" 'BEGIN {print 0.5 + 2 * (r - 1)}')
log "clicked segment $click_row (key $clicked_key at ${clicked_at} s) at ($time_x, $row_y), ${click_at} s into the recording"
[ -n "$pos1" ] && [ -n "$pos2" ] || fail "OCR could not read the player's position (read \"$pos1\" and \"$pos2\")"
awk -v a="$pos1" -v b="$pos2" -v s="$clicked_at" 'BEGIN {exit !(a >= s && b > a)}' ||
	fail "the player's position did not advance from the clicked segment: ${pos1} s then ${pos2} s (segment at ${clicked_at} s)"
log "the player's position advances: ${pos1} s one second after the click, ${pos2} s a second later"

# What the null sink heard, decoded by the test server's dtmf model.
"$work/nemo-transcribe" transcribe --server "$server" --model dtmf --data-dir "$work/heard-data" \
	--out "$work/heard-out" --format json "$heard" >"$work/heard.log" 2>&1 || {
	cat "$work/heard.log" >&2
	fail "decoding the recording of the null sink failed"
}
# Keys as "key start" lines, start in seconds into the recording.
cp "$work/heard-out/heard.json" "$out/desktop-playback-heard.json"
# Keys as "key start split end" lines, times in seconds into the
# recording. On a machine with both cores busy the sound server can miss a
# period (an underrun): silence inside one 0.4 s press, which the decoder
# hears as two presses of the same key, or at a press's edge, which clips
# it. Halves (the same key starting within one press length) are one press
# again, counted in the log; the file's keys all differ, so a real repeat
# cannot hide here.
heard_keys=$(python3 -c 'import json, sys
keys = []
for s in json.load(open(sys.argv[1]))["segments"]:
    for w in s.get("words") or [{"word": s["text"], "start": s["start"]}]:
        k, t = w["word"].strip(), float(w["start"])
        e = float(w.get("end", t))
        if keys and keys[-1][0] == k and t - keys[-1][1] < 0.45:
            keys[-1][2] += 1
            keys[-1][3] = e
            continue
        keys.append([k, t, 0, e])
for k, t, split, e in keys:
    print(k, t, split, e)' "$work/heard-out/heard.json")
want=$(printf '%s ' "${sample_keys[@]:$((click_row - 1)):3}")
got=$(awk 'NR <= 3 {printf "%s ", $1}' <<<"$heard_keys")
[ "$got" = "$want" ] ||
	fail "the null sink heard keys \"$(awk '{printf "%s@%.2f ", $1, $2}' <<<"$heard_keys")\", want \"$want...\" (the file from the clicked segment on)"
splits=$(awk 'NR <= 3 {n += $3} END {print n + 0}' <<<"$heard_keys")
# Played in real time: the keys are 2 s apart, as in the file, and the first
# comes right after the click. A gap counts as in time when the starts or
# the ends are 2 s apart: a dropout clips one edge of a press, not both.
awk -v c="$click_at" 'NR == 1 {lat = $2 - c; if (lat < -0.05 || lat > 0.5) {print "latency " lat; bad = 1}}
	NR > 1 && NR <= 3 {gs = $2 - prev; ge = $4 - prevend
		if ((gs < 1.95 || gs > 2.05) && (ge < 1.95 || ge > 2.05)) {print "gap " gs " (ends " ge ")"; bad = 1}}
	{prev = $2; prevend = $4} END {exit bad}' <<<"$heard_keys" >"$work/timing" ||
	fail "the keys heard are not in time: $(tr '\n' ' ' <"$work/timing")(heard: $(tr '\n' ' ' <<<"$heard_keys"))"
latency=$(awk -v c="$click_at" 'NR == 1 {printf "%.0f", ($2 - c) * 1000}' <<<"$heard_keys")
gaps=$(awk 'NR > 1 && NR <= 3 {printf "%s%.3f (ends %.3f)", sep, $2 - prev, $4 - prevend; sep = ", "} {prev = $2; prevend = $4}' <<<"$heard_keys")
log "the null sink heard keys $want(the file from the clicked segment on), the first ${latency} ms after the click, then ${gaps} s apart (2 s in the file); $splits press(es) split by a dropout"

# --- a second launch --------------------------------------------------------

# Back to the queue (the workspace's Back button), where the file shows.
words=$(wait_words 30 'n["Back"] >= 1') || fail "the workspace shows no Back button"
read -r x y _ < <(awk '$3 == "Back"' <<<"$words" | head -n1)
xdotool mousemove --window "$win" "$x" "$y" click 1
wait_words 30 'n["Queue"] >= 1' >/dev/null || fail "Back did not return to the queue"

second="$work/more keys.wav"
cp "$sample" "$second"
set +e
(cd "$work" && timeout 20 "$app" "more keys.wav" >"$work/second.log" 2>&1)
second_status=$?
set -e
[ "$second_status" -ne 124 ] || fail "a second launch did not quit within 20 s (it should hand its file to the first window)"
mapfile -t wins < <(xdotool search --name "^$title\$" 2>/dev/null)
[ "${#wins[@]}" -eq 1 ] || fail "${#wins[@]} windows titled $title after a second launch, want 1"
words=$(wait_words 60 'n["files:"] >= 1') || {
	im import -window "$win" "$out/desktop-second-failed.png" 2>/dev/null || true
	fail "the first window's queue does not list the second launch's file"
}
log "a second launch (relative path, exit status $second_status) handed its file to the running window: its queue lists two files, one window open"

# --- a clean exit -----------------------------------------------------------

# stop_app sends the app SIGTERM and waits (bounded) for it to exit: its
# exit status is then in $status, left empty when it did not exit in time.
stop_app() {
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
}

stop_app
[ -n "$status" ] || { cat "$work/app.log" >&2; fail "the app did not exit within ${exit_timeout} s of SIGTERM"; }
app_pid=""
[ "$status" -eq 0 ] || { cat "$work/app.log" >&2; fail "the app exited with status $status after SIGTERM"; }
[ -z "$(xdotool search --name "^$title\$" 2>/dev/null)" ] || fail "a window titled $title is still there after the app exited"
log "SIGTERM: the app closed its window and exited with status 0"

# --- the main view in German and Japanese -----------------------------------

# ui_words TAG prints the main view's labels in that language, one a line,
# from the app's own catalog (frontend/src/lib/i18n).
ui_words() {
	node --input-type=module -e '
		import { translator } from "./frontend/e2e/lib/catalogs.mjs";
		const t = await translator(process.argv[1]);
		for (const k of ["nav.transcribe", "nav.library", "nav.settings", "queue.title"]) console.log(t(k));
	' "$1"
}

# shoot_language TAG OCR-MODEL starts the app with uiLanguage TAG saved in
# its settings, waits (bounded) for its window to pass check_shot with the
# language's labels, keeps the shot, and closes the app with SIGTERM.
shoot_language() {
	local tag=$1 dest="$out/desktop-window-$1.png" deadline status=""
	mapfile -t expected_words < <(ui_words "$tag")
	[ "${#expected_words[@]}" -eq 4 ] || fail "no labels for $tag from the catalog"
	ocr_lang=$2
	python3 -c 'import json, sys
p, tag = sys.argv[1], sys.argv[2]
s = json.load(open(p))
s["uiLanguage"] = tag
json.dump(s, open(p, "w"))' "$XDG_DATA_HOME/nemo-transcribe/settings.json" "$tag" || fail "cannot set uiLanguage $tag"
	rm -f "$dest" "$out/desktop-window-$tag-failed.png"
	started=$(date +%s.%N)
	"$app" >"$work/app-$tag.log" 2>&1 &
	app_pid=$!
	win="" why="the window did not appear"
	deadline=$(($(date +%s) + ready_timeout))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		kill -0 "$app_pid" 2>/dev/null || { cat "$work/app-$tag.log" >&2; fail "the app exited at start ($tag)"; }
		[ -n "$win" ] || win=$(find_window) || win=""
		if [ -n "$win" ] && im import -window "$win" "$work/shot.png" 2>/dev/null && check_shot "$work/shot.png"; then
			cp "$work/shot.png" "$dest"
			break
		fi
		sleep 0.5
	done
	if [ ! -f "$dest" ]; then
		[ -f "$work/shot.png" ] && cp "$work/shot.png" "$out/desktop-window-$tag-failed.png"
		cat "$work/app-$tag.log" >&2
		fail "in $tag: $why (last screenshot: build/test-output/desktop-window-$tag-failed.png)"
	fi
	log "in $tag the window shows the UI after $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s: $shot_stats; OCR ($ocr_lang) found: ${expected_words[*]}; ${dest#"$root"/}"
	stop_app
	[ "$status" = 0 ] || { cat "$work/app-$tag.log" >&2; fail "in $tag the app did not exit cleanly within ${exit_timeout} s of SIGTERM (status ${status:-none})"; }
	app_pid=""
}
shoot_language de eng
shoot_language ja jpn
# The checks tell the languages apart: the German shot has no Japanese labels.
mapfile -t expected_words < <(ui_words ja)
ocr_lang=jpn
! check_shot "$out/desktop-window-de.png" || fail "the German window passes the Japanese checks too"
log "the German window fails the Japanese checks: $why"
log "passed"
