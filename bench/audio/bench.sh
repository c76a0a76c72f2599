#!/usr/bin/env bash
# Audio benchmarks (not tests): speed of decode+resample+chunk per format
# against ffmpeg alone, measured in the same run, and the CLI's peak memory
# on a two-hour recording.
#
#   bench/audio/bench.sh [--minutes N] [--runs N] [--hours H] [--skip-speed] [--skip-memory]
#
# Speed: a recording of N minutes (default 10) at 44.1 kHz stereo is
# encoded as WAV, FLAC, MP3, Ogg Vorbis, Opus and M4A/AAC. For each, the
# anchor is `ffmpeg -i X -ac 1 -ar 16000 -f f32le -` alone; it is timed
# against our pipeline (audio.Open, then 30 s chunks, as the engine runs
# it: bench/audio/decodebench) through ffmpeg and through the built-in
# decoders. Each figure is the best wall time of --runs runs (default 5),
# the three tools taking turns, in a rotating order, so that a busy moment
# hits them alike; the ratios of the median times are printed too. Wall
# time is read to the microsecond (GNU time's own reading has 10 ms steps,
# 2.5% of a 0.4 s run). Targets: ffmpeg path within 1.2x of the anchor;
# built-in WAV, FLAC, Vorbis and Opus within 2.5x; built-in MP3 is
# recorded.
#
# Memory: a recording of H hours (default 2) at 44.1 kHz stereo (WAV,
# 1.3 GB for two hours) is transcribed by the CLI against the protocol test
# server (dtmf model), through ffmpeg and through the built-in decoder, and
# /usr/bin/time -v reports the CLI's peak resident memory (target: under
# 200 MB). A FLAC copy is measured through the built-in decoder too, and
# a 128 kb/s MP3 copy through ffmpeg (decoded, like the WAV, by one ffmpeg
# per core on disjoint ranges).
#
# The recording is real speech when pocketsphinx-testdata is installed
# (its LibriVox clips looped, over a quiet pink-noise room tone), else a
# synthetic mix. Files go to a temporary folder that is removed at the end.
# Needs ffmpeg, and /usr/bin/time (Debian package "time") for memory.
set -euo pipefail
export LC_ALL=C # a decimal point in $EPOCHREALTIME, awk and sort
cd "$(dirname "$0")/../.."

minutes=10 runs=5 hours=2 speed=1 memory=1
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --hours) hours=$2; shift 2 ;;
    --skip-speed) speed=0; shift ;;
    --skip-memory) memory=0; shift ;;
    *) echo "usage: $0 [--minutes N] [--runs N] [--hours H] [--skip-speed] [--skip-memory]" >&2; exit 2 ;;
  esac
done
command -v ffmpeg >/dev/null || { echo "ffmpeg is needed (apt install ffmpeg)" >&2; exit 1; }

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "building"
go build -o "$tmp/decodebench" ./bench/audio/decodebench
go build -o "$tmp/nemo-transcribe" ./cmd/nemo-transcribe
go build -o "$tmp/triton-devserver" ./cmd/triton-devserver

ff() { ffmpeg -nostdin -hide_banner -v error -y "$@"; }

# make_source SECONDS OUT.wav: 44.1 kHz stereo 16-bit.
make_source() {
  local seconds=$1 out=$2 clips=/usr/share/pocketsphinx/test/data/librivox
  if ls "$clips"/*.wav >/dev/null 2>&1; then
    local list="$tmp/clips.txt"
    : >"$list"
    for c in "$clips"/*.wav; do echo "file '$c'" >>"$list"; done
    ff -f concat -safe 0 -i "$list" -af "apad=pad_dur=0.6" "$tmp/clips.wav"
    ff -stream_loop -1 -i "$tmp/clips.wav" -f lavfi -i "anoisesrc=c=pink:r=44100:a=0.003" \
      -filter_complex "[0]aresample=44100,aformat=channel_layouts=stereo[s];[1]aformat=channel_layouts=stereo[n];[s][n]amix=inputs=2:normalize=0" \
      -t "$seconds" -c:a pcm_s16le "$out"
    echo "source: LibriVox speech (pocketsphinx-testdata) looped, over pink noise at -50 dBFS"
  else
    ff -f lavfi -i "anoisesrc=c=pink:r=44100:a=0.05:d=$seconds" -f lavfi -i "sine=f=440:r=44100:d=$seconds" \
      -filter_complex "[0][1]amix=inputs=2,aformat=channel_layouts=stereo" -c:a pcm_s16le "$out"
    echo "source: synthetic (pink noise and a 440 Hz tone); install pocketsphinx-testdata for speech"
  fi
}

# timed CMD...: runs CMD with its output discarded and prints "WALL CPU"
# in seconds (CPU counts user and system time, children included).
timed() {
  local t0=$EPOCHREALTIME t1
  /usr/bin/time -f "%U %S" -o "$tmp/t.txt" "$@" >/dev/null
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" '{ printf "%.3f %.3f", b - a, $1 + $2 }' "$tmp/t.txt"
}
# best and median of the numbers given.
best() { printf '%s\n' "$@" | sort -g | head -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt install time)" >&2; exit 1; }

if [ "$speed" = 1 ]; then
  echo
  echo "== speed: ${minutes} min of 44.1 kHz stereo, decode+resample+chunk, best of $runs"
  make_source $((minutes * 60)) "$tmp/src.wav"
  declare -A enc=(
    [wav]="-c:a pcm_s16le"
    [flac]="-c:a flac"
    [mp3]="-c:a libmp3lame -b:a 128k"
    [ogg]="-c:a libvorbis -q:a 4"
    [opus]="-c:a libopus -b:a 64k"
    [m4a]="-c:a aac -b:a 128k"
  )
  order=(wav flac mp3 ogg opus m4a)
  for f in "${order[@]}"; do
    if [ "$f" = wav ]; then
      cp "$tmp/src.wav" "$tmp/x.wav"
    else
      # shellcheck disable=SC2086 # the options are words
      ff -i "$tmp/src.wav" ${enc[$f]} "$tmp/x.$f"
    fi
  done
  nproc_=$(nproc)
  echo "machine: $nproc_ cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
  printf '\n%-6s %8s %8s %6s %8s %6s   %-13s   %8s %8s %6s %8s %6s\n' format "anchor" "ffmpeg" ratio "builtin" ratio "median ratios" \
    "cpu:anc" "ffmpeg" ratio "builtin" ratio
  for f in "${order[@]}"; do
    x="$tmp/x.$f"
    tools=(anchor ffmpeg builtin)
    [ "$f" = m4a ] && tools=(anchor ffmpeg)
    declare -A wall=() cpu=()
    for i in $(seq 0 $((runs - 1))); do
      for j in "${!tools[@]}"; do
        t=${tools[$(((i + j) % ${#tools[@]}))]}
        case $t in
          anchor) read -r w c <<<"$(timed ffmpeg -nostdin -v error -i "$x" -ac 1 -ar 16000 -f f32le -)" ;;
          *) read -r w c <<<"$(timed "$tmp/decodebench" -decoder "$t" "$x")" ;;
        esac
        wall[$t]+="$w " cpu[$t]+="$c "
      done
    done
    # shellcheck disable=SC2086 # the lists are words
    {
      a=$(best ${wall[anchor]}) am=$(median ${wall[anchor]}) ac=$(best ${cpu[anchor]})
      p=$(best ${wall[ffmpeg]}) pm=$(median ${wall[ffmpeg]}) pc=$(best ${cpu[ffmpeg]})
      b="-" br="-" bmr="-" bc="-" bcr="-"
      if [ -n "${wall[builtin]:-}" ]; then
        b=$(best ${wall[builtin]}) bc=$(best ${cpu[builtin]})
        br=$(ratio "$b" "$a") bmr=$(ratio "$(median ${wall[builtin]})" "$am") bcr=$(ratio "$bc" "$ac")
      fi
    }
    printf '%-6s %8s %8s %6s %8s %6s   %6s %6s   %8s %8s %6s %8s %6s\n' "$f" "$a" "$p" "$(ratio "$p" "$a")" "$b" "$br" \
      "$(ratio "$pm" "$am")" "$bmr" "$ac" "$pc" "$(ratio "$pc" "$ac")" "$bc" "$bcr"
    unset wall cpu
  done
  echo "(wall and CPU seconds, best of $runs, and the ratios of the median wall times; ratios against the anchor,"
  echo " ffmpeg -i X -ac 1 -ar 16000 -f f32le -."
  echo " targets on wall time: through ffmpeg <= 1.20x; built-in WAV, FLAC, Vorbis, Opus <= 2.50x; built-in MP3 recorded)"
fi

if [ "$memory" = 1 ]; then
  echo
  echo "== memory: the CLI transcribing ${hours} h of 44.1 kHz stereo (dtmf model, protocol test server)"
  long="$tmp/long.wav"
  seconds=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')
  ff -f lavfi -i "anoisesrc=c=pink:r=44100:a=0.02:d=$seconds" -f lavfi -i "sine=f=697:r=44100:d=$seconds" \
    -filter_complex "[0][1]amix=inputs=2,aformat=channel_layouts=stereo" -c:a pcm_s16le "$long"
  ff -i "$long" -c:a flac "$tmp/long.flac"
  ff -i "$long" -c:a libmp3lame -b:a 128k "$tmp/long.mp3"
  echo "files: $(du -h "$long" | cut -f1) WAV, $(du -h "$tmp/long.flac" | cut -f1) FLAC, $(du -h "$tmp/long.mp3" | cut -f1) MP3"
  echo "(through ffmpeg a file this long is decoded by one ffmpeg per core at once, on disjoint ranges: NEMO_TRANSCRIBE_RANGES=$(nproc))"
  log="$tmp/server.log"
  "$tmp/triton-devserver" --addr 127.0.0.1:0 >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
  addr=$(grep -o 'listening on [^ ]*' "$log" | awk '{print $3}')
  [ -n "$addr" ] || { cat "$log"; echo "the test server did not start" >&2; exit 1; }
  printf '\n%-22s %10s %9s  %s\n' "input / decoder" "peak RSS" "wall s" "target: peak RSS < 200 MB"
  for run in "wav ffmpeg" "mp3 ffmpeg" "wav off" "flac off"; do
    read -r ext mode <<<"$run"
    set -- "$ext" "$mode"
    in="$tmp/long.$1"
    # Fresh folders each run: nothing staged, no stored result to reuse.
    rm -rf "$tmp/out" "$tmp/cache" "$tmp/data"
    if ! NEMO_TRANSCRIBE_RANGES=$(nproc) NEMO_TRANSCRIBE_FFMPEG=$2 /usr/bin/time -v -o "$tmp/time.txt" "$tmp/nemo-transcribe" transcribe --server "$addr" \
      --model dtmf --out "$tmp/out" --format json --cache-dir "$tmp/cache" --data-dir "$tmp/data" "$in" >/dev/null 2>"$tmp/cli.err"; then
      cat "$tmp/cli.err" >&2
      echo "the CLI failed on $in" >&2
      exit 1
    fi
    kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$tmp/time.txt")
    decoder=$2; [ "$2" = off ] && decoder=builtin
    [ "$2" = ffmpeg ] && decoder=ffmpeg
    printf '%-22s %7d MB %9s\n' "$1 / $decoder" $((kb / 1024)) "$wall"
  done
fi
