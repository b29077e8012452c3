// A persistent thread pool. Workers are created once (spawning per call halves
// throughput in wasm) and pick task indices off a shared atomic counter, so
// uneven tasks balance themselves. The calling thread works too.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

class ThreadPool {
 public:
  // The process-wide pool used by every kernel.
  static ThreadPool& global();

  // Total threads doing work, the caller included (>= 1).
  int num_threads() const { return int(workers_.size()) + 1; }
  // Restarts the pool with `threads` threads in all (clamped to [1, 64]).
  void resize(int threads);

  // Runs fn(i) for i in [0, num_tasks) across the pool and waits for all.
  // Nested calls from inside a task run serially on the calling thread.
  void parallel_for(int num_tasks, const std::function<void(int)>& fn);

  ~ThreadPool();

 private:
  ThreadPool() = default;
  void worker_loop(uint64_t seen);
  void run_tasks();
  void stop_workers();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* job_ = nullptr;
  int job_tasks_ = 0;
  std::atomic<int> next_task_{0};
  std::atomic<int> busy_workers_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
};

// Splits [0, n) into at most `max_chunks` contiguous ranges of at least
// `min_chunk` items and runs fn(begin, end) on each in parallel.
void parallel_range(int64_t n, int64_t min_chunk,
                    const std::function<void(int64_t, int64_t)>& fn);

}  // namespace kiln
