#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace kiln {

namespace {
thread_local bool t_inside_task = false;
thread_local int t_worker_index = 0;
thread_local int t_run_depth = 0;  // RunScopes this thread holds

// Spinning this long before sleeping lets back-to-back kernels hand work over
// without a futex round trip (tens of microseconds natively, far more with
// wasm's Atomics.wait/notify), while an idle pool still sleeps. Bounded by time,
// not iterations: 20000 pauses were ~1 ms on an x86 server, but wasm has no
// pause instruction, so there the same count was only 20000 atomic loads,
// often shorter than the serial gap between two kernels.
constexpr std::chrono::microseconds kSpinTime(200);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() holds or kSpinTime has passed; returns done().
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (;;) {
    // The clock is read every 64 polls: in wasm it is a call out to JS.
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

// ThreadPool::state_'s fields. The task field has room for the claims past
// the end (at most one per thread and job).
constexpr int kFieldBits = 24, kGenShift = 48;
constexpr uint64_t kFieldMask = (uint64_t(1) << kFieldBits) - 1, kGenMask = 0xffff;
constexpr int kMaxTasks = int(kFieldMask) - 64;
}  // namespace

ThreadPool& ThreadPool::global() {
  static ThreadPool* pool = new ThreadPool();  // never destroyed: workers may outlive statics
  return *pool;
}

ThreadPool::~ThreadPool() { stop_workers(); }

int ThreadPool::worker_index() { return t_worker_index; }

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

Status ThreadPool::resize(int threads) {
  threads = std::max(1, std::min(threads, 64));
  if (t_run_depth > 0 || t_inside_task)
    return Status::error("the thread count cannot change during a run (set it before fit, predict or run, not from a callback)");
  std::unique_lock<std::shared_mutex> no_runs(runs_);
  std::lock_guard<std::mutex> no_job(submit_);
  if (threads == num_threads()) return Status();
  stop_workers();
  // New workers start at the current generation, so they wait for the next
  // job (the current one's claims would fail anyway: its tasks are done).
  const uint64_t current = state_.load() >> kGenShift;
  for (int i = 0; i < threads - 1; ++i)
    workers_.emplace_back([this, current, i] {
      t_worker_index = i + 1;
      worker_loop(current);
    });
  threads_.store(threads, std::memory_order_release);
  return Status();
}

ThreadPool::RunScope::RunScope() : locked_(t_run_depth++ == 0 && !t_inside_task) {
  if (locked_) ThreadPool::global().runs_.lock_shared();
}

ThreadPool::RunScope::~RunScope() {
  --t_run_depth;
  if (locked_) ThreadPool::global().runs_.unlock_shared();
}

uint64_t ThreadPool::run_tasks() {
  t_inside_task = true;
  uint64_t s;
  for (;;) {
    s = state_.fetch_add(1, std::memory_order_acq_rel);
    const uint64_t task = s & kFieldMask, tasks = (s >> kFieldBits) & kFieldMask;
    if (task >= tasks) break;
    // A claimed task keeps its job (and job_) current until it is counted done.
    (*job_)(int(task));
    if (tasks_done_.fetch_add(1, std::memory_order_acq_rel) + 1 == int(tasks)) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
  t_inside_task = false;
  return s >> kGenShift;
}

void ThreadPool::worker_loop(uint64_t seen) {
  auto woken = [&] { return (state_.load(std::memory_order_acquire) >> kGenShift) != seen || stopping_.load(); };
  for (;;) {
    if (!spin_until(woken)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, woken);
    }
    if (stopping_) return;
    seen = run_tasks();
  }
}

void ThreadPool::parallel_for(int num_tasks, const std::function<void(int)>& fn) {
  if (num_tasks <= 0) return;
  // Serial: one task, no workers, a nested call, or another caller's job has the workers.
  std::unique_lock<std::mutex> own_workers(submit_, std::defer_lock);
  if (num_tasks == 1 || threads_.load(std::memory_order_relaxed) == 1 || t_inside_task || !own_workers.try_lock()) {
    for (int i = 0; i < num_tasks; ++i) fn(i);
    return;
  }
  if (num_tasks > kMaxTasks) {  // more than the task field holds: in batches
    own_workers.unlock();
    for (int base = 0; base < num_tasks; base += kMaxTasks)
      parallel_for(std::min(kMaxTasks, num_tasks - base), [&](int i) { fn(base + i); });
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    tasks_done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = ((state_.load(std::memory_order_relaxed) >> kGenShift) + 1) & kGenMask;
    state_.store(gen << kGenShift | uint64_t(num_tasks) << kFieldBits, std::memory_order_release);
  }
  wake_.notify_all();
  run_tasks();
  // Only the tasks others claimed are waited for: a worker that wakes late
  // finds none left and costs the caller nothing.
  auto finished = [&] { return tasks_done_.load(std::memory_order_acquire) == num_tasks; };
  if (spin_until(finished)) return;
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, finished);
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
