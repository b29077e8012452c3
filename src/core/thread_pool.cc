#include "core/thread_pool.h"

#include <algorithm>

namespace kiln {

namespace {
thread_local bool t_inside_task = false;

// Spinning this long before sleeping lets back-to-back kernels hand work over
// without a futex round trip (tens of microseconds, worse in wasm), while an
// idle pool still sleeps.
constexpr int kSpinIterations = 20000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

ThreadPool& ThreadPool::global() {
  static ThreadPool* pool = new ThreadPool();  // never destroyed: workers may outlive statics
  return *pool;
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  stopping_ = false;
}

void ThreadPool::resize(int threads) {
  threads = std::max(1, std::min(threads, 64));
  if (threads == num_threads()) return;
  stop_workers();
  // New workers start at the current generation: starting from 0 would make
  // them run a phantom round of the last job (a race found by TSan).
  const uint64_t current = generation_.load();
  for (int i = 0; i < threads - 1; ++i) workers_.emplace_back([this, current] { worker_loop(current); });
}

void ThreadPool::run_tasks() {
  t_inside_task = true;
  for (;;) {
    int i = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (i >= job_tasks_) break;
    (*job_)(i);
  }
  t_inside_task = false;
}

void ThreadPool::worker_loop(uint64_t seen) {
  for (;;) {
    for (int i = 0; i < kSpinIterations && generation_.load(std::memory_order_acquire) == seen && !stopping_.load(); ++i)
      cpu_relax();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    run_tasks();
    if (busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int num_tasks, const std::function<void(int)>& fn) {
  if (num_tasks <= 0) return;
  if (num_tasks == 1 || workers_.empty() || t_inside_task) {
    for (int i = 0; i < num_tasks; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_tasks_ = num_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    busy_workers_.store(int(workers_.size()), std::memory_order_relaxed);
    ++generation_;
  }
  wake_.notify_all();
  run_tasks();
  for (int i = 0; i < kSpinIterations && busy_workers_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return busy_workers_.load(std::memory_order_acquire) == 0; });
  job_ = nullptr;
}

void parallel_range(int64_t n, int64_t min_chunk,
                    const std::function<void(int64_t, int64_t)>& fn) {
  ThreadPool& pool = ThreadPool::global();
  int64_t chunks = std::min<int64_t>(pool.num_threads(), std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk)));
  if (chunks <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  pool.parallel_for(int(chunks), [&](int c) {
    int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace kiln
