#!/usr/bin/env bash
# Builds libemaspark_jpeg.so (emaspark_jpeg.c + libjpeg-turbo linked statically, its symbols
# hidden) into OUT_DIR. Called by Maven (lib/pom.xml, generate-resources).
#
# Needs gcc, the JDK's JNI headers and libjpeg-turbo's headers + static library (Debian:
# libjpeg62-turbo-dev; installed here with apt-get when missing and we are root). Without them
# it says why and builds nothing: NativeJpeg then reports itself unavailable and images are
# decoded by OpenCV alone (same pixels, about 1.5x slower for training crops).
#
# Flags: no -ffast-math and no FP contraction, so float results are bit-identical to Java's.
set -euo pipefail
out_dir="$1"
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib_name=libemaspark_jpeg.so

skip() {
  echo "emaspark native JPEG: not built ($*); images will be decoded by OpenCV alone" >&2
  exit 0
}

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || skip "only linux-x86_64 is built"
command -v gcc >/dev/null || skip "no gcc"

find_static_libjpeg() {
  for f in /usr/lib/x86_64-linux-gnu/libjpeg.a /usr/lib64/libjpeg.a /usr/lib/libjpeg.a /usr/local/lib/libjpeg.a; do
    if [ -f "$f" ] && [ -f "$(dirname "$f")/../../include/jpeglib.h" -o -f /usr/include/jpeglib.h ]; then
      echo "$f"
      return 0
    fi
  done
  return 1
}

libjpeg_a="$(find_static_libjpeg || true)"
if [ -z "$libjpeg_a" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "emaspark native JPEG: installing libjpeg62-turbo-dev with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q libjpeg62-turbo-dev >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libjpeg62-turbo-dev >/dev/null 2>&1; } \
    || true
  libjpeg_a="$(find_static_libjpeg || true)"
fi
[ -n "$libjpeg_a" ] || skip "no libjpeg-turbo static library (Debian package libjpeg62-turbo-dev)"
grep -rqs LIBJPEG_TURBO_VERSION /usr/include/jconfig.h /usr/include/*/jconfig.h /usr/local/include/jconfig.h \
  || skip "the JPEG library found is not libjpeg-turbo"

java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
[ -f "$java_home/include/jni.h" ] || skip "no jni.h under $java_home/include"

# Rebuild only when the source or this script changed.
target="$out_dir/$lib_name"
if [ -f "$target" ] && [ "$target" -nt "$src_dir/emaspark_jpeg.c" ] && [ "$target" -nt "$0" ]; then
  exit 0
fi
mkdir -p "$out_dir"
# Debian's libjpeg.a is not compiled as PIC. Its only reference a shared object cannot resolve is
# jerror.c's PC-relative read of glibc's `stderr` (for warnings): point it at a hidden copy that
# emaspark_jpeg.c defines, then link the archive's objects.
objects="$(mktemp -d)"
trap 'rm -rf "$objects"' EXIT
(cd "$objects" && ar x "$libjpeg_a")
# Export the JNI entry points only; libjpeg's symbols stay private to this library.
printf '{ global: Java_*; local: *; };\n' > "$objects/exports.map"
for o in "$objects"/*.o; do
  objcopy --redefine-sym stderr=emaspark_jpeg_stderr "$o"
done
gcc -O3 -fPIC -shared -std=c11 -Wall -Wextra -Wno-clobbered \
  -ffp-contract=off -fno-fast-math -fvisibility=hidden \
  -I"$java_home/include" -I"$java_home/include/linux" \
  "$src_dir/emaspark_jpeg.c" "$objects"/*.o \
  -Wl,--version-script="$objects/exports.map" -Wl,-Bsymbolic -Wl,-z,defs -Wl,-z,noexecstack \
  -o "$target.tmp"
mv "$target.tmp" "$target"
echo "emaspark native JPEG: built $target against $libjpeg_a" >&2
