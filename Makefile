# Kiln: `make demo` runs the main job, `make test` runs every test; both set
# up what they need on a fresh Debian 12 machine (see scripts/setup.sh).
SHELL := /bin/bash
JOBS ?= 2
# Debian's emscripten needs Debian's node modules (acorn) to link at -O1+.
EMSDK_ENV := NODE_PATH=/usr/share/nodejs
EMCMAKE_VARIANTS := st mt

.PHONY: all setup native wasm js package docs demo test test-cpp test-package test-js test-browser \
        test-sanitize test-sanitize-ci fuzz \
        fixtures torchvision-models zoo-models bench-mlp bench-cnn-rnn bench-onnx bench-graph-models bench-zoo bench-zoo-browser bench-cold-start \
        peers study clean serve

all: native wasm js

setup:
	bash scripts/setup.sh

native:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j$(JOBS)

wasm:
	@for v in $(EMCMAKE_VARIANTS); do \
	  flag=$$([ $$v = mt ] && echo ON || echo OFF); \
	  $(EMSDK_ENV) emcmake cmake -S . -B build-wasm-$$v -DKILN_WASM_THREADS=$$flag >/dev/null || exit 1; \
	  $(EMSDK_ENV) cmake --build build-wasm-$$v -j$(JOBS) || exit 1; \
	done

# TypeScript -> build/js (type-checked; declarations to lib/), bundled by esbuild
# into lib/index.js, worker.js, worker_main.js; the wasm variants (each also
# as a relaxed-SIMD build) in lib/wasm/.
js: wasm
	npx tsc -p .
	node scripts/bundle_js.mjs
	mkdir -p lib/wasm
	for s in '' -relaxed; do \
	  cp build-wasm-st/kiln-st$$s.js build-wasm-st/kiln-st$$s.wasm lib/wasm/ && \
	  cp build-wasm-mt/kiln-mt$$s.js build-wasm-mt/kiln-mt$$s.wasm build-wasm-mt/kiln-mt$$s.worker.js lib/wasm/ || exit 1; \
	done
	echo '{"type": "commonjs"}' > lib/wasm/package.json

package: setup js
	mkdir -p dist
	npm pack --pack-destination dist

# The API reference (issue #14): static HTML from the TypeScript sources' types
# and doc comments (scripts/api_docs.mjs), in build/docs/api/index.html. Needs
# only node_modules (typescript), not the wasm build.
docs: setup
	node scripts/api_docs.mjs build/docs/api

# Reference numerics from PyTorch (Debian python3-torch); regenerated on every test run.
# build/finetune: a small CNN exported to ONNX and PyTorch's 10 training steps on it.
fixtures:
	/usr/bin/python3 scripts/make_torch_fixtures.py
	/usr/bin/python3 scripts/make_finetune_fixtures.py build/finetune

demo: setup all
	node scripts/demo.mjs

test: setup all
	$(MAKE) test-cpp test-package test-js test-browser

# The C++ package as an application uses it: installed, then examples/ built
# with find_package(kiln) and pkg-config, and run.
test-package: native
	bash scripts/test_cpp_package.sh

# torchvision models exported to ONNX for the import tests (generated, ~200 MB, kept in build/).
torchvision-models:
	/usr/bin/python3 scripts/make_torchvision_models.py build/torchvision

test-cpp: native fixtures torchvision-models
	cd build && ctest --output-on-failure -j$(JOBS)

# Transformer, detector, speech, control-flow and quantized models exported by PyTorch (small, generated in seconds).
zoo-models:
	/usr/bin/python3 scripts/make_zoo_models.py build/zoo
	/usr/bin/python3 scripts/make_control_flow_models.py build/zoo

test-js: js native fixtures torchvision-models zoo-models
	node --test tests/js/

test-browser: js torchvision-models zoo-models
	node --test tests/browser/

# The C++ suite under sanitizers, built with clang and with g++ (issue #15):
# ASan+UBSan runs every test, TSan the threading tests. The clang ASan build
# also holds the libFuzzer harnesses (tests/fuzz). Generated models are read from build/.
SANITIZE_CMAKE = cmake -S . -DCMAKE_BUILD_TYPE=Release -DKILN_DATA_DIR=$(CURDIR)/build
ASAN_CLANG_CMAKE = CXX=clang++ $(SANITIZE_CMAKE) -B build-asan-clang -DKILN_SANITIZE=address,undefined -DKILN_FUZZ=ON
TSAN_TESTS = Concurrency.*:ThreadPool*:KernelScratch*
# The code checks allocations for null: a refused huge one is what the tests want.
ASAN_ENV = ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1
test-sanitize: setup native fixtures torchvision-models
	$(ASAN_CLANG_CMAKE) >/dev/null
	cmake --build build-asan-clang -j$(JOBS) --target kiln-tests
	CXX=g++ $(SANITIZE_CMAKE) -B build-asan-gcc -DKILN_SANITIZE=address,undefined >/dev/null
	cmake --build build-asan-gcc -j$(JOBS) --target kiln-tests
	CXX=clang++ $(SANITIZE_CMAKE) -B build-tsan -DKILN_SANITIZE=thread >/dev/null
	cmake --build build-tsan -j$(JOBS) --target kiln-tests
	$(ASAN_ENV) build-asan-clang/kiln-tests --gtest_brief=1
	$(ASAN_ENV) build-asan-gcc/kiln-tests --gtest_brief=1
	TSAN_OPTIONS=halt_on_error=1 build-tsan/kiln-tests --gtest_brief=1 --gtest_filter='$(TSAN_TESTS)'

# libFuzzer harnesses (tests/fuzz) over seeds made from the fixtures
# (scripts/make_fuzz_corpus.mjs); each runs FUZZ_SECONDS, and executions,
# coverage and findings (build-asan-clang/crash-*) go to build-asan-clang/report.txt.
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES = fuzz_onnx fuzz_kiln_model fuzz_topology fuzz_tf_graph
fuzz: setup js native zoo-models
	$(ASAN_CLANG_CMAKE) >/dev/null
	cmake --build build-asan-clang -j$(JOBS) --target $(FUZZ_HARNESSES)
	node scripts/make_fuzz_corpus.mjs build-asan-clang/corpus
	bash scripts/run_fuzzers.sh build-asan-clang $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

# What CI runs after `make test` (the whole of test-sanitize does not fit its
# 30 minutes): the clang ASan+UBSan build of the fuzz harnesses, replaying
# every seed (the hostile fixtures, ONNX's node models, the zoo, Layers and
# TF.js graph models, earlier findings) and then 20,000 inputs each from a
# fixed seed, so a run is reproducible. The hostile-input and threading tests
# run in `make test` (Release); under ASan and TSan in test-sanitize.
test-sanitize-ci: setup js native zoo-models
	$(ASAN_CLANG_CMAKE) >/dev/null
	cmake --build build-asan-clang -j$(JOBS) --target $(FUZZ_HARNESSES)
	node scripts/make_fuzz_corpus.mjs build-asan-clang/corpus
	bash scripts/run_fuzzers.sh build-asan-clang runs=20000 $(FUZZ_HARNESSES)

bench-mlp: setup all
	node bench/run_mlp.mjs

# CNN (LeNet-5 style) and 2-layer LSTM: Kiln wasm vs TF.js (cpu, wasm, webgl) and ConvNetJS,
# in headless Chromium and Node; writes bench/results/cnn_rnn.json and docs/BENCH_CNN_RNN.md.
bench-cnn-rnn: setup js
	node bench/run_cnn_rnn.mjs

# torchvision models through Kiln (wasm in Chromium, native) vs onnxruntime-web/-node and
# PyTorch; writes bench/results/onnx.json and docs/BENCH_ONNX.md.
bench-onnx: setup all torchvision-models
	node bench/run_onnx.mjs

# TF.js graph models (@vladmandic/human's detectors) in Node: Kiln vs TF.js's wasm backend;
# writes bench/results/graph_models.json and docs/BENCH_GRAPH_MODELS.md.
bench-graph-models: setup js
	node bench/run_graph_models.mjs

# The zoo (BERT-like, GPT-2-like with a KV cache, detector, speech) in Node: Kiln wasm vs
# onnxruntime-node; writes bench/results/zoo.json and docs/BENCH_ZOO.md.
bench-zoo: setup js zoo-models
	node bench/run_zoo.mjs

bench-zoo-browser: setup js zoo-models
	node bench/run_zoo.mjs --browser

# Page load to first prediction in headless Chromium: Kiln vs TF.js (an MLP) and
# ONNX Runtime Web (MobileNetV2); writes bench/results/cold-start.json and docs/BENCH_COLD_START.md.
bench-cold-start: setup js torchvision-models
	node bench/run_cold_start.mjs

# The frameworks only the study compares with (brain.js, synaptic, Keras.js, TF.js's
# WebGPU backend, Node's webgpu), into bench/peers/node_modules; npm ci when the lock changed.
peers: setup
	@stamp=bench/peers/node_modules/.kiln-lock-stamp; \
	if [ ! -f $$stamp ] || ! cmp -s bench/peers/package-lock.json $$stamp; then \
	  npm ci --prefix bench/peers --ignore-scripts --no-audit --no-fund && cp bench/peers/package-lock.json $$stamp; fi

# The study (Ma et al., WWW 2019) reproduced: Table 1, Figures 1, 4 and 5, Table 3, loading
# and warm-up, threads and memory, the decision tree and the eight findings, for Kiln and
# its peers; writes bench/results/study-<date>/ (report.html) and docs/STUDY.md. Under
# 40 minutes here; QUICK=1: one MLP cell and MobileNetV2, under 3 minutes (CI runs it).
study: setup all torchvision-models peers
	node bench/run_study.mjs $(if $(QUICK),--quick,)

serve: js torchvision-models
	node scripts/serve.mjs --port 8080

clean:
	rm -rf build build-wasm-st build-wasm-mt build-asan-clang build-asan-gcc build-tsan lib dist
