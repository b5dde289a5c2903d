#!/bin/sh
# Fetches the pinned LiteRT runtime library (libLiteRt.so) for HematoVision.
#
# Usage: cross/fetch-litert.sh [x86_64|aarch64 ...]   (default: this machine's architecture)
#
# Google publishes the LiteRT C API library only inside the `ai-edge-litert` Python wheel. This script
# downloads the pinned wheel with pip (no install, no dependencies), checks its sha256 against the value
# pinned below, and extracts `ai_edge_litert/libLiteRt.so` to `.litert/<arch>/libLiteRt.so` at the
# repository root (git-ignored). It is idempotent: an architecture whose library is already in place is
# skipped. Environment:
#   LITERT_WHEEL_DIR  a folder that may already hold the wheels (checked before downloading).
#   PYTHON            the Python 3 interpreter to use (default: python3).
set -eu

VERSION=2.3.0
SHA_x86_64=1f15078a6725d2357d9de9221664c29afa0545d807559c5f7199ce5e40b96b23
SHA_aarch64=853fc608f96da87bd5f3458465dfb9abbf18d5ae6b94eceacead407146f175ae

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}

die() {
    echo "fetch-litert: $*" >&2
    exit 1
}

command -v "$PYTHON" >/dev/null 2>&1 || die "needs Python 3 ('$PYTHON' not found); install it, e.g. 'sudo apt-get install python3 python3-pip'"

sha256_of() {
    "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
}

fetch_one() {
    arch=$1
    case "$arch" in
        x86_64) sha=$SHA_x86_64 ;;
        aarch64 | arm64) arch=aarch64; sha=$SHA_aarch64 ;;
        *) die "unsupported architecture '$arch' (supported: x86_64, aarch64)" ;;
    esac
    dest="$ROOT/.litert/$arch"
    if [ -s "$dest/libLiteRt.so" ]; then
        echo "fetch-litert: $dest/libLiteRt.so already present"
        return 0
    fi
    wheel_name="ai_edge_litert-$VERSION-cp311-cp311-manylinux_2_27_$arch.whl"
    mkdir -p "$dest"
    cache="$ROOT/.litert/wheels"
    mkdir -p "$cache"
    wheel="$cache/$wheel_name"
    if [ ! -f "$wheel" ] && [ -n "${LITERT_WHEEL_DIR:-}" ] && [ -f "$LITERT_WHEEL_DIR/$wheel_name" ]; then
        cp "$LITERT_WHEEL_DIR/$wheel_name" "$wheel"
    fi
    if [ -f "$wheel" ] && [ "$(sha256_of "$wheel")" != "$sha" ]; then
        echo "fetch-litert: cached $wheel has the wrong checksum, downloading again" >&2
        rm -f "$wheel"
    fi
    if [ ! -f "$wheel" ]; then
        echo "fetch-litert: downloading ai-edge-litert==$VERSION for $arch with pip"
        "$PYTHON" -m pip --version >/dev/null 2>&1 \
            || die "needs pip ('$PYTHON -m pip' failed); install it, e.g. 'sudo apt-get install python3-pip'"
        "$PYTHON" -m pip download "ai-edge-litert==$VERSION" --no-deps --only-binary=:all: \
            --platform "manylinux_2_27_$arch" --python-version 3.11 --disable-pip-version-check \
            -d "$cache" >&2 || die "pip download of ai-edge-litert==$VERSION ($arch) failed"
        [ -f "$wheel" ] || die "pip did not produce $wheel_name"
    fi
    got=$(sha256_of "$wheel")
    if [ "$got" != "$sha" ]; then
        rm -f "$wheel"
        die "checksum mismatch for $wheel_name: expected $sha, got $got"
    fi
    # Extract to a temporary name, then rename, so an interrupted run never leaves a partial library.
    "$PYTHON" - "$wheel" "$dest/libLiteRt.so" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
tmp = out + ".part"
with zipfile.ZipFile(wheel) as z, open(tmp, "wb") as f:
    f.write(z.read("ai_edge_litert/libLiteRt.so"))
os.chmod(tmp, 0o755)
os.replace(tmp, out)
PY
    echo "fetch-litert: installed $dest/libLiteRt.so"
}

if [ "$#" -eq 0 ]; then
    set -- "$(uname -m)"
fi
for a in "$@"; do
    fetch_one "$a"
done
