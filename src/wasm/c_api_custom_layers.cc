// The JavaScript API as the core's custom-layer host (layers/custom_layer.h):
// each call goes to Module.kilnHostLayers (js/src/custom_layers.ts), which
// keeps the layer objects and runs their build/call on the plan's buffers.
// Tensors cross as descriptors [count, then per tensor: address, rank, dims...];
// a failure comes back as a message the JavaScript side allocated.
#include <emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "layers/custom_layer.h"

EM_JS(int, kiln_js_layer_create, (const char* cls, const char* config, int* id, char** message), {
  var h = Module['kilnHostLayers'];
  return h && h['create'] ? h['create'](cls, config, id, message) : 0;
});
EM_JS(void, kiln_js_layer_release, (int id), {
  var h = Module['kilnHostLayers'];
  if (h && h['release']) h['release'](id);
});
EM_JS(int, kiln_js_layer_build, (int id, const int32_t* shapes, char** text), {
  var h = Module['kilnHostLayers'];
  return h && h['build'] ? h['build'](id, shapes, text) : 0;
});
EM_JS(int, kiln_js_layer_forward, (int id, double call, int mode, const int32_t* ins, const int32_t* outs, char** message), {
  var h = Module['kilnHostLayers'];
  return h && h['forward'] ? h['forward'](id, call, mode, ins, outs, message) : 0;
});
EM_JS(int, kiln_js_layer_backward, (int id, double call, const int32_t* douts, const int32_t* dins, char** message), {
  var h = Module['kilnHostLayers'];
  return h && h['backward'] ? h['backward'](id, call, douts, dins, message) : 0;
});
EM_JS(void, kiln_js_layer_forget, (double call), {
  var h = Module['kilnHostLayers'];
  if (h && h['forget']) h['forget'](call);
});

namespace kiln {
namespace {

template <class P>
std::vector<int32_t> describe(const std::vector<P>& data, const std::vector<Shape>& shapes) {
  std::vector<int32_t> d{int32_t(data.size())};
  for (size_t i = 0; i < data.size(); ++i) {
    d.push_back(int32_t(reinterpret_cast<uintptr_t>(data[i])));
    d.push_back(int32_t(shapes[i].size()));
    for (int64_t x : shapes[i]) d.push_back(int32_t(x));
  }
  return d;
}

// The host's message (freed here), or `fallback` when it gave none.
Status failure(char* message, const std::string& fallback) {
  if (!message) return Status::error(fallback);
  std::string text(message);
  std::free(message);
  return Status::error(text);
}

class JsLayerHost : public CustomLayerHost {
 public:
  JsLayerHost() { set_custom_layer_host(this); }
  Status create(const std::string& class_name, const Json& config, int* id) override {
    const std::string text = config.dump();
    char* message = nullptr;
    if (!kiln_js_layer_create(class_name.c_str(), text.c_str(), id, &message))
      return failure(message, "unknown layer class '" + class_name + "'");
    return Status();
  }
  void release(int id) override { kiln_js_layer_release(id); }
  Status build(int id, const std::vector<Shape>& inputs, Json* result) override {
    std::vector<int32_t> d{int32_t(inputs.size())};
    for (const Shape& s : inputs) {
      d.push_back(int32_t(s.size()));
      for (int64_t x : s) d.push_back(int32_t(x));
    }
    char* text = nullptr;
    if (!kiln_js_layer_build(id, d.data(), &text)) return failure(text, "a custom layer's build failed");
    const Status s = parse_json(text ? text : "", result);
    std::free(text);
    return s;
  }
  Status forward(int id, int64_t call, bool training, bool recording, const OpForwardArgs& a) override {
    const std::vector<int32_t> ins = describe(a.in, a.in_shapes), outs = describe(a.out, a.out_shapes);
    char* message = nullptr;
    // mode: 1 = training behaviour, 2 = record for a backward pass.
    if (!kiln_js_layer_forward(id, double(call), (training ? 1 : 0) | (recording ? 2 : 0), ins.data(), outs.data(), &message))
      return failure(message, "a custom layer's call failed");
    return Status();
  }
  Status backward(int id, int64_t call, const OpBackwardArgs& a) override {
    const std::vector<int32_t> douts = describe(a.dout, std::vector<Shape>(a.out_shapes.begin(), a.out_shapes.begin() + a.dout.size()));
    const std::vector<int32_t> dins = describe(a.din, a.in_shapes);
    char* message = nullptr;
    if (!kiln_js_layer_backward(id, double(call), douts.data(), dins.data(), &message))
      return failure(message, "a custom layer's gradient failed");
    return Status();
  }
  void forget(int64_t call) override { kiln_js_layer_forget(double(call)); }
};

JsLayerHost g_js_layer_host;

}  // namespace
}  // namespace kiln
