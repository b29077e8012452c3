// kiln: command-line tool for model files. It uses only the public API
// (kiln/kiln.h, kiln/onnx.h), as any program built on the installed package.
//   kiln inspect FILE                    layers, shapes, parameters, the predict plan's steps
//                                        (op, backend, once per weight change); for ONNX
//                                        models and Kiln graph files: opset, inputs, outputs,
//                                        operators, parameters by type, the session's plan
//                                        (kernel calls and their planned buffers)
//   kiln run FILE IN.npy... [-o OUT.npy]... [--threads N]
//                                        runs a Kiln model, Kiln graph file or ONNX model on
//                                        NumPy arrays (one per input, any dtype the model
//                                        declares); writes one .npy per output, or prints them
//   kiln train MODEL.kiln X.npy Y.npy -o OUT.kiln [--epochs N] [--batch-size N]
//              [--validation-split F] [--optimizer NAME] [--learning-rate R] [--loss NAME]
//              [--no-shuffle] [--threads N]
//                                        fits a Kiln model on NumPy data, one line per epoch
//   kiln profile FILE [--runs N] [--threads N] [--dim NAME=SIZE ...]
//                                        an ONNX model's kernel calls timed on zero inputs
//                                        (symbolic dims 1 unless --dim sets them): time per op
//                                        type, then the slowest calls with their shapes
//   kiln predict FILE IN.f32 N OUT.f32   runs N samples (raw float32) through a Kiln model
//   kiln init OUT INPUTS UNITS:ACT... [--seed S]   writes a freshly initialized MLP
//   kiln convert IN.onnx OUT.kiln [--fp16|--int8]  an ONNX model as a Kiln graph file,
//                                        large float32 weights optionally stored narrow
//   kiln --help | --version
// A bad argument or a file that cannot be read or written is a message and a
// non-zero status (1; 2 for usage errors), never an abort.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/onnx.h"
#include "kiln/version.h"
#include "npy.h"

namespace {
using kiln::onnx::Tensor;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw kiln::Error("cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
  if (f.bad()) throw kiln::Error("cannot read " + path);
  return bytes;
}

const char kUsage[] =
    "usage: kiln inspect FILE\n"
    "       kiln run FILE IN.npy... [-o OUT.npy]... [--threads N]\n"
    "       kiln train MODEL.kiln X.npy Y.npy -o OUT.kiln [--epochs N] [--batch-size N]\n"
    "                  [--validation-split F] [--optimizer NAME] [--learning-rate R] [--loss NAME]\n"
    "                  [--no-shuffle] [--threads N]\n"
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

// A whole-string finite number in [lo, hi].
double number_arg(const std::string& what, const std::string& text, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v) || v < lo || v > hi)
    throw kiln::Error(what + " must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + text + "'");
  return v;
}

// Writes the bytes to `path`, or an error naming it (a full disk, a missing folder).
void write_file(const std::string& path, const void* data, size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), std::streamsize(bytes));
  if (!f.flush()) throw kiln::Error("cannot write " + path);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

// Any numeric array as float32 values, for Layers models (as TF.js casts what
// predict and fit are given). float16 and bfloat16 are refused rather than guessed.
std::vector<float> as_float32(const std::string& path, const Tensor& t) {
  if (t.dtype == "float32") return t.data;
  const size_t n = size_t(numel(t.shape));
  std::vector<float> out(n);
  const uint8_t* p = t.bytes.data();
  auto each = [&](auto sample) {
    using T = decltype(sample);
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, p + i * sizeof(T), sizeof(T));
      out[i] = float(v);
    }
  };
  if (t.dtype == "float64") each(double());
  else if (t.dtype == "int8") each(int8_t());
  else if (t.dtype == "int16") each(int16_t());
  else if (t.dtype == "int32") each(int32_t());
  else if (t.dtype == "int64") each(int64_t());
  else if (t.dtype == "uint8" || t.dtype == "bool") each(uint8_t());
  else if (t.dtype == "uint16") each(uint16_t());
  else if (t.dtype == "uint32") each(uint32_t());
  else if (t.dtype == "uint64") each(uint64_t());
  else throw kiln::Error(path + ": a Kiln model takes float32 values; " + t.dtype + " is not converted (save it as float32)");
  return out;
}

// The first values of a tensor, for printing (any dtype).
std::string first_values(const Tensor& t, size_t count) {
  const std::vector<float> v = t.dtype == "float16" || t.dtype == "bfloat16" ? std::vector<float>() : as_float32("", t);
  std::string s;
  char buf[32];
  for (size_t i = 0; i < v.size() && i < count; ++i) {
    std::snprintf(buf, sizeof buf, " %.6g", double(v[i]));
    s += buf;
  }
  return v.size() > count ? s + " ..." : s;
}

// The flags of run and train: positional arguments, -o outputs, and --name value pairs.
struct Args {
  std::vector<std::string> positional, outputs;
  std::map<std::string, std::string> options;
  bool no_shuffle = false;
};

Args parse_args(const char* cmd, int argc, char** argv, const std::vector<std::string>& valued) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-o" || arg == "--output") {
      if (i + 1 >= argc) throw kiln::Error(std::string(cmd) + ": -o needs a file name");
      a.outputs.push_back(argv[++i]);
    } else if (arg == "--no-shuffle" && std::string(cmd) == "train") {
      a.no_shuffle = true;
    } else if (arg.rfind("--", 0) == 0) {
      if (std::find(valued.begin(), valued.end(), arg) == valued.end()) throw kiln::Error(std::string(cmd) + ": unknown option " + arg);
      if (i + 1 >= argc) throw kiln::Error(std::string(cmd) + ": " + arg + " needs a value");
      a.options[arg] = argv[++i];
    } else {
      a.positional.push_back(arg);
    }
  }
  if (a.options.count("--threads")) kiln::set_num_threads(int(integer_arg("--threads", a.options["--threads"], 1, 1024)));
  return a;
}

// Writes each output to its -o file, or prints it when none were given.
void emit_outputs(const Args& a, const std::vector<std::string>& names, const std::vector<Tensor>& outs) {
  if (!a.outputs.empty() && a.outputs.size() != outs.size())
    throw kiln::Error("run: the model has " + std::to_string(outs.size()) + " output(s), " + std::to_string(a.outputs.size()) +
                      " -o file(s) were given");
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!a.outputs.empty()) {
      kiln_cli::write_npy(a.outputs[i], outs[i]);
      std::cout << "wrote " << a.outputs[i] << ": " << names[i] << " " << outs[i].dtype << shape_text(outs[i].shape) << "\n";
    } else {
      std::cout << names[i] << ": " << outs[i].dtype << shape_text(outs[i].shape) << first_values(outs[i], 8) << "\n";
    }
  }
}

// kiln run on a Layers model: one input array of [n, ...input shape].
void run_layers(const Args& a, const std::vector<uint8_t>& bytes) {
  kiln::Sequential model = kiln::Sequential::load(bytes.data(), bytes.size());
  if (a.positional.size() != 2) throw kiln::Error("run: a Kiln model takes one input array, got " + std::to_string(a.positional.size() - 1));
  const Tensor x = kiln_cli::read_npy(a.positional[1]);
  if (x.shape.empty() || numel(x.shape) != x.shape[0] * model.input_dim())
    throw kiln::Error("run: " + a.positional[1] + " has shape " + shape_text(x.shape) + "; the model takes [n, ...] with " +
                      std::to_string(model.input_dim()) + " values per sample");
  const std::vector<float> values = as_float32(a.positional[1], x);
  Tensor y;
  y.shape = {x.shape[0]};
  for (const int64_t d : model.output_shape()) y.shape.push_back(d);
  y.data = model.predict(values.data(), x.shape[0]);
  emit_outputs(a, {"output"}, {y});
}

// kiln run on an ONNX model or Kiln graph file: one array per input, of its dtype.
void run_session(const Args& a) {
  const kiln::onnx::Session s = kiln::onnx::Session::load_file(a.positional[0]);
  const std::vector<kiln::onnx::ValueInfo> ins = s.inputs();
  if (a.positional.size() - 1 != ins.size()) {
    std::string names;
    for (const auto& in : ins) names += (names.empty() ? "" : ", ") + in.name + " (" + in.dtype + ")";
    throw kiln::Error("run: the model takes " + std::to_string(ins.size()) + " input(s): " + names + "; " +
                      std::to_string(a.positional.size() - 1) + " .npy file(s) were given");
  }
  std::vector<Tensor> feeds;
  for (size_t i = 0; i < ins.size(); ++i) {
    feeds.push_back(kiln_cli::read_npy(a.positional[i + 1]));
    if (!ins[i].dtype.empty() && ins[i].dtype != feeds.back().dtype)
      throw kiln::Error("run: " + a.positional[i + 1] + " holds " + feeds.back().dtype + " values; input '" + ins[i].name +
                        "' takes " + ins[i].dtype + " (save it with .astype('" + ins[i].dtype + "'))");
  }
  emit_outputs(a, s.output_names(), s.run(feeds));
}

int run_model(int argc, char** argv) {
  const Args a = parse_args("run", argc, argv, {"--threads"});
  if (a.positional.size() < 2) return usage();
  const std::vector<uint8_t> bytes = read_file(a.positional[0]);
  if (kiln::model_file_kind(bytes.data(), bytes.size()) == kiln::ModelFileKind::kLayers) run_layers(a, bytes);
  else run_session(a);
  return 0;
}

int train_model(int argc, char** argv) {
  Args a = parse_args("train", argc, argv,
                      {"--epochs", "--batch-size", "--validation-split", "--optimizer", "--learning-rate", "--loss", "--threads"});
  if (a.positional.size() != 3) return usage();
  if (a.outputs.size() != 1) throw kiln::Error("train: give one -o OUT.kiln for the trained model");
  const std::vector<uint8_t> bytes = read_file(a.positional[0]);
  if (kiln::model_file_kind(bytes.data(), bytes.size()) != kiln::ModelFileKind::kLayers)
    throw kiln::Error("train: " + a.positional[0] + " is not a Kiln model file (kiln init, or model.save() in JS or C++)");
  kiln::Sequential model = kiln::Sequential::load(bytes.data(), bytes.size());
  const Tensor x = kiln_cli::read_npy(a.positional[1]), y = kiln_cli::read_npy(a.positional[2]);
  if (x.shape.empty() || y.shape.empty() || x.shape[0] != y.shape[0])
    throw kiln::Error("train: X " + shape_text(x.shape) + " and Y " + shape_text(y.shape) + " must hold the same number of samples (their first dimension)");
  if (numel(x.shape) != x.shape[0] * model.input_dim())
    throw kiln::Error("train: X has shape " + shape_text(x.shape) + "; the model takes " + std::to_string(model.input_dim()) + " values per sample");
  const std::vector<float> xs = as_float32(a.positional[1], x), ys = as_float32(a.positional[2], y);

  kiln::FitOptions fit;
  fit.epochs = int(integer_arg("--epochs", a.options.count("--epochs") ? a.options["--epochs"] : "1", 1, 1000000));
  fit.batch_size = integer_arg("--batch-size", a.options.count("--batch-size") ? a.options["--batch-size"] : "32", 1, int64_t(1) << 31);
  fit.shuffle = !a.no_shuffle;
  const bool recompile = a.options.count("--optimizer") || a.options.count("--learning-rate") || a.options.count("--loss");
  if (recompile || !model.compiled()) {
    if (!a.options.count("--loss"))
      throw kiln::Error(model.compiled() ? "train: --optimizer and --learning-rate compile the model afresh; give --loss too"
                                         : "train: the model file has no training configuration; give --loss (and --optimizer, default adam)");
    kiln::CompileOptions c;
    c.loss = a.options["--loss"];
    c.optimizer = a.options.count("--optimizer") ? a.options["--optimizer"] : "adam";
    if (a.options.count("--learning-rate")) c.learning_rate = float(number_arg("--learning-rate", a.options["--learning-rate"], 1e-12, 1e6));
    model.compile(c);
  }
  // As TF.js's validationSplit: the last fraction of the samples, before shuffling.
  int64_t n = x.shape[0];
  if (a.options.count("--validation-split")) {
    const double split = number_arg("--validation-split", a.options["--validation-split"], 0, 0.999999);
    const int64_t held = int64_t(double(n) * split);
    if (held >= n) throw kiln::Error("train: --validation-split leaves no samples to train on");
    fit.validation_n = held;
    n -= held;
    fit.validation_x = xs.data() + size_t(n * model.input_dim());
    fit.validation_y = ys.data() + size_t(n) * (ys.size() / size_t(x.shape[0]));
  }
  auto t0 = std::chrono::steady_clock::now();
  fit.on_epoch_end = [&](const kiln::EpochLogs& l) {
    const auto t1 = std::chrono::steady_clock::now();
    std::printf("epoch %d/%d: loss %.6f acc %.4f", l.epoch + 1, fit.epochs, double(l.loss), double(l.acc));
    if (fit.validation_n) std::printf(" val_loss %.6f val_acc %.4f", double(l.val_loss), double(l.val_acc));
    std::printf(" (%.2f s)\n", std::chrono::duration<double>(t1 - t0).count());
    std::fflush(stdout);
    t0 = t1;
  };
  model.fit(xs.data(), ys.data(), n, fit);
  const std::vector<uint8_t> out = model.save(/*include_optimizer=*/true);
  write_file(a.outputs[0], out.data(), out.size());
  std::cout << "wrote " << a.outputs[0] << " (" << out.size() << " bytes, optimizer state included)\n";
  return 0;
}

// Zero-filled inputs; a symbolic dimension takes its size from `dims` (by
// name), else 1, as does an unknown one.
std::vector<Tensor> zero_feeds(const kiln::onnx::Session& s, const std::map<std::string, int64_t>& dims) {
  std::vector<Tensor> feeds;
  for (const kiln::onnx::ValueInfo& in : s.inputs()) {
    if (in.kind != "tensor" || !in.has_shape || in.dtype.empty()) throw kiln::Error("input '" + in.name + "' has no tensor type and shape");
    std::vector<int64_t> shape;
    for (size_t k = 0; k < in.shape.size(); ++k)
      shape.push_back(in.shape[k] >= 0 ? in.shape[k] : dims.count(in.dim_names[k]) ? dims.at(in.dim_names[k]) : 1);
    const std::vector<uint8_t> zeros(size_t(numel(shape)) * 8, 0);
    feeds.push_back(Tensor::from_raw(in.dtype, shape, zeros.data()));
  }
  return feeds;
}

// The memory-plan line: the one place inspect reports what a loaded session
// will do; one run at batch 1 on zero inputs sizes the planned buffers.
void print_plan(const std::string& path) {
  std::unique_ptr<kiln::onnx::Session> s;
  try {
    s.reset(new kiln::onnx::Session(kiln::onnx::Session::load_file(path)));
  } catch (const kiln::Error& e) {
    std::cout << "plan: the model does not load: " << e.what() << "\n";
    return;
  }
  std::string ran = " (one run at batch 1, zero inputs)";
  try {
    s->run(zero_feeds(*s, {}));
  } catch (const kiln::Error& e) {
    ran = std::string(" (no run at batch 1: ") + e.what() + ")";
  }
  std::cout << "plan: " << s->plan_summary() << ran << "\n";
  std::cout << "kernel calls (op  inputs -> outputs  [planned buffer]):\n";
  for (const std::string& line : s->plan()) std::cout << "  " << line << "\n";
}

// An ONNX model (.onnx) or a Kiln graph file.
int inspect_onnx(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string what = kiln::onnx::describe(bytes.data(), bytes.size());
  std::cout << "file: " << path << " (" << bytes.size() << " bytes), " << what;
  print_plan(path);
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
  const kiln::onnx::Session s = kiln::onnx::Session::load_file(argv[2]);
  const std::vector<Tensor> feeds = zero_feeds(s, dims);
  s.run(feeds);
  const std::vector<std::string> lines = s.plan();
  std::vector<std::vector<double>> samples(lines.size());
  std::vector<double> totals;
  std::vector<kiln::onnx::Session::CallTiming> times;
  for (int r = 0; r < runs; ++r) {
    times = s.profile(feeds);
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
  kiln::onnx::WeightStorage storage = kiln::onnx::WeightStorage::kFloat32;
  std::vector<std::string> paths;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--fp16") storage = kiln::onnx::WeightStorage::kFloat16;
    else if (arg == "--int8") storage = kiln::onnx::WeightStorage::kInt8;
    else if (arg.rfind("--", 0) == 0) return usage();
    else paths.push_back(arg);
  }
  if (paths.size() != 2) return usage();
  const kiln::onnx::ConvertResult r = kiln::onnx::to_kiln_graph(paths[0], storage);
  write_file(paths[1], r.bytes.data(), r.bytes.size());
  std::ifstream in(paths[0], std::ios::binary | std::ios::ate);
  std::cout << "wrote " << paths[1] << " (" << r.bytes.size() << " bytes; the ONNX file has " << int64_t(in.tellg()) << "): "
            << r.tensors << " tensors";
  if (storage != kiln::onnx::WeightStorage::kFloat32)
    std::cout << ", " << r.narrow << " stored as " << (storage == kiln::onnx::WeightStorage::kInt8 ? "int8" : "float16") << ", "
              << r.tensors - r.narrow << " kept as they are (under " << kiln::onnx::kMinNarrowElements
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
  std::vector<kiln::Sequential::PlanStep> steps;
  for (const kiln::Sequential::PlanStep& step : model->plan_steps())
    if (step.plan == "predict" && step.batch_size == 1) steps.push_back(step);
  std::cout << "plan (predict, batch 1): " << steps.size() << " kernel calls, backend " << kiln::backend() << "\n";
  for (const kiln::Sequential::PlanStep& step : steps) {
    std::cout << "  " << step.op << " [" << step.backend << "]";
    if (step.constant) std::cout << " once per weight change";
    if (!step.fallback.empty()) std::cout << " (fallback: " << step.fallback << ")";
    std::cout << "\n";
  }
}

int inspect_layers(const std::string& path, const std::vector<uint8_t>& bytes) {
  kiln::Sequential model = kiln::Sequential::load(bytes.data(), bytes.size());
  std::cout << "file: " << path << " (" << bytes.size() << " bytes)\n"
            << "input features: " << model.input_dim() << "\n"
            << model.summary();
  std::cout << "weights (TF.js order):\n";
  for (const auto& s : model.weight_shapes()) std::cout << "  " << shape_text(s) << "\n";
  print_plan(&model);
  return 0;
}

int predict_raw(int argc, char** argv) {
  if (argc != 6) return usage();
  const std::vector<uint8_t> bytes = read_file(argv[2]);
  kiln::Sequential model = kiln::Sequential::load(bytes.data(), bytes.size());
  const int64_t n = integer_arg("N", argv[4], 1, int64_t(1) << 31);
  const std::vector<uint8_t> in = read_file(argv[3]);
  if (in.size() != size_t(n) * size_t(model.input_dim()) * 4)
    throw kiln::Error("predict: " + std::string(argv[3]) + " holds " + std::to_string(in.size()) + " bytes, expected " +
                      std::to_string(n * model.input_dim() * 4));
  std::vector<float> x(in.size() / 4);
  std::memcpy(x.data(), in.data(), in.size());
  const std::vector<float> y = model.predict(x.data(), n);
  write_file(argv[5], y.data(), y.size() * 4);
  return 0;
}

int dispatch(int argc, char** argv) {
  const std::string cmd = argv[1];
  if (cmd == "init") return init_model(argc, argv);
  if (cmd == "convert") return convert(argc, argv);
  if (cmd == "profile") return profile_onnx(argc, argv);
  if (cmd == "run") return run_model(argc, argv);
  if (cmd == "train") return train_model(argc, argv);
  if (cmd == "predict") return predict_raw(argc, argv);
  if (cmd == "inspect" && argc == 3) {
    const std::vector<uint8_t> bytes = read_file(argv[2]);
    return kiln::model_file_kind(bytes.data(), bytes.size()) == kiln::ModelFileKind::kLayers ? inspect_layers(argv[2], bytes)
                                                                                             : inspect_onnx(argv[2], bytes);
  }
  return usage();
}
}  // namespace

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
  try {
    return dispatch(argc, argv);
  } catch (const std::exception& e) {  // kiln::Error, out of memory and the like: a message, never an abort
    std::cerr << "kiln: " << e.what() << "\n";
    return 1;
  }
}
