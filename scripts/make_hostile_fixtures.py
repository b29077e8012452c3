"""Writes tests/fixtures/hostile/*.onnx: tiny ONNX files that once crashed,
trapped or hung Kiln (issue #15). Each must now load or run to a clear error.
Run by hand after changing a case (the files are committed, each < 200 bytes):
    /usr/bin/python3 scripts/make_hostile_fixtures.py tests/fixtures/hostile
"""
import os
import sys

import onnx
from onnx import TensorProto as T
from onnx import helper as h

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/hostile"
os.makedirs(out, exist_ok=True)


def save(name, nodes, inputs, outputs, inits=(), opset=13):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="kiln-hostile")
    m.ir_version = 8
    onnx.save(m, os.path.join(out, name + ".onnx"))


def fill(name, count):
    """ConstantOfShape to [count] float32 ones (folded at load)."""
    save(name, [h.make_node("ConstantOfShape", ["s"], ["y"], name="fill", value=h.make_tensor("v", T.FLOAT, [1], [1.0]))],
         [], [h.make_tensor_value_info("y", T.FLOAT, None)], [h.make_tensor("s", T.INT64, [1], [count])])


scalar_x = [h.make_tensor_value_info("x", T.FLOAT, [])]
any_y = [h.make_tensor_value_info("y", T.FLOAT, None)]
# 2^30 floats: 4 GiB, whose byte count wraps to 0 in wasm32's size_t.
fill("fill_4gib", 2**30)
# Just under 4 GiB: fits size_t in wasm32, but no wasm heap can hold it.
fill("fill_almost_4gib", 2**30 - 1024)
# An axis on a rank-0 value (read out of bounds before).
save("argmax_scalar", [h.make_node("ArgMax", ["x"], ["y"], name="argmax", axis=0)], scalar_x,
     [h.make_tensor_value_info("y", T.INT64, None)])
save("cumsum_scalar", [h.make_node("CumSum", ["x", "a"], ["y"], name="cumsum")], scalar_x, any_y,
     [h.make_tensor("a", T.INT64, [], [0])])
save("split_scalar", [h.make_node("Split", ["x"], ["y", "z"], name="split", axis=0)], scalar_x, any_y)
# Reshape whose known dimensions multiply past int64 (signed overflow before).
save("reshape_overflow", [h.make_node("Reshape", ["x", "s"], ["y"], name="reshape")],
     [h.make_tensor_value_info("x", T.FLOAT, [4])], any_y,
     [h.make_tensor("s", T.INT64, [4], [2**40, 2**40, 2**40, -1])])
# TopK declaring one output where the kernel writes two.
save("topk_one_output", [h.make_node("TopK", ["x", "k"], ["y"], name="topk")],
     [h.make_tensor_value_info("x", T.FLOAT, [4])], any_y, [h.make_tensor("k", T.INT64, [1], [2])])
# Gemm with one input.
save("gemm_one_input", [h.make_node("Gemm", ["x"], ["y"], name="gemm")],
     [h.make_tensor_value_info("x", T.FLOAT, [2, 2])], any_y)
# A value the heap holds (480 MB of uint8) whose reduction's float64 working
# copy (3.84 GB) it cannot: an aborted wasm instance before, as std::vector
# cannot fail without exceptions. The length comes from the input, so it runs.
save("reduce_copy_too_big", [h.make_node("ConstantOfShape", ["n"], ["v"], name="fill", value=h.make_tensor("v", T.UINT8, [1], [1])),
                             h.make_node("ReduceMax", ["v"], ["y"], name="reduce", axes=[0], keepdims=0)],
     [h.make_tensor_value_info("n", T.INT64, [1])], [h.make_tensor_value_info("y", T.UINT8, None)])
