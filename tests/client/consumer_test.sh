#!/bin/sh
# Installs the client library into a temporary prefix (cmake --install, component ProspectClient)
# and builds tests/client/consumer out of the tree against that prefix only: through
# find_package(ProspectClient) and through pkg-config, shared and static; runs each program.
#
#   consumer_test.sh BUILD_DIR SOURCE_DIR LIBDIR [EXTRA_FLAGS]
# EXTRA_FLAGS: compile and link flags for the consumer (the sanitizer flags of a PS_SANITIZE build).
set -eu
build=$1 src=$2 libdir=$3 extra=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

echo "== install into $prefix"
cmake --install "$build" --prefix "$prefix" --component ProspectClient
for f in include/prospects/client.h include/prospects/proto/prospects/v1/service.pb-c.h \
         include/prospects/proto/prospects/v1/resources.pb-c.h \
         include/prospects/proto/google/protobuf/field_mask.pb-c.h \
         "$libdir/libprospect_client.a" "$libdir/pkgconfig/prospect-client.pc" \
         "$libdir/cmake/ProspectClient/ProspectClientConfig.cmake" bin/prospectctl; do
  test -e "$prefix/$f" || { echo "missing after install: $f"; exit 1; }
done
ls "$prefix/$libdir"/libprospect_client.so.* >/dev/null
"$prefix/bin/prospectctl" --version

cp -R "$src/tests/client/consumer" "$tmp/consumer" # outside the source tree

echo "== CMake: find_package(ProspectClient)"
cmake -S "$tmp/consumer" -B "$tmp/build-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_FLAGS="-Wall -Wextra -Werror $extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >/dev/null
cmake --build "$tmp/build-cmake"
"$tmp/build-cmake/consumer"
"$tmp/build-cmake/consumer_static"

echo "== pkg-config prospect-client"
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --modversion prospect-client
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" make -C "$tmp/consumer" BUILD="$tmp/build-make" \
  CFLAGS="-O2 -Wall -Wextra -Werror $extra" LDFLAGS="$extra"
LD_LIBRARY_PATH="$prefix/$libdir" "$tmp/build-make/consumer"
"$tmp/build-make/consumer_static"
echo "== run-time lookup (client/README.md): without LD_LIBRARY_PATH the loader does not find the"
echo "   library in a private prefix; linked with its folder as rpath, the program runs"
if env -u LD_LIBRARY_PATH "$tmp/build-make/consumer" >/dev/null 2>&1; then
  echo "the consumer ran without its library's folder: the check below proves nothing"; exit 1
fi
libpath=$(PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --variable=libdir prospect-client)
# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -Werror $extra -o "$tmp/consumer_rpath" "$tmp/consumer/main.c" \
  $(PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --cflags --libs prospect-client) \
  -Wl,-rpath,"$libpath"
env -u LD_LIBRARY_PATH "$tmp/consumer_rpath"
if ldd "$tmp/build-make/consumer_static" | grep -q prospect_client; then
  echo "consumer_static should not need libprospect_client.so"; exit 1
fi
echo "== the README's example of a service calling the library compiles against the install"
# the first C block of README.md, its statements wrapped in main()
awk '/^```c$/ {on = 1; next} on && /^```$/ {exit} on' "$src/README.md" >"$tmp/readme.c"
test -s "$tmp/readme.c" || { echo "README.md has no C example"; exit 1; }
{ echo '#include <stdio.h>'; echo '#include <stdlib.h>'; echo '#include <string.h>'
  grep '^#include' "$tmp/readme.c"; echo 'int main(void) {'
  grep -v '^#include' "$tmp/readme.c"; echo 'return 0; }'; } >"$tmp/readme_main.c"
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"; export PKG_CONFIG_PATH
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror $extra -o "$tmp/readme_example" "$tmp/readme_main.c" \
  $(pkg-config --cflags --libs prospect-client)
echo "== consumer builds and runs against the installed library"
