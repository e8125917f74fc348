#!/usr/bin/env bash
# Pack the Linux onedir bundle into a tar.gz that unpacks to one folder:
#
#   UltraIS-<version>-linux-<arch>-<variant>/
#     UltraIS            the app (run it in place, or install with ./install.sh)
#     _internal/         Python, torch, Qt and resources/ (weights, icons, sample photo)
#     ultrais.desktop    menu entry template (install.sh writes the real one)
#     ultrais.png        512 px icon
#     install.sh         per-user or system-wide install and uninstall
#
# Usage: make_tarball.sh BUNDLE_DIR ICON_PNG OUT.tar.gz
# packaging/build.py calls it after a Linux build. The folder name comes from OUT's name.
set -euo pipefail

if [ "$#" -ne 3 ]; then
    echo "usage: $0 BUNDLE_DIR ICON_PNG OUT.tar.gz" >&2
    exit 2
fi
bundle=$(realpath "$1")
icon=$(realpath "$2")
out=$(realpath -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$out" .tar.gz)

if [ ! -x "$bundle/UltraIS" ] || [ ! -d "$bundle/_internal" ]; then
    echo "$bundle is not an UltraIS bundle (no UltraIS executable beside _internal/)" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
# Stage next to the output so hard links work (no copy of the ~700 MB bundle).
staging="$(dirname "$out")/.staging-$name"
rm -rf "$staging"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"
cp -al "$bundle" "$staging/$name" 2>/dev/null || cp -a "$bundle" "$staging/$name"
install -m 644 "$here/ultrais.desktop" "$staging/$name/ultrais.desktop"
install -m 644 "$icon" "$staging/$name/ultrais.png"
install -m 755 "$here/install.sh" "$staging/$name/install.sh"

if command -v pigz >/dev/null 2>&1; then
    compress=(--use-compress-program=pigz)
else
    compress=(--gzip)
fi
tar -C "$staging" --sort=name --owner=0 --group=0 --numeric-owner "${compress[@]}" \
    -cf "$out.partial" "$name"
mv "$out.partial" "$out"
echo "wrote $out"
