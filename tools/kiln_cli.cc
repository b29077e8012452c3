// kiln: command-line tool for model files.
//   kiln inspect FILE                    layers, shapes, parameters, the predict plan's steps
//                                        (op, backend, once per weight change); for ONNX
//                                        models and Kiln graph files: opset, inputs, outputs,
//                                        operators, parameters by type, the session's plan
//                                        (kernel calls and their planned buffers)
//   kiln profile FILE [--runs N] [--threads N] [--dim NAME=SIZE ...]
//                                        an ONNX model's kernel calls timed on zero inputs
//                                        (symbolic dims 1 unless --dim sets them): time per op
//                                        type, then the slowest calls with their shapes
//   kiln predict FILE IN.f32 N OUT.f32   runs N samples (raw float32) through the model
//   kiln init OUT INPUTS UNITS:ACT... [--seed S]   writes a freshly initialized MLP
//   kiln convert IN.onnx OUT.kiln [--fp16|--int8]  an ONNX model as a Kiln graph file,
//                                        large float32 weights optionally stored narrow
//   kiln --help | --version
// A bad argument or a file that cannot be read or written is a message and a
// non-zero status (1; 2 for usage errors), never an abort.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <memory>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "core/json.h"
#include "io/kiln_graph_format.h"
#include "kiln/kiln.h"
#include "kiln/version.h"
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

const char kUsage[] =
    "usage: kiln inspect FILE\n"
    "       kiln profile FILE [--runs N] [--threads N] [--dim NAME=SIZE ...]\n"
    "       kiln predict FILE IN.f32 N OUT.f32\n"
    "       kiln init OUT INPUTS UNITS:ACTIVATION... [--seed S]\n"
    "       kiln convert IN.onnx OUT.kiln [--fp16|--int8]\n"
    "       kiln --help | --version\n";

int usage() {
  std::cerr << kUsage;
  return 2;
}

// A whole-string integer in [lo, hi], or an error naming the argument (std::stol
// would throw std::invalid_argument, or accept "12abc").
int64_t integer_arg(const std::string& what, const std::string& text, int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi)
    throw kiln::Error(what + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + text + "'");
  return int64_t(v);
}

// Writes the bytes to `path`, or an error naming it (a full disk, a missing folder).
void write_file(const std::string& path, const void* data, size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), std::streamsize(bytes));
  if (!f.flush()) throw kiln::Error("cannot write " + path);
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

// Zero-filled inputs; a symbolic dimension takes its size from `dims` (by
// name), else 1, as does an unknown one.
kiln::Status zero_feeds(const kiln::OnnxSession& s, const std::map<std::string, int64_t>& dims, std::vector<kiln::OnnxValue>* feeds) {
  feeds->assign(s.inputs().size(), kiln::OnnxValue());
  for (size_t i = 0; i < feeds->size(); ++i) {
    const kiln::OnnxValueInfo& in = s.inputs()[i];
    if (in.kind != kiln::OnnxValueKind::kTensor || !in.has_shape) return kiln::Status::error("input '" + in.name + "' has no shape");
    kiln::OnnxShape shape;
    for (const kiln::OnnxDim& d : in.shape) shape.push_back(d.value >= 0 ? d.value : dims.count(d.param) ? dims.at(d.param) : 1);
    KILN_RETURN_IF_ERROR(kiln::OnnxValue::make(in.elem_type, shape, &(*feeds)[i]));
  }
  return kiln::Status();
}

// One run at batch 1 on zero inputs: sizes the session's planned buffers.
kiln::Status run_once(const kiln::OnnxSession& s) {
  std::vector<kiln::OnnxValue> feeds, outs;
  KILN_RETURN_IF_ERROR(zero_feeds(s, {}, &feeds));
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

// kiln profile: median kernel-call times over --runs runs (after one warm-up).
int profile_onnx(int argc, char** argv) {
  int runs = 20;
  std::map<std::string, int64_t> dims;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw kiln::Error("profile: " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--runs") runs = int(integer_arg("--runs", v, 1, 1000000));
    else if (a == "--threads") kiln::set_num_threads(int(integer_arg("--threads", v, 1, 1024)));
    else if (a == "--dim" && v.find('=') != std::string::npos)
      dims[v.substr(0, v.find('='))] = integer_arg("--dim " + v.substr(0, v.find('=')), v.substr(v.find('=') + 1), 0, int64_t(1) << 31);
    else throw kiln::Error("profile: unknown option " + a + " " + v);
  }
  std::vector<uint8_t> bytes = read_file(argv[2]);
  kiln::OnnxModel model;
  check(kiln::parse_onnx_model(bytes.data(), bytes.size(), &model));
  check(kiln::resolve_external_data(&model, folder_reader(argv[2])));
  std::unique_ptr<kiln::OnnxSession> s;
  check(kiln::OnnxSession::load_model(std::move(model), &s));
  std::vector<kiln::OnnxValue> feeds, outs;
  check(zero_feeds(*s, dims, &feeds));
  check(s->run(feeds, &outs));
  const std::vector<std::string> lines = s->plan_lines();
  std::vector<std::vector<double>> samples(lines.size());
  std::vector<double> totals;
  std::vector<kiln::OnnxSession::StepTiming> times;
  for (int r = 0; r < runs; ++r) {
    check(s->run(feeds, &outs, &times));
    double total = 0;
    for (size_t k = 0; k < times.size() && k < samples.size(); ++k) samples[k].push_back(times[k].ms), total += times[k].ms;
    totals.push_back(total);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::vector<double> step(lines.size());
  std::map<std::string, std::pair<double, int>> by_op;
  for (size_t k = 0; k < lines.size(); ++k) {
    step[k] = median(samples[k]);
    auto& [ms, calls] = by_op[lines[k].substr(0, lines[k].find(' '))];
    ms += step[k], ++calls;
  }
  const double total = median(totals);
  std::printf("%s: %zu kernel calls, %.3f ms per run (median of %d, %d threads)\n", argv[2], lines.size(), total, runs,
              kiln::num_threads());
  std::vector<std::pair<double, std::string>> ops;
  for (const auto& [op, v] : by_op) ops.push_back({v.first, op + " (" + std::to_string(v.second) + " calls)"});
  std::sort(ops.rbegin(), ops.rend());
  std::printf("time per op type:\n");
  for (const auto& [ms, what] : ops) std::printf("  %8.3f ms %5.1f%%  %s\n", ms, 100 * ms / std::max(total, 1e-9), what.c_str());
  std::vector<size_t> order(lines.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return step[a] > step[b]; });
  std::printf("slowest kernel calls:\n");
  for (size_t k = 0; k < std::min<size_t>(15, order.size()); ++k)
    std::printf("  %8.3f ms  %s  {%s}\n", step[order[k]], lines[order[k]].c_str(),
                order[k] < times.size() ? times[order[k]].input_shapes.c_str() : "");
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
  write_file(paths[1], out.data(), out.size());
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
      seed = uint64_t(integer_arg("--seed", argv[++i], 0, INT64_MAX));
      continue;
    }
    const size_t colon = arg.find(':');
    kiln::DenseOptions d;
    d.units = integer_arg("units", arg.substr(0, colon), 1, int64_t(1) << 24);
    if (colon != std::string::npos) d.activation = arg.substr(colon + 1);
    layers.push_back(d);
  }
  kiln::Sequential model(integer_arg("INPUTS", argv[3], 1, int64_t(1) << 24), seed);
  for (const auto& d : layers) model.add_dense(d);
  const std::vector<uint8_t> bytes = model.save();
  write_file(argv[2], bytes.data(), bytes.size());
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
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "--version") {
    std::cout << "kiln " << KILN_VERSION_STRING << "\n";
    return 0;
  }
  if (argc < 3) return usage();
  const std::string cmd = argv[1];
  try {
    if (cmd == "init") return init_model(argc, argv);
    if (cmd == "convert") return convert(argc, argv);
    if (cmd == "profile") return profile_onnx(argc, argv);
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
      const int64_t n = integer_arg("N", argv[4], 1, int64_t(1) << 31);
      std::vector<uint8_t> in = read_file(argv[3]);
      if (in.size() != size_t(n) * size_t(model.input_dim()) * 4)
        throw kiln::Error("predict: " + std::string(argv[3]) + " holds " + std::to_string(in.size()) + " bytes, expected " +
                          std::to_string(n * model.input_dim() * 4));
      std::vector<float> x(in.size() / 4);
      std::copy(in.begin(), in.end(), reinterpret_cast<uint8_t*>(x.data()));
      std::vector<float> y = model.predict(x.data(), n);
      write_file(argv[5], y.data(), y.size() * 4);
      return 0;
    }
    return usage();
  } catch (const kiln::Error& e) {
    std::cerr << "kiln: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {  // out of memory and the like: a message, never an abort
    std::cerr << "kiln: " << e.what() << "\n";
    return 1;
  }
}
