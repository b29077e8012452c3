// ONNX's own conformance cases (Debian's libonnx-testdata: every
// data/node/<case>/model.onnx with its test_data_set_*/input_N.pb and
// output_N.pb) run through OnnxSession. Writes the pass rate per operator to
// onnx_conformance_report.txt (in the working directory: build/ under ctest),
// and fails if a case listed in tests/onnx_conformance_passing.txt no longer
// passes. KILN_UPDATE_ONNX_PASSING=1 rewrites that list from this run.
// Comparison as ONNX's backend tests do: floats within rtol 1e-3, atol 1e-7
// (NaN equals NaN), integers and bools exactly, shapes and types exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "onnx/session.h"
#include "onnx_values.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
const char* kNodeDir = "/usr/share/libonnx-testdata/data/node";

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// A TensorProto, or a SequenceProto / OptionalProto when the model declares that kind.
Status read_value(const fs::path& p, OnnxValueKind kind, OnnxValue* v, std::string* name) {
  const std::vector<uint8_t> bytes = read_bytes(p);
  if (kind == OnnxValueKind::kSequence || kind == OnnxValueKind::kOptional) {
    OnnxDataValue d;
    KILN_RETURN_IF_ERROR(kind == OnnxValueKind::kSequence ? parse_onnx_sequence(bytes.data(), bytes.size(), &d)
                                                          : parse_onnx_optional(bytes.data(), bytes.size(), &d));
    name->clear();
    return OnnxValue::from_data_value(d, v);
  }
  OnnxTensor t;
  KILN_RETURN_IF_ERROR(parse_onnx_tensor(bytes.data(), bytes.size(), &t));
  *name = t.name;
  return OnnxValue::from_tensor(t, v);
}

std::string compare(const OnnxValue& got, const OnnxValue& want) {
  if (got.kind() != want.kind()) return onnx_value_description(got) + ", expected " + onnx_value_description(want);
  if (got.kind() == OnnxValueKind::kOptional) return "";
  if (got.kind() == OnnxValueKind::kSequence) {
    if (got.items().size() != want.items().size())
      return "sequence of " + std::to_string(got.items().size()) + ", expected " + std::to_string(want.items().size());
    for (size_t i = 0; i < got.items().size(); ++i) {
      const std::string d = compare(got.items()[i], want.items()[i]);
      if (!d.empty()) return "element " + std::to_string(i) + ": " + d;
    }
    return "";
  }
  if (got.type() != want.type()) return "type " + dtype_name(got.type()) + ", expected " + dtype_name(want.type());
  if (got.shape() != want.shape()) return "shape " + onnx_shape_string(got.shape()) + ", expected " + onnx_shape_string(want.shape());
  const std::vector<double> g = testing::doubles_of(got), w = testing::doubles_of(want);
  const bool fp = want.type() == DataType::kFloat32 || want.type() == DataType::kFloat64;
  for (size_t i = 0; i < w.size(); ++i) {
    if (fp && std::isnan(w[i]) && std::isnan(g[i])) continue;
    const double tol = fp ? 1e-7 + 1e-3 * std::fabs(w[i]) : 0.0;
    if (!(std::fabs(g[i] - w[i]) <= tol) && !(fp && g[i] == w[i]))
      return "element " + std::to_string(i) + " is " + std::to_string(g[i]) + ", expected " + std::to_string(w[i]);
  }
  return "";
}

// "" when the case passes, else why not.
std::string run_case(const fs::path& dir, bool* unsupported) {
  *unsupported = false;
  const std::vector<uint8_t> model = read_bytes(dir / "model.onnx");
  std::unique_ptr<OnnxSession> s;
  Status st = OnnxSession::load(model.data(), model.size(), &s);
  if (!st.ok()) {
    *unsupported = st.message().find("does not support") != std::string::npos ||
                   st.message().find("not supported") != std::string::npos;
    return "load: " + st.message();
  }
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return "no test data";
  for (const fs::path& set : sets) {
    std::vector<OnnxValue> feeds(s->inputs().size());
    for (size_t i = 0;; ++i) {
      const fs::path p = set / ("input_" + std::to_string(i) + ".pb");
      if (!fs::exists(p)) break;
      OnnxValue v;
      std::string name;
      st = read_value(p, i < s->inputs().size() ? s->inputs()[i].kind : OnnxValueKind::kTensor, &v, &name);
      if (!st.ok()) return "input " + std::to_string(i) + ": " + st.message();
      size_t at = i;  // by name when the file names its input, else by position
      for (size_t k = 0; k < s->inputs().size(); ++k)
        if (!name.empty() && s->inputs()[k].name == name) at = k;
      if (at >= feeds.size()) return "more inputs than the model has";
      feeds[at] = v;
    }
    std::vector<OnnxValue> outs;
    st = s->run(feeds, &outs);
    if (!st.ok()) return "run: " + st.message();
    for (size_t i = 0; i < outs.size(); ++i) {
      const fs::path p = set / ("output_" + std::to_string(i) + ".pb");
      if (!fs::exists(p)) continue;
      OnnxValue want;
      std::string name;
      st = read_value(p, s->outputs()[i].kind, &want, &name);
      if (!st.ok()) return "expected output " + std::to_string(i) + ": " + st.message();
      const std::string diff = compare(outs[i], want);
      if (!diff.empty()) return "output " + std::to_string(i) + ": " + diff;
    }
  }
  return "";
}

// The operator a case exercises: the first node's op type.
std::string op_of(const fs::path& dir) {
  const std::vector<uint8_t> bytes = read_bytes(dir / "model.onnx");
  OnnxModel m;
  if (!parse_onnx_model(bytes.data(), bytes.size(), &m).ok() || m.graph.nodes.empty()) return "?";
  return m.graph.nodes.back().op_type;
}

TEST(OnnxConformance, NodeCasesThatPassedKeepPassing) {
  if (!fs::exists(kNodeDir)) GTEST_FAIL() << kNodeDir << " is missing: apt-get install libonnx-testdata (scripts/setup.sh does)";
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(kNodeDir))
    if (e.is_directory()) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  std::map<std::string, std::pair<int, int>> per_op;  // op -> (passed, total)
  std::set<std::string> passing;
  std::ostringstream failures;
  int passed = 0;
  for (const fs::path& c : cases) {
    bool unsupported;
    const std::string why = run_case(c, &unsupported);
    const std::string name = c.filename().string(), op = op_of(c);
    auto& po = per_op[op];
    ++po.second;
    if (why.empty()) {
      ++passed, ++po.first;
      passing.insert(name);
    } else {
      failures << name << ": " << why << "\n";
    }
  }
  std::ofstream report("onnx_conformance_report.txt");
  report << "ONNX node conformance: " << passed << " of " << cases.size() << " cases pass ("
         << (cases.empty() ? 0 : 100.0 * passed / double(cases.size())) << "%)\n\nper operator (passed / cases):\n";
  for (const auto& [op, pt] : per_op) report << "  " << op << " " << pt.first << "/" << pt.second << "\n";
  report << "\nfailures:\n" << failures.str();
  std::printf("[onnx conformance] %d of %zu node cases pass (%.1f%%); details in onnx_conformance_report.txt\n", passed,
              cases.size(), cases.empty() ? 0.0 : 100.0 * passed / double(cases.size()));

  const std::string list = std::string(KILN_FIXTURE_DIR) + "/../onnx_conformance_passing.txt";
  if (std::getenv("KILN_UPDATE_ONNX_PASSING")) {
    std::ofstream out(list);
    out << "# ONNX node conformance cases that pass (tests/cpp/onnx_conformance_test.cc keeps them passing).\n";
    for (const std::string& n : passing) out << n << "\n";
    return;
  }
  std::ifstream in(list);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(passing.count(line)) << line << " passed before and fails now";
  }
}

}  // namespace
}  // namespace kiln
