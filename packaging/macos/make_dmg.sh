#!/usr/bin/env bash
# Put UltraIS.app into a compressed disk image with an Applications shortcut (drag to install).
#
# Usage: packaging/macos/make_dmg.sh [APP] [OUT.dmg]
#   APP  default dist/cpu/UltraIS.app (from packaging/macos/build_app.sh)
#   OUT  default dist/UltraIS-<version>-macos-<arch>.dmg
# macOS only (hdiutil). To sign the image: SIGN_IDENTITY="Developer ID Application: ..." .
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
app=${1:-$root/dist/cpu/UltraIS.app}
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/ultrais_core/__init__.py")
out=${2:-$root/dist/UltraIS-$version-macos-$(uname -m).dmg}

if [ "$(uname -s)" != Darwin ]; then
    echo "make_dmg.sh needs macOS (hdiutil)" >&2
    exit 2
fi
if [ ! -x "$app/Contents/MacOS/UltraIS" ]; then
    echo "$app is not an UltraIS.app bundle: run packaging/macos/build_app.sh first" >&2
    exit 1
fi
staging=$(mktemp -d "${TMPDIR:-/tmp}/ultrais-dmg.XXXXXX")
trap 'rm -rf "$staging"' EXIT
# ditto keeps the code signature, extended attributes and symbolic links of the bundle.
ditto "$app" "$staging/UltraIS.app"
ln -s /Applications "$staging/Applications"
mkdir -p "$(dirname "$out")"
rm -f "$out"
hdiutil create -volname "UltraIS $version" -srcfolder "$staging" -fs HFS+ \
    -format UDZO -imagekey zlib-level=9 -ov "$out"
if [ -n "${SIGN_IDENTITY:-}" ]; then
    codesign --sign "$SIGN_IDENTITY" --timestamp "$out"
fi
echo "wrote $out"
