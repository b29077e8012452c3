// Eager calls of a model under autograd (TF.js's model.apply on tensors
// inside tf.grad, tf.variableGrads or optimizer.minimize): the forward pass
// runs when the model is called, and the backward pass later, once the rest
// of the caller's function has given d/d output. One plan holds both parts
// (PlanOptions::late_inputs), so what the backward pass needs stays in its
// arena in between and nothing runs twice: dropout masks, random draws of
// custom layers and moving statistics are those of the call itself.
#include <algorithm>
#include <cstring>

#include "api/model.h"
#include "core/thread_pool.h"
#include "graph/op_errors.h"
#include "runtime/placement.h"

namespace kiln {

namespace {
constexpr size_t kMaxIdleCallPlans = 2;  // per kind and batch: two calls in one function (a GAN's discriminator)
constexpr size_t kMaxPendingCalls = 64;  // calls whose gradient never came (a tape not yet freed)
}  // namespace

Status Model::call_forward(const std::vector<const float*>& xs, int64_t n, bool training, const std::vector<float*>& outs,
                           int* call) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "apply");
  if (n <= 0) return Status::error("apply: no samples");
  KILN_RETURN_IF_ERROR(check_inputs(xs, nullptr, n));
  if (outs.size() != outputs_.size()) return Status::error("apply: expected " + std::to_string(outputs_.size()) + " output buffers");
  if (calls_.size() >= kMaxPendingCalls)
    return Status::error("apply: " + std::to_string(calls_.size()) +
                         " calls of this model wait for their gradients; dispose the tapes (finish or leave the gradient functions) first");
  drop_stale_plans();
  const PlanKind kind = training ? PlanKind::kCallTraining : PlanKind::kCallInference;
  const auto key = std::make_pair(int(kind), n);
  std::unique_ptr<CompiledPlan> cp;
  auto& idle = idle_call_plans_[key];
  if (!idle.empty()) {
    cp = std::move(idle.back());
    idle.pop_back();
  } else {
    cp = std::make_unique<CompiledPlan>();
    KILN_RETURN_IF_ERROR(build(kind, n, cp.get()));
  }
  feed(cp.get(), xs, {}, nullptr, 0, n);
  take_op_error();
  cp->plan->run_first_part();
  if (training) ++weights_version_;  // the moving statistics moved
  KILN_RETURN_IF_ERROR(take_op_error());
  for (size_t k = 0; k < outs.size(); ++k)
    std::memcpy(outs[k], cp->plan->buffer(cp->outputs[k]), size_t(n * shape_numel(output_shape(k))) * sizeof(float));
  *call = next_call_++;
  calls_[*call] = PendingCall{kind, n, std::move(cp)};
  return Status();
}

Status Model::call_backward(int call, const std::vector<const float*>& dys, const std::vector<float*>& dxs,
                            const std::vector<float*>& dws) {
  const ExclusiveUse::Guard guard(in_use_);
  if (!guard.ok()) return guard.busy("the model", "the gradient of apply");
  auto it = calls_.find(call);
  if (it == calls_.end()) return Status::error("the gradient of apply: no pending call " + std::to_string(call));
  CompiledPlan* cp = it->second.cp.get();
  const int64_t n = it->second.batch;
  Status result;
  if (dys.size() != cp->dys.size() || dxs.size() != cp->dxs.size() || dws.size() != weights_.size())
    result = Status::error("the gradient of apply: expected " + std::to_string(cp->dys.size()) + " output gradients, " +
                           std::to_string(cp->dxs.size()) + " input gradient buffers and " + std::to_string(weights_.size()) +
                           " weight gradient buffers");
  if (result.ok()) {
    for (size_t k = 0; k < dys.size(); ++k)
      std::memcpy(cp->plan->buffer(cp->dys[k]), dys[k], size_t(n * shape_numel(output_shape(k))) * sizeof(float));
    take_op_error();
    cp->plan->run_rest();
    result = take_op_error();
  }
  if (result.ok()) {
    for (size_t i = 0; i < dxs.size(); ++i) {
      if (!dxs[i]) continue;
      const size_t bytes = size_t(n * shape_numel(input_shape(i))) * sizeof(float);
      if (cp->dxs[i] >= 0) std::memcpy(dxs[i], cp->plan->buffer(cp->dxs[i]), bytes);
      else std::memset(dxs[i], 0, bytes);
    }
    for (size_t w = 0; w < dws.size(); ++w) {
      if (!dws[w]) continue;
      const size_t bytes = size_t(shape_numel(weights_[w].shape)) * sizeof(float);
      auto at = std::find(cp->grad_weights.begin(), cp->grad_weights.end(), w);
      if (at != cp->grad_weights.end()) std::memcpy(dws[w], cp->plan->buffer(cp->grads[size_t(at - cp->grad_weights.begin())]), bytes);
      else std::memset(dws[w], 0, bytes);  // frozen at the call, or the outputs do not depend on it
    }
  }
  call_release(call);
  return result;
}

void Model::call_release(int call) {
  auto it = calls_.find(call);
  if (it == calls_.end()) return;
  auto& idle = idle_call_plans_[std::make_pair(int(it->second.kind), it->second.batch)];
  // A plan made before kiln.setBackend or a thread-count change is not kept.
  if (idle.size() < kMaxIdleCallPlans && plans_generation_ == backend_choice_generation() &&
      plans_threads_ == ThreadPool::global().num_threads())
    idle.push_back(std::move(it->second.cp));
  calls_.erase(it);
}

}  // namespace kiln
