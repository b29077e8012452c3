// kiln: command-line tool for model files.
//   kiln inspect FILE                    layers, shapes, parameters, the predict plan's steps
//                                        (op, backend, once per weight change); for ONNX
//                                        models and Kiln graph files: opset, inputs, outputs,
//                                        operators, parameters by type, the session's plan
//                                        (kernel calls and their planned buffers)
//   kiln predict FILE IN.f32 N OUT.f32   runs N samples (raw float32) through the model
//   kiln init OUT INPUTS UNITS:ACT... [--seed S]   writes a freshly initialized MLP
//   kiln convert IN.onnx OUT.kiln [--fp16|--int8]  an ONNX model as a Kiln graph file,
//                                        large float32 weights optionally stored narrow
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "core/json.h"
#include "io/kiln_graph_format.h"
#include "kiln/kiln.h"
#include "onnx/model_summary.h"
#include "onnx/session.h"

namespace {
bool slurp(const std::string& path, std::vector<uint8_t>* bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  bytes->assign(std::istreambuf_iterator<char>(f), {});
  return true;
}

std::vector<uint8_t> read_file(const char* path) {
  std::vector<uint8_t> bytes;
  if (!slurp(path, &bytes)) throw kiln::Error(std::string("cannot open ") + path);
  return bytes;
}

void check(const kiln::Status& s) {
  if (!s.ok()) throw kiln::Error(s.message());
}

int usage() {
  std::cerr << "usage: kiln inspect FILE\n       kiln predict FILE IN.f32 N OUT.f32\n"
               "       kiln init OUT INPUTS UNITS:ACTIVATION... [--seed S]\n"
               "       kiln convert IN.onnx OUT.kiln [--fp16|--int8]\n";
  return 2;
}

// External-data files, relative to the model's folder (resolve_external_data
// has already refused absolute paths and "..").
kiln::OnnxFileReader folder_reader(const std::string& model_path) {
  const size_t slash = model_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : model_path.substr(0, slash + 1);
  return [dir](const std::string& location, std::vector<uint8_t>* bytes) {
    return slurp(dir + location, bytes) ? kiln::Status() : kiln::Status::error("cannot open " + dir + location);
  };
}

// Zero-filled inputs at batch 1 (every symbolic or unknown dimension 1): a
// run sizes the session's planned buffers.
kiln::Status run_once(const kiln::OnnxSession& s) {
  std::vector<kiln::OnnxValue> feeds(s.inputs().size()), outs;
  for (size_t i = 0; i < feeds.size(); ++i) {
    const kiln::OnnxValueInfo& in = s.inputs()[i];
    if (in.kind != kiln::OnnxValueKind::kTensor || !in.has_shape) return kiln::Status::error("input '" + in.name + "' has no shape");
    kiln::OnnxShape shape;
    for (const kiln::OnnxDim& d : in.shape) shape.push_back(d.value >= 0 ? d.value : 1);
    KILN_RETURN_IF_ERROR(kiln::OnnxValue::make(in.elem_type, shape, &feeds[i]));
  }
  return s.run(feeds, &outs);
}

// The memory-plan line: the one place inspect reports what a loaded session
// will do (extend it here as OnnxSession's plan reporting grows).
void print_plan(kiln::OnnxModel model) {
  std::unique_ptr<kiln::OnnxSession> s;
  const kiln::Status loaded = kiln::OnnxSession::load_model(std::move(model), &s);
  if (!loaded.ok()) {
    std::cout << "plan: the model does not load: " << loaded.message() << "\n";
    return;
  }
  const kiln::Status ran = run_once(*s);
  std::cout << "plan: " << s->plan_summary()
            << (ran.ok() ? " (one run at batch 1, zero inputs)" : " (no run at batch 1: " + ran.message() + ")") << "\n";
  std::cout << "kernel calls (op  inputs -> outputs  [planned buffer]):\n";
  for (const std::string& line : s->plan_lines()) std::cout << "  " << line << "\n";
}

// An ONNX model (.onnx) or a Kiln graph file.
int inspect_onnx(const char* path, const std::vector<uint8_t>& bytes) {
  kiln::OnnxModel model;
  std::vector<kiln::KilnGraphTensorInfo> stored;
  const bool graph_file = kiln::is_kiln_graph(bytes.data(), bytes.size());
  check(graph_file ? kiln::decode_kiln_graph(bytes.data(), bytes.size(), &model, &stored)
                   : kiln::parse_onnx_model(bytes.data(), bytes.size(), &model));
  std::cout << "file: " << path << " (" << bytes.size() << " bytes), " << (graph_file ? "Kiln graph file" : "ONNX model")
            << ", " << kiln::onnx_model_summary(model, graph_file ? &stored : nullptr);
  const kiln::Status external = kiln::resolve_external_data(&model, folder_reader(path));
  if (!external.ok()) {
    std::cout << "plan: the model does not load: " << external.message() << "\n";
    return 0;
  }
  print_plan(std::move(model));
  return 0;
}

int convert(int argc, char** argv) {
  kiln::WeightEncoding encoding = kiln::WeightEncoding::kFloat32;
  std::vector<std::string> paths;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--fp16") encoding = kiln::WeightEncoding::kFloat16;
    else if (arg == "--int8") encoding = kiln::WeightEncoding::kInt8;
    else if (arg.rfind("--", 0) == 0) return usage();
    else paths.push_back(arg);
  }
  if (paths.size() != 2) return usage();
  const std::vector<uint8_t> onnx = read_file(paths[0].c_str());
  const kiln::OnnxFileReader reader = folder_reader(paths[0]);
  std::vector<uint8_t> out;
  check(kiln::encode_kiln_graph(onnx.data(), onnx.size(), encoding, &out, &reader));
  // Read back what was written: the report counts the table, and a file that
  // does not decode is never left behind as a success.
  kiln::OnnxModel model;
  std::vector<kiln::KilnGraphTensorInfo> stored;
  check(kiln::decode_kiln_graph(out.data(), out.size(), &model, &stored));
  std::ofstream f(paths[1], std::ios::binary);
  f.write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size()));
  if (!f.flush()) throw kiln::Error("cannot write " + paths[1]);
  size_t narrow = 0;
  for (const kiln::KilnGraphTensorInfo& t : stored) narrow += t.encoding != kiln::WeightEncoding::kFloat32;
  std::cout << "wrote " << paths[1] << " (" << out.size() << " bytes; the ONNX file has " << onnx.size() << "): "
            << stored.size() << " tensors";
  if (encoding != kiln::WeightEncoding::kFloat32)
    std::cout << ", " << narrow << " stored as " << (encoding == kiln::WeightEncoding::kInt8 ? "int8" : "float16") << ", "
              << stored.size() - narrow << " kept as they are (under " << kiln::kMinQuantizedElements
              << " elements, not float32, or out of range)";
  std::cout << "\n";
  return 0;
}

int init_model(int argc, char** argv) {
  if (argc < 5) return usage();
  uint64_t seed = 42;
  std::vector<kiln::DenseOptions> layers;
  for (int i = 4; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
      continue;
    }
    const size_t colon = arg.find(':');
    kiln::DenseOptions d;
    d.units = std::stol(arg.substr(0, colon));
    if (colon != std::string::npos) d.activation = arg.substr(colon + 1);
    layers.push_back(d);
  }
  kiln::Sequential model(std::stol(argv[3]), seed);
  for (const auto& d : layers) model.add_dense(d);
  const std::vector<uint8_t> bytes = model.save();
  std::ofstream(argv[2], std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  std::cout << "wrote " << argv[2] << " (" << bytes.size() << " bytes, " << model.count_params() << " parameters)\n";
  return 0;
}
}  // namespace

// The predict plan at batch 1 (one run on zeros compiles it): every kernel
// call with its backend, and the steps that run once per weight change.
void print_plan(kiln::Sequential* model) {
  const std::vector<float> zeros(size_t(model->input_dim()), 0.0f);
  try {
    model->predict(zeros.data(), 1);
  } catch (const kiln::Error& e) {  // the rest of the report stands
    std::cout << "plan: not compiled (" << e.what() << ")\n";
    return;
  }
  kiln::Json plans;
  check(kiln::parse_json(model->placement(), &plans));
  for (const kiln::Json& plan : plans.items()) {
    const kiln::Json* steps = plan.find("steps");
    if (!steps || plan.find("plan")->as_string() != "predict") continue;
    std::cout << "plan (predict, batch 1): " << steps->items().size() << " kernel calls, backend "
              << kiln::backend() << "\n";
    for (const kiln::Json& step : steps->items()) {
      std::cout << "  " << step.find("op")->as_string() << " [" << step.find("backend")->as_string() << "]";
      if (step.find("constant")) std::cout << " once per weight change";
      if (const kiln::Json* why = step.find("fallback")) std::cout << " (fallback: " << why->as_string() << ")";
      std::cout << "\n";
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[1];
  try {
    if (cmd == "init") return init_model(argc, argv);
    if (cmd == "convert") return convert(argc, argv);
    std::vector<uint8_t> bytes = read_file(argv[2]);
    const bool layer_model = bytes.size() >= 8 && std::memcmp(bytes.data(), "KILNMODL", 8) == 0 &&
                             !kiln::is_kiln_graph(bytes.data(), bytes.size());
    if (cmd == "inspect" && !layer_model) return inspect_onnx(argv[2], bytes);
    kiln::Sequential model = kiln::Sequential::load(bytes.data(), bytes.size());
    if (cmd == "inspect") {
      std::cout << "file: " << argv[2] << " (" << bytes.size() << " bytes)\n"
                << "input features: " << model.input_dim() << "\n"
                << model.summary();
      std::cout << "weights (TF.js order):\n";
      for (const auto& s : model.weight_shapes()) {
        std::cout << "  [";
        for (size_t i = 0; i < s.size(); ++i) std::cout << (i ? ", " : "") << s[i];
        std::cout << "]\n";
      }
      print_plan(&model);
      return 0;
    }
    if (cmd == "predict" && argc == 6) {
      const long n = std::stol(argv[4]);
      std::vector<uint8_t> in = read_file(argv[3]);
      if (in.size() != size_t(n) * size_t(model.input_dim()) * 4)
        throw kiln::Error("predict: " + std::string(argv[3]) + " holds " + std::to_string(in.size()) + " bytes, expected " +
                          std::to_string(n * model.input_dim() * 4));
      std::vector<float> x(in.size() / 4);
      std::copy(in.begin(), in.end(), reinterpret_cast<uint8_t*>(x.data()));
      std::vector<float> y = model.predict(x.data(), n);
      std::ofstream(argv[5], std::ios::binary).write(reinterpret_cast<const char*>(y.data()), std::streamsize(y.size() * 4));
      return 0;
    }
    return usage();
  } catch (const kiln::Error& e) {
    std::cerr << "kiln: " << e.what() << "\n";
    return 1;
  }
}
