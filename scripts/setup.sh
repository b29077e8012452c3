#!/usr/bin/env bash
# Installs what Kiln's build, tests and demo need on Debian 12, once:
# compilers (g++, cmake, emscripten), GoogleTest, Chromium for browser tests,
# PyTorch (and torchvision) for reference numerics, Fashion-MNIST (CNN accuracy tests), the ONNX conformance data (ONNX parser
# tests), and the npm dev dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cmake >/dev/null || need_apt+=(cmake)
command -v g++ >/dev/null || need_apt+=(g++)
command -v emcc >/dev/null || need_apt+=(emscripten)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# clang's sanitizer and libFuzzer runtimes (make test-sanitize, make fuzz; CI's test-sanitize-ci).
compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null || need_apt+=(clang libclang-rt-14-dev)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The Vulkan loader: WebGPU in Node (the npm package webgpu, Dawn) finds GPUs through it, or
# chromium's SwiftShader Vulkan where there is none (make study's TF.js WebGPU in Node).
/sbin/ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' || need_apt+=(libvulkan1)
[ -f /usr/include/gtest/gtest.h ] || need_apt+=(libgtest-dev)
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || need_apt+=(python3-torch python3-numpy)
/usr/bin/python3 -c 'import torchvision' 2>/dev/null || need_apt+=(python3-torchvision)
# scikit-learn: the study's decision tree (make study, bench/study/tree.py).
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || need_apt+=(python3-sklearn)
[ -f /usr/share/libonnx-testdata/data/node/test_abs/model.onnx ] || need_apt+=(libonnx-testdata)
command -v node >/dev/null || need_apt+=(nodejs npm)
[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.kiln-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  # onnxruntime-node carries its CPU binary; skip its install script (it would fetch GPU builds).
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi
