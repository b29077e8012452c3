// The native C++ API of ONNX (include/kiln/kiln.h, kiln::onnx): sessions over
// src/onnx/session.h and export over src/io/onnx_export.h, throwing kiln::Error.
#include <cstring>

#include "io/model_format.h"
#include "io/onnx_export.h"
#include "kiln/kiln.h"
#include "onnx/session.h"

namespace kiln::onnx {

namespace {
void check(const Status& s) {
  if (!s.ok()) throw Error(s.message());
}
}  // namespace

struct Session::Impl {
  std::unique_ptr<OnnxSession> session;
};

Session::Session() : impl_(new Impl) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Session Session::load(const uint8_t* data, size_t size) {
  Session s;
  check(OnnxSession::load(data, size, &s.impl_->session));
  return s;
}

std::vector<std::string> Session::input_names() const {
  std::vector<std::string> names;
  for (const OnnxValueInfo& v : impl_->session->inputs()) names.push_back(v.name);
  return names;
}

std::vector<std::string> Session::output_names() const {
  std::vector<std::string> names;
  for (const OnnxValueInfo& v : impl_->session->outputs()) names.push_back(v.name);
  return names;
}

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs) const {
  std::vector<OnnxValue> feeds(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    check(OnnxValue::make(DataType::kFloat32, inputs[i].shape, &feeds[i]));
    if (size_t(feeds[i].numel()) != inputs[i].data.size())
      throw Error("onnx run: input " + std::to_string(i) + " has " + std::to_string(inputs[i].data.size()) +
                  " values, its shape " + onnx_shape_string(inputs[i].shape) + " needs " + std::to_string(feeds[i].numel()));
    if (!inputs[i].data.empty()) std::memcpy(feeds[i].raw(), inputs[i].data.data(), feeds[i].bytes());
  }
  std::vector<OnnxValue> outs;
  check(impl_->session->run(feeds, &outs));
  std::vector<Tensor> result;
  for (const OnnxValue& v : outs) {
    Tensor t;
    t.shape = v.shape();
    std::vector<double> d;
    check(v.to_doubles(&d));
    t.data.assign(d.begin(), d.end());
    result.push_back(std::move(t));
  }
  return result;
}

// Through the saved form: it carries the topology and weights the exporter reads.
std::vector<uint8_t> export_model(const Sequential& model) {
  const std::vector<uint8_t> saved = model.save();
  std::unique_ptr<Model> m;
  check(decode_model(saved.data(), saved.size(), &m));
  std::vector<uint8_t> out;
  check(export_onnx_model(*m, &out));
  return out;
}

}  // namespace kiln::onnx
