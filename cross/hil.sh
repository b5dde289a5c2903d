#!/usr/bin/env bash
# Hardware-in-the-loop tests on an emulated arm64 machine, and the aarch64 unit tests
# under qemu-user. Usable locally and from .ci/run; see cross/README.md.
#
#   cross/hil.sh [vm] [FILTER]   boot the VM and run the device tests (default mode)
#   cross/hil.sh user-tests      cargo test for aarch64 under qemu-user
#   cross/hil.sh all             both
#   cross/hil.sh setup           install and fetch only
#
# Environment: HIL_CACHE (default .hil-cache/ at the repo root), HIL_TIMEOUT (seconds
# the VM may run, default 600), HIL_SMP (guest CPUs, default 2), HIL_QUIET=1 (do not
# echo the guest console).
set -euo pipefail

# ---- pins: change together, then delete .hil-cache/ -------------------------------
KERNEL_ABI=6.12.95+deb12            # Debian's name for the kernel build
KERNEL_PKG=6.12.95-1~bpo12+1        # its package version (bookworm-backports)
BUSYBOX_PKG=1:1.35.0-4+deb12u1+b1   # busybox-static:arm64 (bookworm)
QEMU_MIN_MAJOR=10                   # qemu-system-arm / qemu-user from bookworm-backports
TARGET=aarch64-unknown-linux-gnu
GUEST_LIBS=(ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1
    libgcc_s.so.1 libstdc++.so.6)
# ------------------------------------------------------------------------------------

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${HIL_CACHE:-$ROOT/.hil-cache}
STARTED=$(date +%s)
KROOT=$CACHE/kernel-$KERNEL_PKG            # the unpacked packages
HEADERS=$KROOT/usr/src/linux-headers-$KERNEL_ABI-arm64
MODBUILD=$CACHE/modules-$KERNEL_PKG         # gpio-sim.ko, i2c-stub.ko
SYSROOT=/usr/aarch64-linux-gnu/lib          # aarch64 glibc of Debian's cross packages
# shellcheck source=cross/libclang.sh
. "$ROOT/cross/libclang.sh"                  # libclang_path: the libclang bindgen loads

log() { printf 'hil: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
elapsed() { echo "$(($(date +%s) - STARTED)) s"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- host tools ----------------------------------------------------------------------
qemu_major() { "$1" --version 2>/dev/null | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n1; }

setup_host() {
    local apt_changed=0 from_backports=() from_stable=()
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        log "adding bookworm-backports to the apt sources"
        printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
            'Suites: bookworm-backports' 'Components: main' \
            'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
            as_root tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
        apt_changed=1
    fi
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        as_root dpkg --add-architecture arm64
        apt_changed=1
    fi
    [ "$(qemu_major qemu-system-aarch64)" -ge "$QEMU_MIN_MAJOR" ] 2>/dev/null ||
        from_backports+=(qemu-system-arm)
    [ "$(qemu_major qemu-aarch64)" -ge "$QEMU_MIN_MAJOR" ] 2>/dev/null ||
        from_backports+=(qemu-user)
    command -v aarch64-linux-gnu-gcc >/dev/null || from_stable+=(gcc-aarch64-linux-gnu)
    [ -e "$SYSROOT/libc.so" ] || from_stable+=(libc6-dev-arm64-cross)
    [ -e "$SYSROOT/libstdc++.so.6" ] || from_stable+=(libstdc++6-arm64-cross)
    # The v4l crate generates its bindings with bindgen, which needs libclang.
    libclang_path >/dev/null || from_stable+=(libclang-dev)
    local tool pkg
    for tool in make:make cpio:cpio xz:xz-utils gzip:gzip jq:jq; do
        command -v "${tool%%:*}" >/dev/null || from_stable+=("${tool#*:}")
    done
    if [ $apt_changed = 1 ] || [ ${#from_backports[@]} -gt 0 ] || [ ${#from_stable[@]} -gt 0 ]; then
        log "apt-get update"
        as_root apt-get update -qq
    fi
    if [ ${#from_backports[@]} -gt 0 ]; then
        log "installing from bookworm-backports: ${from_backports[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -t bookworm-backports "${from_backports[@]}" >/dev/null
    fi
    if [ ${#from_stable[@]} -gt 0 ]; then
        log "installing: ${from_stable[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${from_stable[@]}" >/dev/null
    fi
    if ! rustup target list --installed | grep -qx "$TARGET"; then
        rustup target add "$TARGET"
    fi
    for pkg in qemu-system-aarch64 qemu-aarch64 aarch64-linux-gnu-gcc; do
        command -v "$pkg" >/dev/null || die "$pkg is still missing after the install step"
    done
}

# ---- pinned kernel, headers, kbuild, sources, busybox ----------------------------------
fetch_packages() {
    local debs=$CACHE/debs
    [ -f "$debs/.complete-$KERNEL_PKG" ] && return 0
    mkdir -p "$debs"
    log "downloading the pinned kernel $KERNEL_PKG packages (~260 MB, once)"
    (cd "$debs" && apt-get -qq -o APT::Sandbox::User=root download \
        "linux-image-$KERNEL_ABI-arm64-unsigned:arm64=$KERNEL_PKG" \
        "linux-headers-$KERNEL_ABI-arm64:arm64=$KERNEL_PKG" \
        "linux-headers-$KERNEL_ABI-common=$KERNEL_PKG" \
        "linux-kbuild-$KERNEL_ABI=$KERNEL_PKG" \
        "linux-source-6.12=$KERNEL_PKG" \
        "busybox-static:arm64=$BUSYBOX_PKG") ||
        die "apt-get download failed: are the pins still on the mirror? (apt-cache policy linux-source-6.12)"
    touch "$debs/.complete-$KERNEL_PKG"
}

unpack_packages() {
    [ -f "$KROOT/.complete" ] && return 0
    log "unpacking kernel, headers, kbuild and busybox"
    rm -rf "$KROOT"
    mkdir -p "$KROOT"
    local deb
    for deb in "$CACHE"/debs/*.deb; do
        case $deb in */linux-source-*) continue ;; esac
        dpkg-deb -x "$deb" "$KROOT"
    done
    # The headers' Makefile includes the common part by absolute path; point it here.
    sed -i "s|^include /usr/src/|include $KROOT/usr/src/|" "$HEADERS/Makefile"
    # Only three files of the source tarball are needed.
    dpkg-deb --fsys-tarfile "$CACHE"/debs/linux-source-6.12_*.deb |
        tar -xO ./usr/src/linux-source-6.12.tar.xz |
        tar -xJ -C "$KROOT" linux-source-6.12/drivers/gpio/gpio-sim.c \
            linux-source-6.12/kernel/irq/irq_sim.c linux-source-6.12/drivers/i2c/i2c-stub.c
    touch "$KROOT/.complete"
}

# ---- gpio-sim.ko and i2c-stub.ko, out of tree -------------------------------------------
build_modules() {
    if [ -f "$MODBUILD/gpio-sim.ko" ] && [ -f "$MODBUILD/i2c-stub.ko" ] &&
        [ "$MODBUILD/gpio-sim.ko" -nt "$ROOT/cross/modules/Kbuild" ]; then
        return 0
    fi
    log "building gpio-sim.ko and i2c-stub.ko"
    local src=$KROOT/linux-source-6.12
    rm -rf "$MODBUILD"
    mkdir -p "$MODBUILD"
    cp "$ROOT/cross/modules/Kbuild" "$MODBUILD/Kbuild"
    cp "$src/drivers/gpio/gpio-sim.c" "$MODBUILD/gpio-sim-main.c"
    cp "$src/drivers/i2c/i2c-stub.c" "$MODBUILD/i2c-stub.c"
    # irq_to_desc() is not exported to modules; generic_handle_irq() does the same here.
    sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' \
        "$src/kernel/irq/irq_sim.c" >"$MODBUILD/irq_sim.c"
    grep -q 'generic_handle_irq(irqnum)' "$MODBUILD/irq_sim.c" ||
        die "irq_sim.c changed upstream: the irq_to_desc patch no longer applies"
    make -s -C "$HEADERS" M="$MODBUILD" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
        CONFIG_DEBUG_INFO_BTF_MODULES= -j2 modules >"$MODBUILD/build.log" 2>&1 ||
        {
            cat "$MODBUILD/build.log" >&2
            die "module build failed"
        }
}

# ---- the project's aarch64 binaries -------------------------------------------------------
# Prints "path" lines of the built HIL test executables.
build_rust() {
    local tests=() t
    for t in "$ROOT"/tests/hil*.rs; do
        [ -e "$t" ] && tests+=(--test "$(basename "$t" .rs)")
    done
    [ ${#tests[@]} -gt 0 ] || die "no tests/hil*.rs in the project"
    log "cargo: building the daemon and $((${#tests[@]} / 2)) HIL test binaries for $TARGET"
    local features=()
    # Hardware backends that are optional cargo features (the V4L2 camera) are built here.
    grep -qE '^v4l2 *=' "$ROOT/Cargo.toml" && features=(--features v4l2)
    (cd "$ROOT" && cargo build -q --target "$TARGET" --bins "${features[@]}") >&2
    (cd "$ROOT" && cargo test -q --target "$TARGET" --no-run --message-format=json \
        "${features[@]}" "${tests[@]}") |
        jq -r 'select(.reason == "compiler-artifact" and .executable != null and .profile.test == true) | .executable'
}

# ---- initramfs -------------------------------------------------------------------------------
# Reads the "depends=" of a module file (.ko or .ko.xz).
module_depends() {
    local tmp
    tmp=$(mktemp)
    case $1 in *.xz) xz -dc "$1" >"$tmp" ;; *) cp "$1" "$tmp" ;; esac
    aarch64-linux-gnu-objcopy -O binary --only-section=.modinfo "$tmp" "$tmp.info"
    tr '\0' '\n' <"$tmp.info" | sed -n 's/^depends=//p' | tr ',' ' '
    rm -f "$tmp" "$tmp.info"
}

# Prints "path args" lines for the modules the guest loads, dependencies first. The
# kernel package ships no modules.dep (depmod runs at install), so the dependencies come
# from each module's own "depends=" field.
module_order() {
    local moddir=$KROOT/lib/modules/$KERNEL_ABI-arm64
    declare -A seen=()
    visit() { # visit NAME [ARGS]
        local name=${1//-/_} args=${2:-} file dep
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        if [ -f "$MODBUILD/$1.ko" ]; then
            file=$MODBUILD/$1.ko
        else
            file=$(find "$moddir/kernel" -name "$1.ko.xz" -o -name "${1//_/-}.ko.xz" -o \
                -name "${1//-/_}.ko.xz" | head -n1)
        fi
        [ -n "$file" ] || die "kernel module $1 not found in the kernel package"
        for dep in $(module_depends "$file"); do
            visit "$dep"
        done
        echo "$file $args"
    }
    visit configfs
    visit i2c-dev
    visit vivid "n_devs=1 node_types=0x1"
    visit gpio-sim
    visit i2c-stub "chip_addr=0x3c"
}

pack_initramfs() { # pack_initramfs OUT TEST_BINARY...
    local out=$1 stage=$CACHE/initramfs
    shift
    rm -rf "$stage"
    mkdir -p "$stage"/{bin,lib/modules,lib/aarch64-linux-gnu,hil/tests,hil/bin}
    cp "$KROOT/bin/busybox" "$stage/bin/busybox"
    install -m 0755 "$ROOT/cross/guest-init.sh" "$stage/init"
    local lib
    for lib in "${GUEST_LIBS[@]}"; do
        cp -L "$SYSROOT/$lib" "$stage/lib/aarch64-linux-gnu/$lib"
    done
    ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$stage/lib/ld-linux-aarch64.so.1"

    local mod args file order
    order=$(module_order) || die "could not resolve the kernel modules"
    while read -r mod args; do
        file=$(basename "${mod%.xz}")
        case $mod in
        *.xz) xz -dc "$mod" >"$stage/lib/modules/$file" ;;
        *) cp "$mod" "$stage/lib/modules/$file" ;;
        esac
        echo "$file $args" >>"$stage/lib/modules/load.list"
    done <<<"$order"

    local bin
    for bin in "$@"; do
        aarch64-linux-gnu-strip -o "$stage/hil/tests/$(basename "$bin" | sed 's/-[0-9a-f]\{16\}$//')" "$bin"
    done
    local daemon=$ROOT/target/$TARGET/debug/hematovision
    [ -x "$daemon" ] && aarch64-linux-gnu-strip -o "$stage/hil/bin/hematovision" "$daemon"
    # The shipped model with its labels and metadata, and the small test model as a fallback.
    mkdir -p "$stage/hil/models/fixture-tiny"
    if [ -d "$ROOT/models" ]; then
        find "$ROOT/models" -maxdepth 1 -type f \( -name '*.tflite' -o -name '*.json' -o -name 'labels.txt' \) \
            -exec cp {} "$stage/hil/models/" \;
    fi
    local tiny=$ROOT/tests/fixtures/models/tiny
    [ -f "$tiny/tiny_f32.tflite" ] && cp "$tiny/tiny_f32.tflite" "$tiny/labels.txt" "$stage/hil/models/fixture-tiny/"
    if [ -f "$ROOT/.litert/aarch64/libLiteRt.so" ]; then
        mkdir -p "$stage/hil/litert"
        cp -L "$ROOT/.litert/aarch64/libLiteRt.so" "$stage/hil/litert/"
    fi
    (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$out"
    log "initramfs: $(du -h "$out" | cut -f1)"
}

# ---- boot and judge -------------------------------------------------------------------------
boot_vm() { # boot_vm INITRD CONSOLE_LOG FILTER
    local append="console=ttyAMA0 rdinit=/init panic=-1 loglevel=3"
    [ -n "$3" ] && append+=" hil.filter=$3"
    log "booting qemu-system-aarch64 (timeout ${HIL_TIMEOUT:-600} s)"
    local vm_started=$(date +%s) rc=0
    timeout -k 10 "${HIL_TIMEOUT:-600}" qemu-system-aarch64 -M virt -cpu cortex-a53 -smp "${HIL_SMP:-2}" -m 1024 \
        -nographic -nic none -no-reboot -kernel "$KROOT/boot/vmlinuz-$KERNEL_ABI-arm64" -initrd "$1" \
        -append "$append" </dev/null | tr -d '\r' | tee "$2" |
        if [ "${HIL_QUIET:-0}" = 1 ]; then cat >/dev/null; else sed 's/^/guest| /'; fi || rc=$?
    log "VM ran $(($(date +%s) - vm_started)) s"
    return 0
}

# Compares the console log with cross/hil-expected.txt; prints one line per result.
judge() { # judge CONSOLE_LOG FILTER
    local console=$1 filter=$2 passed=0 failed=0 kind bin name line
    grep -q '^HIL-DONE' "$console" || {
        log "the guest did not finish (no HIL-DONE): timeout or crash"
        failed=$((failed + 1))
    }
    local known=0 reason
    while read -r kind bin name reason; do
        [ -z "$kind" ] || [[ $kind == \#* ]] && continue
        if [ "$kind" = check ]; then
            name=$bin
            line=$(grep -E "^HIL-CHECK $name (ok|FAILED)$" "$console" | tail -n1 | cut -d' ' -f3)
        else
            [ -n "$filter" ] && [[ $name != *"$filter"* ]] && continue
            line=$(awk -v b="$bin" -v t="$name" '
                $1 == "HIL-BEGIN" { inside = ($2 == b) }
                inside && $1 == "test" && $2 == t && $3 == "..." { print $4 }' "$console" | tail -n1)
            name="$bin::$name"
        fi
        if [ "$kind" = xfail ]; then
            # A known failure of the environment, documented in hil-expected.txt: it must
            # still run and still fail; once it passes, the entry has to go.
            case $line in
            FAILED) known=$((known + 1)) && echo "  XFAIL    $name ($reason)" ;;
            ok) failed=$((failed + 1)) && echo "  XPASS    $name (passes now: make it a 'test' line)" ;;
            *) failed=$((failed + 1)) && echo "  MISSING  $name" ;;
            esac
            continue
        fi
        case $line in
        ok) passed=$((passed + 1)) && echo "  ok       $name" ;;
        "") failed=$((failed + 1)) && echo "  MISSING  $name" ;;
        *) failed=$((failed + 1)) && echo "  FAILED   $name ($line)" ;;
        esac
    done <"$ROOT/cross/hil-expected.txt"
    # A failing test that nobody listed still fails the run.
    local extra
    extra=$(grep -E '^test .* \.\.\. FAILED$' "$console" | awk '{print $2}' || true)
    for name in $extra; do
        grep -qE "^(test|xfail) [^ ]+ $name( |\$)" "$ROOT/cross/hil-expected.txt" && continue
        failed=$((failed + 1)) && echo "  FAILED   $name (not in cross/hil-expected.txt)"
    done
    [ $known = 0 ] || echo "hil: $known known failure(s) of the environment (xfail lines)"
    echo "hil: $passed passed, $failed failed"
    [ $failed = 0 ]
}

run_vm() { # run_vm [FILTER]
    local filter=${1:-} bins
    setup_host
    fetch_packages
    unpack_packages
    build_modules
    fetch_litert || true
    mapfile -t bins < <(build_rust)
    mkdir -p "$CACHE/run"
    pack_initramfs "$CACHE/run/initramfs.cpio.gz" "${bins[@]}"
    boot_vm "$CACHE/run/initramfs.cpio.gz" "$CACHE/run/console.log" "$filter"
    local rc=0
    judge "$CACHE/run/console.log" "$filter" || rc=$?
    log "HIL wall time $(elapsed) (console log: $CACHE/run/console.log)"
    return $rc
}

# The aarch64 LiteRT runtime (dlopened by the classifier), for qemu-user and the VM.
fetch_litert() {
    local litert=$ROOT/.litert/aarch64/libLiteRt.so
    if [ ! -f "$litert" ] && [ -x "$ROOT/cross/fetch-litert.sh" ]; then
        "$ROOT/cross/fetch-litert.sh" aarch64 >&2 ||
            log "LiteRT for aarch64 unavailable; the tests that need it will say so"
    fi
    [ -f "$litert" ]
}

run_user_tests() {
    setup_host
    fetch_litert && export HEMATOVISION_LITERT_LIB=$ROOT/.litert/aarch64/libLiteRt.so
    # Without a binfmt_misc entry for aarch64 (none on this sandboxed kernel), a test cannot
    # exec the aarch64 daemon as a child process: the kernel refuses the foreign ELF. Those
    # test files (the ones using CARGO_BIN_EXE_*) are left out here; the host suite runs
    # them on x86_64 and the VM runs the aarch64 daemon for real.
    # training_pipeline runs the host's Python on the training code: nothing in it is aarch64.
    local targets=(--lib --bins) skipped=() t name
    for t in "$ROOT"/tests/*.rs; do
        name=$(basename "$t" .rs)
        if [ "$name" = training_pipeline ]; then
            skipped+=("$name")
        elif grep -q 'CARGO_BIN_EXE_' "$t" && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
            skipped+=("$name")
        else
            targets+=(--test "$name")
        fi
    done
    [ ${#skipped[@]} -eq 0 ] || log "not under qemu-user (host-only, or they exec the aarch64 binary): ${skipped[*]}"
    log "cargo test --target $TARGET (under qemu-aarch64)"
    local rc=0
    local features=()
    grep -qE '^v4l2 *=' "$ROOT/Cargo.toml" && features=(--features v4l2)
    (cd "$ROOT" && cargo test --target "$TARGET" --no-fail-fast "${features[@]}" "${targets[@]}") || rc=$?
    log "user-tests wall time $(elapsed)"
    return $rc
}

case ${1:-vm} in
setup)
    setup_host
    fetch_packages
    unpack_packages
    build_modules
    log "setup done in $(elapsed)"
    ;;
vm) run_vm "${2:-}" ;;
user-tests) run_user_tests ;;
all)
    rc=0
    run_user_tests || rc=1
    run_vm || rc=1
    log "total wall time $(elapsed)"
    exit $rc
    ;;
-h | --help) sed -n '2,12p' "$0" ;;
*) die "unknown mode '$1' (vm, user-tests, all, setup)" ;;
esac
