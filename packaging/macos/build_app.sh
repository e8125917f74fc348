#!/usr/bin/env bash
# Build UltraIS.app on macOS (Apple silicon): CPU + Metal (MPS) torch from PyPI, in a venv of
# its own (build/venv-cpu), with the icon rendered from resources/icons/ultrais.svg.
#
# Usage: packaging/macos/build_app.sh [--self-test]     (then: packaging/macos/make_dmg.sh)
# Needs: Xcode command line tools, Python 3.10-3.12 from python.org or Homebrew as python3.
# Result: dist/cpu/UltraIS.app (PyInstaller signs it ad hoc; see packaging/README.md for
# signing with a Developer ID and notarising).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
python3 packaging/build.py --variant cpu --venv build/venv-cpu --torch-index default "$@"
echo "app: $root/dist/cpu/UltraIS.app"
