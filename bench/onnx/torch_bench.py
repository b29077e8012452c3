#!/usr/bin/python3
"""PyTorch CPU side of the ONNX benchmark (bench/run_onnx.mjs starts it).

    /usr/bin/python3 bench/onnx/torch_bench.py prepare TORCHVISION_DIR OUT_DIR NAME...
        Builds each model exactly as scripts/make_torchvision_models.py does (same
        seed, same BatchNorm calibration), checks its output against NAME.out.f32
        (so it is the model in NAME.onnx), and saves it traced as OUT_DIR/NAME.pt.
    /usr/bin/python3 bench/onnx/torch_bench.py run NAME.pt INPUT.f32 N,C,H,W THREADS WARMUP ITERS [EXPECTED.f32]
        One model, one thread count, in a fresh process; prints one JSON line.
        load_ms: from the TorchScript file's bytes in memory to the first output
        (torch.jit.load, freeze + optimize_for_inference, first run). The model is
        frozen and optimized for inference as PyTorch's CPU deployment guide says:
        without it Debian's torch 1.13 (generic BLAS) runs 1x1 convolutions on one
        thread through aten::_slow_conv2d_forward, 10-20x slower than oneDNN. Latency: median of ITERS timed runs under
        torch.inference_mode after WARMUP untimed ones. Peak memory: ru_maxrss.
"""
import io
import json
import os
import resource
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def max_rel_err(got, want):
    if got.size != want.size:
        return None
    scale = float(np.abs(want).max())
    return float(np.abs(want - got).max()) / scale if scale > 0 else None


def prepare(tv_dir, out_dir, names):
    sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
    import make_torchvision_models as mk
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    for name in names:
        path = os.path.join(out_dir, name + ".pt")
        if os.path.exists(path):
            continue
        m, x, y = mk.make(name, mk.MODELS[name])
        want = np.fromfile(os.path.join(tv_dir, name + ".out.f32"), dtype=np.float32)
        x_file = torch.from_numpy(np.fromfile(os.path.join(tv_dir, name + ".in.f32"), dtype=np.float32).reshape(x.shape))
        with torch.no_grad():
            err = max_rel_err(m(x_file).numpy().ravel(), want)
            traced = torch.jit.trace(m, x_file)
        if err is None or err > 1e-4:
            raise SystemExit(f"{name}: the rebuilt model does not match {name}.out.f32 (max rel err {err})")
        traced.save(path + ".tmp")
        os.replace(path + ".tmp", path)
        print(f"wrote {path} (matches the ONNX export's PyTorch output: {err:.2g})", file=sys.stderr)


def run(pt, input_path, shape, threads, warmup, iters, expected):
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    rss_base = rss_kib()
    with open(pt, "rb") as f:
        data = f.read()
    x = torch.from_numpy(np.fromfile(input_path, dtype=np.float32).reshape(shape))
    t0 = time.perf_counter()
    m = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.load(io.BytesIO(data)).eval()))
    t_loaded = time.perf_counter()
    with torch.inference_mode():
        out = m(x).numpy().ravel().copy()
        t_first = time.perf_counter()
        for _ in range(warmup):
            m(x)
        samples = []
        for _ in range(iters):
            t = time.perf_counter()
            m(x)
            samples.append((time.perf_counter() - t) * 1e3)
    want = np.fromfile(expected, dtype=np.float32) if expected else None
    print(json.dumps({
        "threads": torch.get_num_threads(), "version": torch.__version__,
        "session_ms": (t_loaded - t0) * 1e3, "first_run_ms": (t_first - t_loaded) * 1e3, "load_ms": (t_first - t0) * 1e3,
        "median_ms": float(np.median(samples)), "samples": samples,
        "rss_base_kib": rss_base, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "max_rel_err": max_rel_err(out, want) if want is not None else None,
    }))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif sys.argv[1] == "run":
        a = sys.argv[2:]
        run(a[0], a[1], [int(d) for d in a[2].split(",")], int(a[3]), int(a[4]), int(a[5]), a[6] if len(a) > 6 else None)
    else:
        raise SystemExit(__doc__)
