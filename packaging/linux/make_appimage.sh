#!/usr/bin/env bash
# Wrap the Linux onedir bundle into an AppImage (one file: chmod +x, run).
#
# Usage: make_appimage.sh BUNDLE_DIR ICON_PNG OUT.AppImage
#
# Needs `appimagetool` on PATH. It is not in PyPI, npm or Debian's archive, so it is not
# installed by this project: download it from the AppImage project's releases
# (appimagetool-x86_64.AppImage), `chmod +x` it and put it on PATH as appimagetool. Without it
# this script stops after laying out OUT's AppDir (OUT.AppDir/), which can be inspected or
# packed later with `ARCH=x86_64 appimagetool OUT.AppDir OUT.AppImage`. See packaging/README.md.
set -euo pipefail

if [ "$#" -ne 3 ]; then
    echo "usage: $0 BUNDLE_DIR ICON_PNG OUT.AppImage" >&2
    exit 2
fi
bundle=$(realpath "$1")
icon=$(realpath "$2")
out=$(realpath -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
appdir="${out%.AppImage}.AppDir"

rm -rf "$appdir"
mkdir -p "$appdir/usr/lib"
cp -al "$bundle" "$appdir/usr/lib/UltraIS" 2>/dev/null || cp -a "$bundle" "$appdir/usr/lib/UltraIS"
install -m 644 "$here/ultrais.desktop" "$appdir/ultrais.desktop"
install -m 644 "$icon" "$appdir/ultrais.png"
ln -s ultrais.png "$appdir/.DirIcon"
cat > "$appdir/AppRun" <<'APPRUN'
#!/bin/sh
# The AppImage runtime sets APPDIR; fall back to this script's folder for an unpacked AppDir.
here="${APPDIR:-$(cd "$(dirname "$0")" && pwd)}"
exec "$here/usr/lib/UltraIS/UltraIS" "$@"
APPRUN
chmod 755 "$appdir/AppRun"

if ! command -v appimagetool >/dev/null 2>&1; then
    echo "AppDir ready at $appdir; appimagetool is not on PATH, so no AppImage was made" >&2
    echo "(see packaging/README.md, section AppImage)" >&2
    exit 3
fi
ARCH="$(uname -m)" appimagetool --no-appstream "$appdir" "$out"
echo "wrote $out"
