#!/usr/bin/env bash
# Prints what the build and the tests ran with: the Go, Node and npm
# versions, and `dpkg-query -W` for every Debian package that scripts/
# installs (found in their apt_need calls and package lists), so a CI log
# says which protoc, ffmpeg, Chromium, Wine, NSIS or WebKitGTK it used.
# Packages that are not installed are named as such. Installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "go:   $(go version 2>/dev/null || echo 'not found')"
echo "node: $(node --version 2>/dev/null || echo 'not found')"
echo "npm:  $(npm --version 2>/dev/null || echo 'not found')"
echo "os:   $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}" || echo unknown)"

# Package names from `apt_need a b ...`, `pkgs=(a b ...)`, `pkgs+=(...)`
# and `need+=(...)` in scripts/, comments aside (arrays may span lines);
# "$webkit" is either WebKitGTK, so both are listed.
mapfile -t pkgs < <(
  {
    grep -hv '^[[:space:]]*#' scripts/*.sh scripts/lib/*.sh |
      sed -e ':a' -e '/\(pkgs+\?=(\|need+=(\)[^)]*$/{N;s/\n/ /;ba}' |
      grep -oE '(apt_need|pkgs\+?=\(|need\+=\()[^)#]*' |
      sed -E 's/^(apt_need|pkgs\+?=\(|need\+=\()//' | tr ' \t' '\n\n' |
      grep -E '^[a-z0-9][a-z0-9+.-]+$'
    printf '%s\n' libwebkit2gtk-4.0-dev libwebkit2gtk-4.1-dev
  } | sort -u
)

echo "Debian packages (dpkg-query -W):"
installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' "${pkgs[@]}" 2>/dev/null |
  awk '$1 == "ii" { print $2, $3 }' || true)
printf '%s\n' "$installed" | sed '/^$/d; s/^/  /'
missing=()
for p in "${pkgs[@]}"; do
  grep -q "^$p " <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || echo "  not installed: ${missing[*]}"
