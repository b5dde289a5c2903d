# Shared by .ci/run, cross/package.sh and cross/hil.sh: is the libclang that bindgen loads
# installed? (bindgen builds the v4l2 feature's kernel bindings.)
#
# bindgen finds libclang through clang-sys, which looks in $LIBCLANG_PATH (a folder or the
# file itself), then in `llvm-config --libdir`, then in the usual library folders, for
# libclang.so, libclang-*.so, libclang.so.* and libclang-*.so.*, and skips libclang-cpp
# (a different library, installed by libclang-cpp14 on many machines without libclang).
# A plain `ls .../libclang*.so*` matches libclang-cpp.so.14 too, and so lets the install of
# libclang-dev be skipped on a machine where bindgen then fails ("Unable to find libclang").
#
# Usage: . cross/libclang.sh; libclang_path [ROOT]
# Prints the first library found and returns 0, or returns 1 when there is none. ROOT
# (default: none) is prefixed to the usual folders, for tests; llvm-config is then not asked.

libclang_path() {
    local root="${1:-}" dir file name pattern
    local dirs=()
    if [ -n "${LIBCLANG_PATH:-}" ]; then
        if [ -f "$LIBCLANG_PATH" ]; then
            dirs+=("$(dirname "$LIBCLANG_PATH")")
        else
            dirs+=("$LIBCLANG_PATH")
        fi
    fi
    if [ -z "$root" ] && command -v llvm-config >/dev/null 2>&1; then
        dirs+=("$(llvm-config --libdir 2>/dev/null || true)")
    fi
    # clang-sys's list of Linux library folders, most specific first.
    for pattern in '/usr/local/llvm*/lib*' '/usr/local/lib*/*/*' '/usr/local/lib*/*' \
        '/usr/local/lib*' '/usr/lib*/*/*' '/usr/lib*/*' '/usr/lib*'; do
        for dir in "$root"$pattern; do
            [ -d "$dir" ] && dirs+=("$dir")
        done
    done
    for dir in "${dirs[@]}"; do
        [ -n "$dir" ] && [ -d "$dir" ] || continue
        for file in "$dir"/libclang.so "$dir"/libclang-*.so "$dir"/libclang.so.* "$dir"/libclang-*.so.*; do
            # -f follows symbolic links: a dangling link cannot be loaded either.
            [ -f "$file" ] || continue
            name=${file##*/}
            case "$name" in
                *-cpp.*) continue ;;
            esac
            printf '%s\n' "$file"
            return 0
        done
    done
    return 1
}
