#include "ops/category_encoding.h"

#include <cmath>
#include <cstring>
#include <string>

#include "graph/op_errors.h"

namespace kiln {

// [batch] or [batch, ids]: one-hot takes one id per sample ([batch] or [batch, 1]).
Status CategoryEncodingOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1 || in[0].empty() || in[0].size() > 2)
    return Status::error("CategoryEncoding: expects ids of shape [batch] or [batch, ids]");
  if (mode_ == CategoryOutput::kOneHot && in[0].size() == 2 && in[0][1] != 1)
    return Status::error("CategoryEncoding: outputMode 'oneHot' takes one id per sample ([batch] or [batch, 1]), got " +
                         std::to_string(in[0][1]) + " per sample; use 'multiHot' or 'count'");
  *out = {{in[0][0], num_tokens_}};
  return Status();
}

void CategoryEncodingOp::forward(const OpForwardArgs& a) const {
  const int64_t batch = a.in_shapes[0][0], per = a.in_shapes[0].size() == 2 ? a.in_shapes[0][1] : 1;
  float* y = a.out[0];
  std::memset(y, 0, size_t(batch * num_tokens_) * sizeof(float));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t k = 0; k < per; ++k) {
      const float v = a.in[0][b * per + k];
      const double id = std::trunc(double(v));  // TF.js casts the ids to int32
      if (!(id >= 0 && id < double(num_tokens_))) {
        report_op_error(Status::error("CategoryEncoding: id " + std::to_string(v) + " is outside [0, numTokens = " +
                                      std::to_string(num_tokens_) + ")"));
        continue;
      }
      float& slot = y[b * num_tokens_ + int64_t(id)];
      slot = mode_ == CategoryOutput::kCount ? slot + 1.0f : 1.0f;
    }
}

}  // namespace kiln
