"""The study's decision tree: a regression tree (scikit-learn) of the
browser/native time ratio on model and backend features, as Ma et al. fitted
one to explain TF.js's gap to native TensorFlow.

    /usr/bin/python3 bench/study/tree.py ROWS.json > tree.json

ROWS.json: the ratio rows of bench/study/data.mjs. The target is the log of
the ratio (ratios span 0.1x to 1000x). Prints the fitted tree as JSON (nodes
with their split or leaf ratio), the features and the fit's R^2.
"""
import json
import math
import sys

from sklearn.tree import DecisionTreeRegressor

FEATURES = [
    ("log10 GMACs", "log10 of the multiply-adds of one inference"),
    ("CNN", "1 for the ImageNet CNNs, 0 for the MLPs"),
    ("threads", "threads each engine was given"),
    ("Kiln", "1 when the browser engine is Kiln's"),
    ("plain JS", "1 for engines without wasm or a GPU (TF.js cpu, brain.js, synaptic, ConvNetJS)"),
    ("GPU backend", "1 for the WebGL and WebGPU backends (TF.js WebGL and WebGPU, ONNX Runtime Web WebGPU)"),
    ("vs PyTorch", "1 when the native side is PyTorch, 0 when it is the framework's own native build"),
    ("Chromium", "1 in Chromium, 0 in Node"),
]


def features(row):
    return [
        math.log10(row["gmacs"]),
        1.0 if row["kind"] == "cnn" else 0.0,
        float(row["threads"]),
        1.0 if row["browser"].startswith("kiln") else 0.0,
        1.0 if row["browser"] in ("tfjs-cpu", "brainjs", "synaptic", "convnetjs") else 0.0,
        1.0 if row["browser"] in ("tfjs-webgl", "tfjs-webgpu", "ort-webgpu") else 0.0,
        1.0 if row["native"] == "pytorch" else 0.0,
        1.0 if row.get("environment", "chromium") == "chromium" else 0.0,
    ]


def node_json(tree, i):
    t = tree.tree_
    # The tree fits log10(ratio); nodes report the ratio (a geometric mean).
    out = {"samples": int(t.n_node_samples[i]), "value": 10 ** float(t.value[i][0][0])}
    if t.children_left[i] != -1:
        out["feature"] = FEATURES[t.feature[i]][0]
        out["threshold"] = float(t.threshold[i])
        out["left"] = node_json(tree, t.children_left[i])
        out["right"] = node_json(tree, t.children_right[i])
    return out


def main():
    rows = [r for r in json.load(open(sys.argv[1])) if r.get("ratio") and r.get("gmacs")]
    if len(rows) < 4:
        print(json.dumps({"error": f"{len(rows)} ratio rows: too few to fit a tree", "rows": len(rows)}))
        return
    x = [features(r) for r in rows]
    y = [math.log10(r["ratio"]) for r in rows]
    tree = DecisionTreeRegressor(max_depth=3, min_samples_leaf=2, random_state=0).fit(x, y)
    print(json.dumps({
        "rows": len(rows),
        "target": "log10(browser time / native time); node values are geometric-mean ratios",
        "features": [{"name": n, "meaning": m} for n, m in FEATURES],
        "r2": float(tree.score(x, y)),
        "importances": {FEATURES[i][0]: float(v) for i, v in enumerate(tree.feature_importances_)},
        "root": node_json(tree, 0),
        "method": "sklearn.tree.DecisionTreeRegressor(max_depth=3, min_samples_leaf=2)",
    }))


main()
