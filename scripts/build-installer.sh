#!/usr/bin/env bash
# Builds the Windows app and its NSIS installer, signed when a certificate is
# configured (see scripts/sign-windows.sh for the SIGN_* variables):
#   build/bin/nemo-transcribe-app.exe
#   build/bin/nemo-transcribe-VERSION-windows-amd64-setup.exe
#
#   scripts/build-installer.sh [--self-signed] [--wine] [wails build options...]
#
# --self-signed is CI's check of the signing step: it makes a throwaway root
# and code-signing certificate, signs the app, the uninstaller and the
# installer with it, and verifies all three against that root (and that a
# changed byte breaks the signature). Windows does not trust such a signature.
# --wine installs the installer silently under Wine (64-bit, a private
# prefix), checks what it put where, then uninstalls and checks it is gone.
# WEBVIEW2_INSTALLER=/path/MicrosoftEdgeWebView2RuntimeInstallerX64.exe puts
# Microsoft's standalone WebView2 Runtime installer in place of the online
# bootstrapper, for PCs without internet access (adds about 180 MB).
# Needs: Go, Node 20 + npm; installs nsis (and osslsigncode, p7zip-full,
# openssl, wine as the options need them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

self_signed=0
wine_check=0
args=()
for a in "$@"; do
	case "$a" in
	--self-signed) self_signed=1 ;;
	--wine) wine_check=1 ;;
	-h | --help)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) args+=("$a") ;;
	esac
done

log() { printf 'build-installer: %s\n' "$*"; }

. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

pkgs=(nsis)
if ((self_signed)) || scripts/sign-windows.sh --configured; then pkgs+=(osslsigncode); fi
if ((self_signed)); then pkgs+=(openssl p7zip-full); fi
if ((wine_check)); then pkgs+=(wine wine64); fi
apt_need "${pkgs[@]}"

work=$(mktemp -d)
# The Go side embeds frontend/dist; its committed placeholder must survive
# the frontend build (as in build-app.sh).
cleanup() {
	if [ -d "$work/wine" ]; then WINEPREFIX="$work/wine" wineserver -k 2>/dev/null || true; fi
	rm -rf "$work"
	mkdir -p frontend/dist && touch frontend/dist/.gitkeep
}
trap cleanup EXIT

# make_throwaway_certificate writes a root CA and a code-signing certificate
# issued by it (both valid for two days) into $work, and points the SIGN_*
# variables at a PKCS#12 file holding the key and the chain, as a real one
# would.
make_throwaway_certificate() {
	local d="$work/cert"
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:3072 -sha256 -days 2 -nodes -batch \
		-keyout "$d/root.key" -out "$d/root.pem" \
		-subj "/CN=NeMo Transcribe CI throwaway root" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -newkey rsa:3072 -sha256 -nodes -batch \
		-keyout "$d/sign.key" -out "$d/sign.csr" \
		-subj "/CN=NeMo Transcribe CI throwaway signer/O=NeMo Transcribe" 2>/dev/null
	cat >"$d/ext.cnf" <<-'EXT'
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature
		extendedKeyUsage = codeSigning
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
	EXT
	openssl x509 -req -sha256 -days 2 -in "$d/sign.csr" -CA "$d/root.pem" -CAkey "$d/root.key" \
		-set_serial "0x$(openssl rand -hex 16)" -extfile "$d/ext.cnf" -out "$d/sign.pem" 2>/dev/null
	SIGN_PASSWORD=$(openssl rand -hex 16)
	openssl pkcs12 -export -inkey "$d/sign.key" -in "$d/sign.pem" -certfile "$d/root.pem" \
		-name "NeMo Transcribe CI" -out "$d/sign.pfx" -passout "pass:$SIGN_PASSWORD"
	export SIGN_PFX="$d/sign.pfx" SIGN_PASSWORD
	unset SIGN_CERT SIGN_KEY
	log "throwaway certificate: $(openssl x509 -in "$d/sign.pem" -noout -subject -enddate | tr '\n' ' ')"
}

if ((self_signed)); then make_throwaway_certificate; fi

if [[ ! -d frontend/node_modules ]]; then
	(cd frontend && npm ci --no-audit --no-fund)
fi

json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" wails.json | head -n1; }
version=$(json_field productVersion)
name=$(json_field name)
exe="$root/build/bin/nemo-transcribe-app.exe"
setup="$root/build/bin/$name-$version-windows-amd64-setup.exe"
installer_dir="$root/build/windows/installer"

# As in build-app.sh: -m and -nosyncgomod keep wails away from go.mod, no
# -clean so the Linux binary beside it survives. wails writes
# wails_tools.nsh and the WebView2 bootstrapper (tmp/) next to project.nsi,
# then runs makensis.
rm -f "$setup"
log "building the app and the installer with wails"
CGO_ENABLED=0 scripts/wails.sh build -nsis -platform windows/amd64 -trimpath -m -nosyncgomod "${args[@]}"
[ -f "$exe" ] || { log "wails did not write $exe"; exit 1; }
[ -f "$setup" ] || { log "wails did not write $setup"; exit 1; }

signed=0
if scripts/sign-windows.sh --configured; then signed=1; fi
if ((signed)) || [ -n "${WEBVIEW2_INSTALLER:-}" ]; then
	# The installer wails made holds the unsigned app: sign the app first,
	# then pack it again, signing the uninstaller on the way.
	nsis_defs=("-DARG_WAILS_AMD64_BINARY=$exe")
	if ((signed)); then
		scripts/sign-windows.sh "$exe"
		nsis_defs+=("-DNEMO_SIGN_UNINSTALLER=$root/scripts/sign-windows.sh")
	fi
	if [ -n "${WEBVIEW2_INSTALLER:-}" ]; then
		[ -f "$WEBVIEW2_INSTALLER" ] || { log "no such file: WEBVIEW2_INSTALLER=$WEBVIEW2_INSTALLER"; exit 1; }
		cp "$WEBVIEW2_INSTALLER" "$installer_dir/tmp/MicrosoftEdgeWebview2Setup.exe"
		log "bundling the standalone WebView2 Runtime installer $(basename "$WEBVIEW2_INSTALLER")"
	fi
	rm -f "$setup"
	log "makensis ${nsis_defs[*]}"
	(cd "$installer_dir" && makensis -V2 "${nsis_defs[@]}" project.nsi)
	if ((signed)); then scripts/sign-windows.sh "$setup"; fi
else
	log "not signed: no certificate (set SIGN_PFX and SIGN_PASSWORD, or SIGN_CERT and SIGN_KEY)"
fi

if ((self_signed)); then
	ca="$work/cert/root.pem"
	log "verifying against the throwaway root"
	scripts/sign-windows.sh verify --ca "$ca" "$exe" "$setup"
	# What the installer unpacks must be the signed app, and its uninstaller
	# signed too.
	7z e -y -bso0 -bsp0 -o"$work/unpacked" "$setup" nemo-transcribe-app.exe uninstall.exe
	cmp "$exe" "$work/unpacked/nemo-transcribe-app.exe" || { log "the installer holds a different app than $exe"; exit 1; }
	scripts/sign-windows.sh verify --ca "$ca" "$work/unpacked/uninstall.exe"
	# Without the root, the signature is present but untrusted: still a pass.
	scripts/sign-windows.sh verify "$setup"
	# A certificate and key as PEM files sign as well as a PKCS#12 file.
	cp "$work/unpacked/uninstall.exe" "$work/pem-signed.exe"
	SIGN_PFX="" SIGN_CERT="$work/cert/sign.pem" SIGN_KEY="$work/cert/sign.key" SIGN_PASSWORD="" \
		scripts/sign-windows.sh "$work/pem-signed.exe" >/dev/null
	scripts/sign-windows.sh verify --ca "$ca" "$work/pem-signed.exe"
	# One changed byte in the signed installer must fail verification.
	cp "$setup" "$work/tampered.exe"
	printf 'X' | dd of="$work/tampered.exe" bs=1 seek=$(($(stat -c %s "$setup") / 2)) conv=notrunc status=none
	if scripts/sign-windows.sh verify --ca "$ca" "$work/tampered.exe" 2>"$work/tampered.log"; then
		log "a changed installer still verified"
		exit 1
	fi
	log "a changed byte is caught: $(tail -n1 "$work/tampered.log")"
fi

# install_under_wine runs Setup and the uninstaller silently in a fresh
# 64-bit Wine prefix that reports Windows 10 and already has WebView2 (as
# Windows 11 does), and checks the files, shortcuts and uninstall entry.
install_under_wine() {
	export WINEPREFIX="$work/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
	unset DISPLAY
	local dir="$WINEPREFIX/drive_c/Program Files/NeMo Transcribe"
	local key='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\NeMoTranscribe'
	local links=("$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/NeMo Transcribe.lnk"
		"$WINEPREFIX/drive_c/users/Public/Desktop/NeMo Transcribe.lnk")
	log "installing under Wine ($(wine --version))"
	wineboot -i >/dev/null 2>&1
	winecfg -v win10 >/dev/null 2>&1
	wine reg add 'HKLM\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}' \
		/v pv /d 120.0.0.0 /f /reg:64 >/dev/null 2>&1
	wine "$setup" /S
	wineserver -w
	cmp "$exe" "$dir/nemo-transcribe-app.exe" || { log "Setup did not install $exe"; exit 1; }
	[ -f "$dir/uninstall.exe" ] || { log "Setup wrote no uninstaller"; exit 1; }
	local l
	for l in "${links[@]}"; do [ -f "$l" ] || { log "Setup made no shortcut $l"; exit 1; }; done
	wine reg query "$key" /reg:64 >"$work/reg.txt" 2>&1 || { log "Setup wrote no uninstall entry"; exit 1; }
	grep -q "DisplayVersion.*$version" "$work/reg.txt" && grep -q 'InstallLocation.*C:\\Program Files\\NeMo Transcribe' "$work/reg.txt" ||
		{ cat "$work/reg.txt"; log "the uninstall entry is wrong"; exit 1; }
	# Something of the user's in the folder must survive the uninstaller.
	mkdir -p "$dir/mine" && echo keep >"$dir/mine/notes.txt"
	wine "$dir/uninstall.exe" /S
	wineserver -w
	[ ! -e "$dir/nemo-transcribe-app.exe" ] && [ ! -e "$dir/uninstall.exe" ] || { log "the uninstaller left the app behind"; exit 1; }
	for l in "${links[@]}"; do [ ! -e "$l" ] || { log "the uninstaller left $l"; exit 1; }; done
	! wine reg query "$key" /reg:64 >/dev/null 2>&1 || { log "the uninstaller left its registry entry"; exit 1; }
	[ -f "$dir/mine/notes.txt" ] || { log "the uninstaller removed the user's files"; exit 1; }
	log "Wine: Setup installed the app, shortcuts and uninstall entry; the uninstaller removed them and kept the user's files"
}

if ((wine_check)); then install_under_wine; fi

ls -l "$exe" "$setup"
sha256sum "$exe" "$setup"
