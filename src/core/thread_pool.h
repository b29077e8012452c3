// A persistent thread pool. Workers are created once (spawning per call halves
// throughput in wasm) and pick task indices off a shared atomic counter, so
// uneven tasks balance themselves. The calling thread works too.
//
// Several threads may call it at once (each running its own model or
// session): one caller's job has the workers, and a call made while they are
// busy runs its tasks on its own thread. The thread count changes only
// between runs (RunScope), so a run sees one count from start to end.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "core/status.h"

namespace kiln {

class ThreadPool {
 public:
  // The process-wide pool used by every kernel.
  static ThreadPool& global();

  // Total threads doing work, the caller included (>= 1).
  int num_threads() const { return threads_.load(std::memory_order_acquire); }
  // This thread's slot in [0, num_threads()): 0 for the calling thread (any
  // thread that is not a worker), 1.. for the workers. Kernels index their
  // per-thread scratch with it (scratch lent by the caller, num_threads()
  // slices; no kernel keeps buffers of its own).
  static int worker_index();
  // Restarts the pool with `threads` threads in all (clamped to [1, 64]),
  // once no run is in progress (it waits for them). An error when called from
  // inside a run (a training callback), where waiting would never end.
  Status resize(int threads);

  // Held by every model and session run (nested scopes on one thread are
  // free): kernels size their per-thread scratch from num_threads(), so the
  // count must not change under them.
  class RunScope {
   public:
    RunScope();
    ~RunScope();
    RunScope(const RunScope&) = delete;
    RunScope& operator=(const RunScope&) = delete;

   private:
    bool locked_ = false;  // the outermost scope of a thread that is not a pool task
  };

  // Runs fn(i) for i in [0, num_tasks) across the pool and waits for all.
  // Nested calls from inside a task run serially on the calling thread.
  void parallel_for(int num_tasks, const std::function<void(int)>& fn);

  ~ThreadPool();

 private:
  ThreadPool() = default;
  void worker_loop(uint64_t seen);
  // Claims and runs tasks until a claim finds none left; returns the
  // generation of the job that claim was made in.
  uint64_t run_tasks();
  void stop_workers();

  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};
  // Held by the caller whose job the workers run; others run serially.
  std::mutex submit_;
  // Shared by runs in progress, exclusive for resize.
  std::shared_mutex runs_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* job_ = nullptr;
  // The current job in one word, claimed by fetch_add: generation (bits
  // 48-63), task count (24-47), next task (0-23). A claim thus says by itself
  // whether it got a task, so the caller waits for its tasks to finish, never
  // for a worker to wake up and find the job done.
  std::atomic<uint64_t> state_{0};
  std::atomic<int> tasks_done_{0};
  std::atomic<bool> stopping_{false};
};

// Splits [0, n) into at most `max_chunks` contiguous ranges of at least
// `min_chunk` items and runs fn(begin, end) on each in parallel.
void parallel_range(int64_t n, int64_t min_chunk,
                    const std::function<void(int64_t, int64_t)>& fn);

}  // namespace kiln
