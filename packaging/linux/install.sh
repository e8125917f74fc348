#!/bin/sh
# Install UltraIS from this unpacked folder, with a menu entry, an icon and an `ultrais` command.
#
#   ./install.sh                      for the current user: ~/.local/opt/UltraIS
#   sudo ./install.sh --system        for everyone: /opt/UltraIS
#   ./install.sh --prefix DIR         somewhere else
#   ./install.sh --uninstall [--system | --prefix DIR]
#
# Nothing here needs Python or a network: the app, torch and the weights are in this folder.
# Running ./UltraIS in place also works; installing only adds the menu entry and the command.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
mode=install
system=no
prefix=

while [ "$#" -gt 0 ]; do
    case "$1" in
        --system) system=yes ;;
        --prefix) shift; prefix=$1 ;;
        --uninstall) mode=uninstall ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ "$system" = yes ]; then
    [ -n "$prefix" ] || prefix=/opt/UltraIS
    share=/usr/local/share
    bin=/usr/local/bin
else
    [ -n "$prefix" ] || prefix="$HOME/.local/opt/UltraIS"
    share="${XDG_DATA_HOME:-$HOME/.local/share}"
    bin="$HOME/.local/bin"
fi
desktop="$share/applications/ultrais.desktop"
icon="$share/icons/hicolor/512x512/apps/ultrais.png"
launcher="$bin/ultrais"

refresh_caches() {
    command -v update-desktop-database >/dev/null 2>&1 &&
        update-desktop-database -q "$share/applications" 2>/dev/null || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 &&
        gtk-update-icon-cache -q -t "$share/icons/hicolor" 2>/dev/null || true
}

remove_app() {
    # Only ever delete a folder that holds an UltraIS bundle.
    if [ -e "$prefix/UltraIS" ] && [ -d "$prefix/_internal" ]; then
        rm -rf "$prefix"
    elif [ -e "$prefix" ]; then
        echo "$prefix does not look like an UltraIS installation; left as it is" >&2
        exit 1
    fi
}

if [ "$mode" = uninstall ]; then
    remove_app
    rm -f "$desktop" "$icon"
    [ -L "$launcher" ] && rm -f "$launcher"
    refresh_caches
    echo "UltraIS removed from $prefix"
    exit 0
fi

if [ "$(cd "$prefix" 2>/dev/null && pwd)" = "$here" ]; then
    echo "already installed in $prefix; writing the menu entry only"
else
    remove_app
    mkdir -p "$prefix"
    cp -a "$here/." "$prefix/"
fi
mkdir -p "$(dirname "$desktop")" "$(dirname "$icon")" "$bin"
install -m 644 "$here/ultrais.png" "$icon"
sed -e "s|^Exec=UltraIS|Exec=\"$prefix/UltraIS\"|" -e "s|^TryExec=.*|TryExec=$prefix/UltraIS|" \
    "$here/ultrais.desktop" > "$desktop"
chmod 644 "$desktop"
ln -sf "$prefix/UltraIS" "$launcher"
refresh_caches
echo "UltraIS installed in $prefix"
echo "  menu entry: $desktop"
echo "  command:    $launcher (check with: ultrais --self-test)"
