#!/usr/bin/env bash
# The installed C++ package (make test-package): `cmake --install` into a
# temporary prefix, then examples/ built against it with find_package(kiln)
# (static and shared library) and with pkg-config, and run. The version the
# package reports is package.json's.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build --prefix "$prefix" >/dev/null
version=$(node -p "require('./package.json').version")
grep -q "#define KILN_VERSION_STRING \"$version\"" "$prefix/include/kiln/version.h" || { echo "version.h does not say $version"; exit 1; }
[ "$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion kiln)" = "$version" ] || { echo "kiln.pc does not say $version"; exit 1; }

cmake -S examples -B "$prefix/examples" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$prefix/examples" -j"${JOBS:-2}" >/dev/null
"$prefix/examples/train_and_save" "$prefix/model.kiln"
out=$("$prefix/examples/onnx_inference" tests/fixtures/onnx_models/mlp.onnx 8)
echo "$out"
echo "$out" | grep -q '^output: float32\[1, ' || { echo "onnx_inference printed no [1, ...] output"; exit 1; }

# pkg-config, as a Makefile-based application would build.
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" c++ -std=c++17 -O1 examples/train_and_save.cc \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs kiln) -pthread -o "$prefix/with_pkg_config"
LD_LIBRARY_PATH="$prefix/lib" "$prefix/with_pkg_config" "$prefix/model2.kiln"
# As a subproject (add_subdirectory): kiln::kiln is there, the tests are not (configured only).
mkdir -p "$prefix/sub"
cat >"$prefix/sub/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(app CXX)
add_subdirectory($PWD kiln)
add_executable(app $PWD/examples/train_and_save.cc)
target_link_libraries(app PRIVATE kiln::kiln)
CMAKE
cmake -S "$prefix/sub" -B "$prefix/sub/build" >/dev/null
targets=$(cmake --build "$prefix/sub/build" --target help)
echo "$targets" | grep -q ' app$' || { echo "the subproject build has no app target"; exit 1; }
if echo "$targets" | grep -q 'kiln-tests'; then echo "Kiln's tests are built as a subproject"; exit 1; fi
echo "test-package: the installed package builds and runs the examples (find_package: static and shared; pkg-config); as a subproject, no tests"
