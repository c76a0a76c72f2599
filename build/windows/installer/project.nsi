Unicode true
# The app is 64-bit only, so is Setup: it runs where the app can (and under
# a 64-bit Wine, which CI uses to install and uninstall it).
Target amd64-unicode

####
## NeMo Transcribe's Windows installer (NSIS 3.08 or newer).
##
## Built by scripts/build-installer.sh, which runs `wails build -nsis` and,
## when a certificate is configured, signs the app, compiles this file again
## with makensis and signs the installer. wails_tools.nsh (beside this file)
## is regenerated from wails.json by every `wails build -nsis`; the product
## name, company, version and copyright come from there.
##
## By hand, after one `scripts/wails.sh build -nsis -platform windows/amd64`:
##   cd build/windows/installer && makensis -DARG_WAILS_AMD64_BINARY=../../bin/nemo-transcribe-app.exe project.nsi
## Optional defines:
##   -DNEMO_SIGN_UNINSTALLER=/path/to/scripts/sign-windows.sh   signs the embedded uninstaller
####

# The installed program keeps the name it is built with (the CLI owns
# nemo-transcribe.exe), and the uninstall key has no space doubled in.
!define PRODUCT_EXECUTABLE "nemo-transcribe-app.exe"
!define UNINST_KEY_NAME "NeMoTranscribe"

!include "wails_tools.nsh"

# Windows wants four parts here.
VIProductVersion "${INFO_PRODUCTVERSION}.0"
VIFileVersion    "${INFO_PRODUCTVERSION}.0"

VIAddVersionKey "CompanyName"     "${INFO_COMPANYNAME}"
VIAddVersionKey "FileDescription" "${INFO_PRODUCTNAME} Setup"
VIAddVersionKey "ProductVersion"  "${INFO_PRODUCTVERSION}"
VIAddVersionKey "FileVersion"     "${INFO_PRODUCTVERSION}"
VIAddVersionKey "LegalCopyright"  "${INFO_COPYRIGHT}"
VIAddVersionKey "ProductName"     "${INFO_PRODUCTNAME}"

ManifestDPIAware true
# One LZMA stream over everything: about half the size of the default zlib.
SetCompressor /SOLID lzma

!ifdef NEMO_SIGN_UNINSTALLER
    # The uninstaller is written out at install time from inside this
    # installer, so it has to be signed while makensis builds it.
    !uninstfinalize '"${NEMO_SIGN_UNINSTALLER}" "%1"' = 0
!endif

!include "MUI.nsh"

!define MUI_ICON "..\icon.ico"
!define MUI_UNICON "..\icon.ico"
!define MUI_FINISHPAGE_NOAUTOCLOSE
!define MUI_ABORTWARNING
!define MUI_WELCOMEPAGE_TEXT "Setup will install ${INFO_PRODUCTNAME} ${INFO_PRODUCTVERSION}, which transcribes audio files with NVIDIA NeMo models on a Triton Inference Server.$\r$\n$\r$\nIt needs the Microsoft Edge WebView2 Runtime, which Windows 11 already has. If it is missing, Setup downloads it; on a computer without internet access, install the WebView2 Runtime (Evergreen Standalone Installer) first.$\r$\n$\r$\nClick Next to continue."

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

Name "${INFO_PRODUCTNAME}"
OutFile "..\..\bin\${INFO_PROJECTNAME}-${INFO_PRODUCTVERSION}-windows-${ARCH}-setup.exe"
InstallDir "$PROGRAMFILES64\${INFO_PRODUCTNAME}"
# An upgrade goes where the last version went.
InstallDirRegKey HKLM "${UNINST_KEY}" "InstallLocation"
ShowInstDetails show

Function .onInit
    !insertmacro wails.checkArchitecture
FunctionEnd

Section
    !insertmacro wails.setShellContext

    !insertmacro wails.webview2runtime

    SetOutPath $INSTDIR

    !insertmacro wails.files

    CreateShortcut "$SMPROGRAMS\${INFO_PRODUCTNAME}.lnk" "$INSTDIR\${PRODUCT_EXECUTABLE}"
    CreateShortCut "$DESKTOP\${INFO_PRODUCTNAME}.lnk" "$INSTDIR\${PRODUCT_EXECUTABLE}"

    !insertmacro wails.associateFiles
    !insertmacro wails.associateCustomProtocols

    !insertmacro wails.writeUninstaller
    WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
SectionEnd

Section "uninstall"
    # The WebView2 cache lives in the roaming profile of whoever ran the app
    # (Wails names it after the executable). The user's settings and
    # transcript history (%AppData%\nemo-transcribe) are theirs: kept.
    SetShellVarContext current
    RMDir /r "$AppData\${PRODUCT_EXECUTABLE}"

    !insertmacro wails.setShellContext

    # Only what Setup put there: the folder may have been chosen by hand
    # and hold other things.
    Delete "$INSTDIR\${PRODUCT_EXECUTABLE}"

    Delete "$SMPROGRAMS\${INFO_PRODUCTNAME}.lnk"
    Delete "$DESKTOP\${INFO_PRODUCTNAME}.lnk"

    !insertmacro wails.unassociateFiles
    !insertmacro wails.unassociateCustomProtocols

    !insertmacro wails.deleteUninstaller
    RMDir $INSTDIR
SectionEnd
