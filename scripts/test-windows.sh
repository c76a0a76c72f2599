#!/usr/bin/env bash
# Real Windows file semantics for staging and the cache, under Wine:
# builds the Windows test binaries of backend/staging and backend/cache and
# runs them with Wine, where a second process really holds files with share
# mode 0 and the errors come from Wine's emulation of the Windows kernel.
#
#   scripts/test-windows.sh           reuse the Wine prefix in the user cache (fast)
#   scripts/test-windows.sh --fresh   build a throwaway prefix (what a clean CI runner does)
#
# Installs wine, wine64 and gcc-mingw-w64-x86-64-win32 from Debian when
# missing. Never touches the user's own WINEPREFIX: the prefix lives in
# $NEMO_WINEPREFIX, by default ~/.cache/nemo-transcribe/wine-prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s%N)
step() { printf '\n=== %s\n' "$*"; }

fresh=0
case "${1:-}" in
  --fresh) fresh=1 ;;
  "") ;;
  *) echo "usage: $0 [--fresh]" >&2; exit 2 ;;
esac

pkgs=(./backend/staging/... ./backend/cache/...)

step "dependencies"
. scripts/lib/apt.sh
apt_need wine wine64 gcc-mingw-w64-x86-64-win32
wine --version 2>/dev/null

work=$(mktemp -d)
if [ "$fresh" = 1 ]; then
  export WINEPREFIX="$work/prefix"
else
  export WINEPREFIX="${NEMO_WINEPREFIX:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/nemo-transcribe/wine-prefix}"
fi
export WINEDEBUG=-all
# No Mono or Gecko: Go programs need neither, and their installers would
# want a window.
export WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
mkdir -p "$WINEPREFIX"

# A wineserver that lives until we stop it: a program started while the
# server is still coming up can hang. Started first, stopped on exit
# (wineserver -k only reaches this prefix's server).
cleanup() {
  wineserver -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
wineserver -p 2>/dev/null || true # already running (say, left by a killed run): use it

step "Wine prefix $WINEPREFIX"
# wineboot also starts Wine's own background processes (services.exe,
# explorer.exe…). Started here, they write to a log file; started by the
# first test binary instead, they would inherit its output pipe and keep
# go test waiting for it to close ("Test I/O incomplete").
t0=$(date +%s)
state=reused
[ -f "$WINEPREFIX/system.reg" ] || state=new
wineboot $([ "$state" = new ] && echo -i) >"$work/wineboot.log" 2>&1 \
  || { cat "$work/wineboot.log"; exit 1; }
echo "$state, ready in $(( $(date +%s) - t0 )) s"

step "bcryptprimitives.dll for Go under Wine 8.0 (tools/wine)"
# Go 1.24+ programs need ProcessPrng from bcryptprimitives.dll, which Wine
# 8.0 lacks; tools/wine/bcryptprimitives.c provides it.
x86_64-w64-mingw32-gcc -shared -O2 -s -Wall -Wextra -Werror \
  -o "$work/bcryptprimitives.dll" tools/wine/bcryptprimitives.c tools/wine/bcryptprimitives.def -ladvapi32
dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
cp "$work/bcryptprimitives.dll" "$dll"
echo "installed $dll"

# A network share for the UNC tests: Wine resolves \\server\share through
# dosdevices/unc/server/share.
mkdir -p "$work/share" "$WINEPREFIX/dosdevices/unc/localhost"
ln -sfn "$work/share" "$WINEPREFIX/dosdevices/unc/localhost/nemo-test-share"
export STAGING_TEST_UNC='\\localhost\nemo-test-share'

step "go vet (GOOS=windows)"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go vet "${pkgs[@]}"

step "go test under Wine"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -count=1 -exec wine "${pkgs[@]}"

end=$(date +%s%N)
printf '\ntest-windows.sh: passed in %d.%01d s (%s prefix)\n' \
  $(( (end - start) / 1000000000 )) $(( (end - start) / 100000000 % 10 )) \
  "$state"
