#!/usr/bin/env bash
# Builds the Debian package(s) of HematoVision with cargo-deb.
#
# Usage: cross/package.sh [amd64|arm64 ...]    (default: both)
#
# amd64 is built natively; arm64 (Raspberry Pi OS 64-bit, Jetson) is cross-compiled with the
# rustup target aarch64-unknown-linux-gnu and Debian's gcc-aarch64-linux-gnu linker, linked
# dynamically against glibc because the LiteRT runtime (libLiteRt.so) is dlopened. Each
# package carries the runtime library of its own architecture, fetched by
# cross/fetch-litert.sh and staged as target/deb-stage/libLiteRt.so.
#
# Installs what is missing (cargo-deb from crates.io; the rustup target; the cross linker
# from Debian, when running as root). Needs the shipped model in models/
# (hematovision-wbc4.tflite, labels.txt, metadata.json, head.json, gate.json). Packages land in
# target/debian/.
# Check them with: HV_DEB=target/debian/<file>.deb cargo test --test package_contents -- --ignored
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CARGO_DEB_VERSION=3.8.0

die() {
    echo "package: $*" >&2
    exit 1
}

[ "$#" -gt 0 ] || set -- amd64 arm64

for f in models/hematovision-wbc4.tflite models/labels.txt models/metadata.json models/head.json models/gate.json; do
    [ -s "$f" ] || die "$f is missing: the package ships the trained model (see models/)"
done

if ! cargo deb --version >/dev/null 2>&1; then
    echo "package: installing cargo-deb $CARGO_DEB_VERSION"
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        die "missing $*; install it: sudo apt-get install $*"
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# bindgen (the V4L2 camera's kernel bindings) needs libclang: looked for as bindgen does.
. "$ROOT/cross/libclang.sh"
libclang_path >/dev/null || apt_install libclang-dev

for arch in "$@"; do
    start=$(date +%s)
    case "$arch" in
        amd64) triple=x86_64-unknown-linux-gnu; litert=x86_64; elf_machine="x86-64" ;;
        arm64) triple=aarch64-unknown-linux-gnu; litert=aarch64; elf_machine="ARM aarch64" ;;
        *) die "unknown architecture '$arch' (amd64 or arm64)" ;;
    esac
    if [ "$arch" = arm64 ]; then
        rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
        command -v aarch64-linux-gnu-gcc >/dev/null || apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
        export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
        export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
        strip_flag=(--no-strip)
        # Strip with the cross binutils instead (cargo-deb would use the host's strip).
        export CARGO_PROFILE_RELEASE_STRIP=symbols
    else
        strip_flag=()
    fi
    sh cross/fetch-litert.sh "$litert"
    lib=".litert/$litert/libLiteRt.so"
    if command -v file >/dev/null && ! file -L "$lib" | grep -q "$elf_machine"; then
        die "$lib is not an $elf_machine library: $(file -L "$lib")"
    fi
    mkdir -p target/deb-stage
    cp "$lib" target/deb-stage/libLiteRt.so
    echo "package: building $arch ($triple)"
    # The V4L2 camera is a cargo feature (bindgen needs libclang at build time).
    cargo deb --target "$triple" --features v4l2 "${strip_flag[@]}"
    unset CARGO_PROFILE_RELEASE_STRIP
    deb=$(ls -t target/debian/hematovision_*_"$arch".deb 2>/dev/null | head -n1 || true)
    [ -n "$deb" ] || deb=$(ls -t target/"$triple"/debian/hematovision_*_"$arch".deb | head -n1)
    echo "package: $deb ($(( $(date +%s) - start )) s)"
done
