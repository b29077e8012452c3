// The thread pool's hand-over paths: back-to-back calls caught by spinning
// workers, calls after the workers went to sleep, more threads than cores,
// resizes while idle, and nested calls.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace kiln {
namespace {

class ThreadPoolTest : public ::testing::Test {
 protected:
  void TearDown() override { ThreadPool::global().resize(1); }
};

// Runs parallel_for(tasks) and checks every index ran exactly once.
void expect_each_task_once(int tasks) {
  std::vector<std::atomic<int>> hits(size_t(std::max(tasks, 1)));
  for (auto& h : hits) h = 0;
  ThreadPool::global().parallel_for(tasks, [&](int i) { hits[size_t(i)].fetch_add(1); });
  for (int i = 0; i < tasks; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "task " << i << " of " << tasks;
}

TEST_F(ThreadPoolTest, ManyTinyBackToBackCalls) {
  // Thousands of calls shorter than the spin: workers pick each one up while
  // still spinning, so this exercises the no-sleep hand-over both ways.
  for (int threads : {2, 4}) {
    ThreadPool::global().resize(threads);
    std::atomic<int64_t> sum{0};
    int64_t want = 0;
    for (int call = 0; call < 20000; ++call) {
      const int tasks = 1 + call % 7;
      ThreadPool::global().parallel_for(tasks, [&](int i) {
        volatile int spin = 0;
        for (int k = 0; k < 200; ++k) spin = spin + 1;  // long enough for workers to claim some
        sum.fetch_add(i + 1, std::memory_order_relaxed);
      });
      want += int64_t(tasks) * (tasks + 1) / 2;
    }
    EXPECT_EQ(sum.load(), want) << threads << " threads";
  }
}

TEST_F(ThreadPoolTest, CallsAfterWorkersFellAsleep) {
  // Gaps longer than the spin send workers to the condition variable; each
  // call must still wake them and wait for all of its tasks.
  ThreadPool::global().resize(3);
  for (int round = 0; round < 20; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(round % 2 ? 5 : 0));
    expect_each_task_once(1 + round % 9);
  }
}

TEST_F(ThreadPoolTest, MoreThreadsThanCoresUnderContention) {
  // Spinning threads outnumber the cores: slow, uneven tasks (some sleep, so
  // their thread is descheduled mid-task) must all complete before the call
  // returns, call after call.
  const int threads = int(std::max(2u, std::thread::hardware_concurrency())) * 2;
  ThreadPool::global().resize(threads);
  for (int call = 0; call < 200; ++call) {
    std::vector<std::atomic<int>> done(64);
    for (auto& d : done) d = 0;
    ThreadPool::global().parallel_for(64, [&](int i) {
      if ((i + call) % 17 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      volatile float x = 0.0f;
      for (int k = 0; k < 100 * (i % 5); ++k) x = x + 1.0f;
      done[size_t(i)].store(1, std::memory_order_relaxed);
    });
    for (int i = 0; i < 64; ++i) ASSERT_EQ(done[size_t(i)].load(), 1) << "call " << call << " task " << i;
  }
}

TEST_F(ThreadPoolTest, ResizeWhileIdleAndWhileSpinning) {
  for (int threads : {2, 5, 1, 3, 3, 8, 2}) {
    ThreadPool::global().resize(threads);  // right after a call: workers still spinning
    ASSERT_EQ(ThreadPool::global().num_threads(), threads);
    expect_each_task_once(2 * threads + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // idle: workers asleep
    expect_each_task_once(threads);
  }
}

TEST_F(ThreadPoolTest, NestedCallsRunInline) {
  ThreadPool::global().resize(4);
  std::atomic<int> inner{0};
  ThreadPool::global().parallel_for(8, [&](int) {
    ThreadPool::global().parallel_for(5, [&](int) { inner.fetch_add(1); });
  });
  EXPECT_EQ(inner.load(), 40);
}

TEST_F(ThreadPoolTest, ParallelRangeCoversEveryItemOnce) {
  ThreadPool::global().resize(3);
  for (int64_t n : {0, 1, 2, 7, 100, 4097}) {
    for (int64_t min_chunk : {1, 3, 1000}) {
      std::vector<std::atomic<int>> hits(size_t(n + 1));
      for (auto& h : hits) h = 0;
      parallel_range(n, min_chunk, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "n " << n << " item " << i;
    }
  }
}

}  // namespace
}  // namespace kiln
