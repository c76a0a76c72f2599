#!/usr/bin/env bash
# Authenticode-signs Windows executables with osslsigncode, or verifies them.
#
#   scripts/sign-windows.sh FILE...                   sign each file in place
#   scripts/sign-windows.sh --configured              exit 0 when a certificate is configured
#   scripts/sign-windows.sh verify [--ca PEM] FILE... check each file's signature
#
# The certificate comes from the environment, never from the command line:
#   SIGN_PFX=cert.pfx (PKCS#12 with the key and the chain) and SIGN_PASSWORD, or
#   SIGN_CERT=chain.pem (or .spc/.der) and SIGN_KEY=key.pem (SIGN_PASSWORD if the key is encrypted).
# Optional: SIGN_TIMESTAMP_URL (an RFC 3161 time-stamping server, so signatures
# outlive the certificate), SIGN_DESCRIPTION and SIGN_URL (shown by Windows'
# consent prompt; default: the product name from wails.json and no URL).
#
# verify checks that a signature is there and that the file still matches it.
# With --ca it also checks the chain up to that root; without, the chain is
# checked against the system's roots, which a self-signed certificate fails:
# verify then says so and still passes when the signature itself is sound.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

need_osslsigncode() {
	command -v osslsigncode >/dev/null && return
	. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
	apt_need osslsigncode
}

configured() {
	[ -n "${SIGN_PFX:-}" ] || { [ -n "${SIGN_CERT:-}" ] && [ -n "${SIGN_KEY:-}" ]; }
}

tmp=""
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT

product_name() {
	sed -n 's/.*"productName": *"\([^"]*\)".*/\1/p' "$root/wails.json" | head -n1
}

sign() {
	configured || {
		echo "sign-windows.sh: no certificate: set SIGN_PFX (and SIGN_PASSWORD), or SIGN_CERT and SIGN_KEY" >&2
		exit 2
	}
	need_osslsigncode
	tmp=$(mktemp -d)
	local args=(-h sha256 -n "${SIGN_DESCRIPTION:-$(product_name)}")
	[ -z "${SIGN_URL:-}" ] || args+=(-i "$SIGN_URL")
	if [ -n "${SIGN_PFX:-}" ]; then
		[ -r "$SIGN_PFX" ] || { echo "sign-windows.sh: cannot read SIGN_PFX=$SIGN_PFX" >&2; exit 2; }
		args+=(-pkcs12 "$SIGN_PFX")
	else
		[ -r "$SIGN_CERT" ] && [ -r "$SIGN_KEY" ] || {
			echo "sign-windows.sh: cannot read SIGN_CERT=$SIGN_CERT or SIGN_KEY=$SIGN_KEY" >&2
			exit 2
		}
		args+=(-certs "$SIGN_CERT" -key "$SIGN_KEY")
	fi
	if [ -n "${SIGN_PASSWORD:-}" ]; then
		# From a private file: a -pass argument would show in the process list.
		(umask 077 && printf '%s' "$SIGN_PASSWORD" >"$tmp/pass")
		args+=(-readpass "$tmp/pass")
	fi
	[ -z "${SIGN_TIMESTAMP_URL:-}" ] || args+=(-ts "$SIGN_TIMESTAMP_URL")

	local f out
	for f in "$@"; do
		[ -f "$f" ] || { echo "sign-windows.sh: no such file: $f" >&2; exit 2; }
		# Signed next to the original and moved over it, so a failure leaves
		# the file as it was; an existing signature is replaced, not nested.
		out="$(dirname "$f")/.$(basename "$f").signing"
		if ! osslsigncode sign "${args[@]}" -in "$f" -out "$out" >"$tmp/log" 2>&1; then
			rm -f "$out"
			cat "$tmp/log" >&2
			echo "sign-windows.sh: signing $f failed" >&2
			exit 1
		fi
		chmod --reference="$f" "$out"
		mv -f "$out" "$f"
		echo "signed $f"
	done
}

verify() {
	local ca=""
	if [ "${1:-}" = "--ca" ]; then
		ca=${2:?--ca needs a PEM file}
		shift 2
	fi
	[ $# -gt 0 ] || { usage >&2; exit 2; }
	need_osslsigncode
	tmp=$(mktemp -d)
	local f args=() failed=0
	[ -z "$ca" ] || args=(-CAfile "$ca")
	for f in "$@"; do
		if osslsigncode verify "${args[@]}" -in "$f" >"$tmp/out" 2>&1; then
			echo "verified $f: $(signer "$tmp/out")"
			continue
		fi
		# Tell "signed, but by nobody this machine trusts" apart from "not
		# signed" and "changed since it was signed".
		if grep -q 'MISMATCH' "$tmp/out"; then
			echo "FAILED $f: the file changed after it was signed" >&2
			failed=1
		elif ! grep -q '^Signature Index: 0' "$tmp/out"; then
			echo "FAILED $f: no Authenticode signature" >&2
			failed=1
		elif [ -z "$ca" ] && grep -q 'self-signed certificate' "$tmp/out"; then
			echo "signed $f: $(signer "$tmp/out") (self-signed: Windows will not trust it)"
		else
			sed 's/^/    /' "$tmp/out" >&2
			echo "FAILED $f: the signature does not verify" >&2
			failed=1
		fi
	done
	return "$failed"
}

# signer prints the subject of the first signer in osslsigncode's output.
signer() { sed -n 's/^[[:space:]]*Subject: //p' "$1" | head -n1; }

case "${1:-}" in
"" | -h | --help) usage ;;
--configured) configured ;;
verify)
	shift
	verify "$@"
	;;
*) sign "$@" ;;
esac
