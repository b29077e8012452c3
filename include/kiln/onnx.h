// Kiln's native C++ API for ONNX models (kiln.onnx in JS, the same runtime):
// sessions that take and return every element type a model declares, what a
// model file holds, its execution plan and a per-call profile, conversion to
// Kiln graph files, and export of Layers models to ONNX. Errors are thrown as
// kiln::Error naming what was wrong.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::onnx {

// A tensor in or out of a session. dtype is one of the JS API's names:
// float32, float64, float16, bfloat16, int8, int16, int32, int64, uint8,
// uint16, uint32, uint64, bool. float32 values live in `data`; every other
// type's elements in `bytes`, row-major, little-endian (bool: one byte, 0 or 1).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  std::string dtype = "float32";
  std::vector<uint8_t> bytes;

  // The elements of any dtype: a pointer to `data` or to `bytes`.
  const void* raw() const;
  size_t raw_bytes() const;
  // A tensor of `dtype` copying `elements` (row-major, as many as the shape holds).
  static Tensor from_raw(const std::string& dtype, std::vector<int64_t> shape, const void* elements);
};

// A declared input or output.
struct ValueInfo {
  std::string name;
  std::string kind;   // "tensor", "sequence", "optional", ... ("unknown" when undeclared)
  std::string dtype;  // "" when the model does not say
  bool has_shape = false;             // false: even the rank is unknown
  std::vector<int64_t> shape;         // -1 for a dimension the model leaves open
  std::vector<std::string> dim_names; // that dimension's symbolic name ("batch"), or ""
};

// How `to_kiln_graph` stores float32 weights of kMinNarrowElements or more.
enum class WeightStorage { kFloat32, kFloat16, kInt8 };
constexpr int64_t kMinNarrowElements = 1024;

class Session {
 public:
  // The bytes of a .onnx file or a Kiln graph file; throws kiln::Error naming
  // what is wrong or unsupported. External data is refused: use load_file.
  static Session load(const uint8_t* data, size_t size);
  // A file by path; external-data files are read from its folder.
  static Session load_file(const std::string& path);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  std::vector<ValueInfo> inputs() const;
  std::vector<ValueInfo> outputs() const;
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  // One tensor per input, in inputs() order, of the dtype the model declares;
  // the outputs in outputs() order, in their own dtypes.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;

  // The kernel calls, one line each ("Conv  x, w -> y  [buffer 2]"), and a
  // summary of counts and planned bytes (after the last run).
  std::vector<std::string> plan() const;
  std::string plan_summary() const;
  // One run of `inputs` with every kernel call timed, in plan() order.
  struct CallTiming {
    std::string call;          // the plan() line
    double ms = 0;
    std::string input_shapes;  // "[1, 64, 128], [128, 512]"
  };
  std::vector<CallTiming> profile(const std::vector<Tensor>& inputs) const;

 private:
  Session();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What an ONNX file or Kiln graph file holds, as text: opset, inputs and
// outputs, operators, parameters by type (and how a graph file stores them).
// Reads the bytes only (external data is not needed).
std::string describe(const uint8_t* data, size_t size);

// An ONNX file as a Kiln graph file (`kiln convert`), large float32 weights
// optionally stored narrow; the result is decoded once before it is returned.
struct ConvertResult {
  std::vector<uint8_t> bytes;
  size_t tensors = 0;  // weights stored
  size_t narrow = 0;   // of those, stored as float16 or int8
};
ConvertResult to_kiln_graph(const std::string& onnx_path, WeightStorage storage = WeightStorage::kFloat32);

// Writes the model as an ONNX file (IR 8, opset 17) that ONNX runtimes run with
// the same inputs (channels-last, as Kiln takes them) and outputs; the batch
// dimension is symbolic. Throws kiln::Error naming a layer without an ONNX form.
std::vector<uint8_t> export_model(const Sequential& model);

}  // namespace kiln::onnx
