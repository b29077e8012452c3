// Static memory planning: greedy by size, largest first, each value placed at
// the lowest 64-byte-aligned offset free of every already-placed value whose
// lifetime overlaps its own (the approach of TFLite's arena planner).
#include <algorithm>
#include <numeric>

#include "runtime/plan.h"

namespace kiln {

int64_t plan_memory(const std::vector<int64_t>& bytes, const std::vector<std::pair<int, int>>& lifetimes,
                    std::vector<int64_t>* offsets) {
  constexpr int64_t kAlign = 64;
  const size_t n = bytes.size();
  offsets->assign(n, -1);
  std::vector<size_t> order;
  for (size_t v = 0; v < n; ++v)
    if (lifetimes[v].first >= 0) order.push_back(v);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });

  std::vector<size_t> placed;
  int64_t total = 0;
  for (size_t v : order) {
    const int64_t size = (bytes[v] + kAlign - 1) / kAlign * kAlign;
    // Occupied ranges among lifetime-overlapping placed values, by offset.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t u : placed) {
      bool overlap = lifetimes[u].first <= lifetimes[v].second && lifetimes[v].first <= lifetimes[u].second;
      if (overlap) busy.push_back({(*offsets)[u], (*offsets)[u] + (bytes[u] + kAlign - 1) / kAlign * kAlign});
    }
    std::sort(busy.begin(), busy.end());
    int64_t candidate = 0;
    for (const auto& range : busy) {
      if (candidate + size <= range.first) break;
      candidate = std::max(candidate, range.second);
    }
    (*offsets)[v] = candidate;
    total = std::max(total, candidate + size);
    placed.push_back(v);
  }
  return total;
}

}  // namespace kiln
