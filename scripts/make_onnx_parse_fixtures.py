"""Reference fixtures for Kiln's ONNX parser (tests/cpp/onnx_model_test.cc).

For a sample of the conformance suite's tensors (.pb) and models (Debian
libonnx-testdata), and for three files made here for what the suite lacks
(typed data fields, FLOATS/TENSORS/GRAPHS attributes, external data), writes
what python3-onnx decodes as text under tests/fixtures/onnx_parse/. The C++
test renders its own parse in the same text and compares the two exactly:
floats as hex bit patterns, large tensors as count, sequential float64 sum
and first/last 8 values.

Run: /usr/bin/python3 scripts/make_onnx_parse_fixtures.py
(needs: apt-get install python3-onnx python3-numpy libonnx-testdata)
"""
import os

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

TESTDATA = "/usr/share/libonnx-testdata/data"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "onnx_parse")

# One per storage field and element type, small and large, plus edge cases.
TENSORS = [
    "pytorch-operator/test_operator_basic/test_data_set_0/input_0.pb",  # float32, one element
    "pytorch-converted/test_AvgPool1d/test_data_set_0/output_0.pb",  # float32, 18 elements
    "pytorch-converted/test_Conv2d/test_data_set_0/input_0.pb",  # float32, 210 elements
    "pytorch-converted/test_Conv2d/test_data_set_0/output_0.pb",
    "node/test_isnan/test_data_set_0/input_0.pb",  # NaN
    "node/test_isinf/test_data_set_0/input_0.pb",  # +-inf
    "node/test_slice_start_out_of_bounds/test_data_set_0/output_0.pb",  # dims [20, 0, 5]
    "node/test_bitshift_left_uint8/test_data_set_0/input_0.pb",  # uint8
    "node/test_dequantizelinear_axis/test_data_set_0/input_0.pb",
    "node/test_clip_default_int8_max/test_data_set_0/input_0.pb",  # int8
    "node/test_clip_default_int8_max/test_data_set_0/input_1.pb",
    "node/test_cast_FLOAT_to_BFLOAT16/test_data_set_0/output_0.pb",  # uint16 (bfloat16 bits)
    "node/test_max_int16/test_data_set_0/input_0.pb",  # int16
    "node/test_blackmanwindow/test_data_set_0/input_0.pb",  # int32
    "node/test_eyelike_populate_off_main_diagonal/test_data_set_0/input_0.pb",
    "node/test_adagrad/test_data_set_0/input_1.pb",  # int64
    "node/test_sce_NCd1_mean_weight_negative_ii/test_data_set_0/input_1.pb",  # negative int64
    "node/test_constantofshape_int_shape_zero/test_data_set_0/output_0.pb",  # int32, dims [0]
    "node/test_training_dropout/test_data_set_0/input_2.pb",  # bool
    "node/test_and_bcast3v2d/test_data_set_0/input_1.pb",
    "node/test_isinf/test_data_set_0/output_0.pb",
    "node/test_cast_FLOAT_to_FLOAT16/test_data_set_0/output_0.pb",  # float16
    "node/test_castlike_DOUBLE_to_FLOAT16/test_data_set_0/input_1.pb",
    "node/test_einsum_inner_prod/test_data_set_0/output_0.pb",  # float64
    "simple/test_sequence_model7/test_data_set_0/input_0.pb",
    "node/test_bitshift_left_uint32/test_data_set_0/input_0.pb",  # uint32
    "node/test_bitshift_left_uint64/test_data_set_0/input_0.pb",  # uint64
    "node/test_strnormalizer_export_monday_casesensintive_lower/test_data_set_0/input_0.pb",  # strings
    "node/test_strnormalizer_export_monday_empty_output/test_data_set_0/output_0.pb",  # one empty string
]

MODELS = [
    "node/test_if/model.onnx",  # GRAPH attributes, raw_data attribute tensors
    "node/test_loop11/model.onnx",  # loop body, int64_data attribute tensors
    "node/test_scan9_sum/model.onnx",
    "node/test_if_opt/model.onnx",  # optional and sequence values, TYPE_PROTO attribute
    "node/test_constant/model.onnx",  # float_data attribute tensor
    "node/test_constantofshape_int_zeros/model.onnx",  # int32_data attribute tensor
    "node/test_sequence_map_extract_shapes_expanded/model.onnx",  # bool in int32_data, dim_param
    "node/test_sequence_map_add_1_sequence_1_tensor/model.onnx",
    "node/test_elu/model.onnx",  # FLOAT
    "simple/test_strnorm_model_monday_casesensintive_lower/model.onnx",  # STRING, STRINGS
    "pytorch-converted/test_PReLU_2d/model.onnx",  # raw_data initializer
    "pytorch-converted/test_Conv2d/model.onnx",  # INTS, larger initializers
    "simple/test_sequence_model7/model.onnx",  # int64_data initializer
    "pytorch-operator/test_operator_addconstant/model.onnx",  # float64 attribute tensor
]

DTYPES = {0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
          8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64",
          15: "complex128", 16: "bfloat16"}
BITS = {1: np.uint32, 10: np.uint16, 11: np.uint64}  # floats are written as their bit patterns
LIST_ALL = 16  # tensors with more elements get count, sum, first and last 8


def dtype_name(t):
    return DTYPES.get(t, "dtype%d" % t)


def quoted(s):
    return '"%s"' % (s.decode("latin-1") if isinstance(s, bytes) else s)


def hex_bytes(b):
    return '"%s"' % b.hex()


def values_text(flat, data_type):
    if data_type == 8:
        return [hex_bytes(v) for v in flat]
    if data_type in BITS:
        width = np.dtype(BITS[data_type]).itemsize * 2
        return ["%0*x" % (width, int(v)) for v in flat.view(BITS[data_type])]
    return [str(int(v)) for v in flat]


def render_tensor(t, indent):
    # to_array decodes strings as UTF-8; the parser keeps their bytes as stored.
    flat = np.array(t.string_data, dtype=object) if t.data_type == 8 else numpy_helper.to_array(t).reshape(-1)
    lines = ['%stensor %s %s [%s]' % (indent, quoted(t.name), dtype_name(t.data_type), ",".join(map(str, t.dims)))]
    if flat.size <= LIST_ALL:
        lines.append(indent + " values" + "".join(" " + v for v in values_text(flat, t.data_type)))
        return lines
    lines.append("%s count %d" % (indent, flat.size))
    if t.data_type != 8:
        total = np.cumsum(flat.astype(np.float64))[-1]  # sequential, as the C++ test sums
        lines.append("%s sum %016x" % (indent, int(np.array([total]).view(np.uint64)[0])))
    lines.append(indent + " first" + "".join(" " + v for v in values_text(flat[:8], t.data_type)))
    lines.append(indent + " last" + "".join(" " + v for v in values_text(flat[-8:], t.data_type)))
    return lines


def render_value_info(role, vi, indent):
    kind = vi.type.WhichOneof("value")
    if kind != "tensor_type":
        names = {None: "unknown", "sequence_type": "sequence", "map_type": "map", "optional_type": "optional",
                 "sparse_tensor_type": "sparse_tensor"}
        return ["%s%s %s %s" % (indent, role, quoted(vi.name), names[kind])]
    tt = vi.type.tensor_type
    shape = "?"
    if tt.HasField("shape"):
        dims = []
        for d in tt.shape.dim:
            which = d.WhichOneof("value")
            dims.append(str(d.dim_value) if which == "dim_value" else quoted(d.dim_param) if which == "dim_param" else "?")
        shape = "[%s]" % ",".join(dims)
    return ["%s%s %s tensor %s %s" % (indent, role, quoted(vi.name), dtype_name(tt.elem_type), shape)]


def render_attribute(a, indent):
    head = "%sattr %s %s" % (indent, quoted(a.name), AttributeProto.AttributeType.Name(a.type))
    if a.ref_attr_name:
        head += " ref " + quoted(a.ref_attr_name)
    f32 = lambda x: "%08x" % int(np.array([x], dtype=np.float32).view(np.uint32)[0])
    scalars = {
        AttributeProto.FLOAT: lambda: [f32(a.f)],
        AttributeProto.INT: lambda: [str(a.i)],
        AttributeProto.STRING: lambda: [hex_bytes(a.s)],
        AttributeProto.FLOATS: lambda: [f32(x) for x in a.floats],
        AttributeProto.INTS: lambda: [str(x) for x in a.ints],
        AttributeProto.STRINGS: lambda: [hex_bytes(x) for x in a.strings],
    }
    if a.type in scalars:
        return [head + "".join(" " + v for v in scalars[a.type]())]
    lines = [head]
    if a.type == AttributeProto.TENSOR:
        lines += render_tensor(a.t, indent + " ")
    for t in a.tensors:
        lines += render_tensor(t, indent + " ")
    if a.type == AttributeProto.GRAPH:
        lines += render_graph(a.g, indent + " ")
    for g in a.graphs:
        lines += render_graph(g, indent + " ")
    return lines


def render_graph(g, indent):
    lines = ["%sgraph %s nodes %d initializers %d" % (indent, quoted(g.name), len(g.node), len(g.initializer))]
    for role, infos in (("input", g.input), ("output", g.output), ("value_info", g.value_info)):
        for vi in infos:
            lines += render_value_info(role, vi, indent + " ")
    for t in g.initializer:
        lines += render_tensor(t, indent + " ")
    for n in g.node:
        lines.append("%s node %s name %s domain %s inputs%s outputs%s" % (
            indent, quoted(n.op_type), quoted(n.name), quoted(n.domain),
            "".join(" " + quoted(x) for x in n.input), "".join(" " + quoted(x) for x in n.output)))
        for a in n.attribute:
            lines += render_attribute(a, indent + "  ")
    return lines


def render_model(m):
    lines = ["model ir_version %d producer %s" % (m.ir_version, quoted(m.producer_name))]
    lines += ["opset %s %d" % (quoted(o.domain), o.version) for o in m.opset_import]
    return lines + render_graph(m.graph, "")


def write_fixture(name, source, lines):
    with open(os.path.join(OUT, name + ".txt"), "w", encoding="utf-8") as f:
        f.write("source %s\n" % source)
        f.write("\n".join(lines) + "\n")


def fixture_name(rel):
    return rel.replace("/test_data_set_", "_set").replace("/", "__").rsplit(".", 1)[0]


def make_typed_fields_model():
    """Typed data fields (every element type), FLOATS/TENSORS/GRAPHS attributes,
    value_info and partial shapes: what the conformance models lack."""
    typed = [
        helper.make_tensor("f32", TensorProto.FLOAT, [2, 2], [1.5, -0.0, float("inf"), 3e-39]),
        helper.make_tensor("f32_large", TensorProto.FLOAT, [5, 8], [i * 0.37 - 5 for i in range(40)]),
        helper.make_tensor("f64", TensorProto.DOUBLE, [3], [1e300, -2.5, 1 / 3]),
        helper.make_tensor("f16", TensorProto.FLOAT16, [3], np.array([1.0, -65504, 6e-8], dtype=np.float16)),
        helper.make_tensor("i8", TensorProto.INT8, [4], [-128, -1, 0, 127]),
        helper.make_tensor("u8", TensorProto.UINT8, [3], [0, 128, 255]),
        helper.make_tensor("i16", TensorProto.INT16, [2], [-32768, 32767]),
        helper.make_tensor("u16", TensorProto.UINT16, [2], [0, 65535]),
        helper.make_tensor("i32", TensorProto.INT32, [3], [-2147483648, -1, 2147483647]),
        helper.make_tensor("i64", TensorProto.INT64, [3], [-9223372036854775808, -1, 9223372036854775807]),
        helper.make_tensor("u32", TensorProto.UINT32, [2], [0, 4294967295]),
        helper.make_tensor("u64", TensorProto.UINT64, [2], [1, 18446744073709551615]),
        helper.make_tensor("b", TensorProto.BOOL, [3], [True, False, True]),
        helper.make_tensor("s", TensorProto.STRING, [2], [b"kiln", b"\x00\xff"]),
        helper.make_tensor("scalar", TensorProto.INT64, [], [42]),
        helper.make_tensor("empty", TensorProto.FLOAT, [0, 3], []),
    ]
    body = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "body",
                             [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    custom = helper.make_node(
        "Custom", ["a", "", "f32"], ["out"], name="custom0", domain="kiln.test",
        scales=[0.5, -1.25, 1e-30], count=-7, alpha=0.1, label=b"hi", labels=[b"x", b""],
        weights=[typed[2], typed[4]], branches=[body, body])
    graph = helper.make_graph(
        [custom, helper.make_node("Relu", ["out"], ["z"])], "typed_fields",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3, None]),
         helper.make_tensor_value_info("unranked", TensorProto.INT64, None)],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3, 4])],
        initializer=typed,
        value_info=[helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", "M", 4])])
    return helper.make_model(graph, producer_name="kiln-fixtures", opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("kiln.test", 1)])


def make_external_data_model():
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4) / 7, "w")
    b = numpy_helper.from_array(np.array([-3, 5], dtype=np.int64), "b")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "external",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])], initializer=[w, b])
    return helper.make_model(graph, producer_name="kiln-fixtures", opset_imports=[helper.make_opsetid("", 17)])


def main():
    os.makedirs(OUT, exist_ok=True)
    for rel in TENSORS:
        t = TensorProto()
        with open(os.path.join(TESTDATA, rel), "rb") as f:
            t.ParseFromString(f.read())
        write_fixture(fixture_name(rel), "testdata " + rel, render_tensor(t, ""))
    for rel in MODELS:
        m = onnx.load(os.path.join(TESTDATA, rel))
        write_fixture(fixture_name(rel), "testdata " + rel, render_model(m))

    typed = make_typed_fields_model()
    onnx.save(typed, os.path.join(OUT, "typed_fields.onnx"))
    write_fixture("typed_fields", "local typed_fields.onnx", render_model(typed))

    side_file = os.path.join(OUT, "external.bin")
    if os.path.exists(side_file):
        os.remove(side_file)  # onnx appends to an existing side file
    onnx.save_model(make_external_data_model(), os.path.join(OUT, "external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external.bin", size_threshold=0)
    loaded = onnx.load(os.path.join(OUT, "external.onnx"))  # reads external.bin back
    write_fixture("external", "local external.onnx", render_model(loaded))


if __name__ == "__main__":
    main()
