// Several native threads at once (issue #15): each running its own ONNX
// session or model on the shared thread pool gets the answer it gets alone
// (the pool once had one job slot for all callers: deadlocks, and a worker
// running a job already freed); a second thread's call on a model that is
// busy is refused with a clear error instead of racing; the thread count
// changes only between runs. Run under TSan by `make test-sanitize`.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "kiln/kiln.h"
#include "model_test_utils.h"
#include "onnx/session.h"

namespace kiln {
namespace {

struct ThreadsGuard {
  int saved = ThreadPool::global().num_threads();
  ~ThreadsGuard() { (void)ThreadPool::global().resize(saved); }
};

// Runs fn(t) on `count` threads at once and waits for them all.
template <typename Fn>
void on_threads(int count, Fn fn) {
  std::vector<std::thread> threads;
  for (int t = 0; t < count; ++t) threads.emplace_back([&fn, t] { fn(t); });
  for (auto& th : threads) th.join();
}

std::unique_ptr<OnnxSession> load_cnn() {
  std::ifstream f(std::string(KILN_FIXTURE_DIR) + "/onnx_models/cnn.onnx", std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::unique_ptr<OnnxSession> s;
  EXPECT_TRUE(OnnxSession::load(bytes.data(), bytes.size(), &s).ok());
  return s;
}

std::vector<float> run_cnn(const OnnxSession& s, int batch, float phase) {
  OnnxShape shape;
  for (const OnnxDim& d : s.inputs()[0].shape) shape.push_back(d.value > 0 ? d.value : batch);
  OnnxValue x;
  EXPECT_TRUE(OnnxValue::make(DataType::kFloat32, shape, &x).ok());
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(std::sin(phase + 0.01 * double(i)));
  std::vector<OnnxValue> out;
  const Status st = s.run({x}, &out);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return {};
  return std::vector<float>(out[0].data<float>(), out[0].data<float>() + out[0].numel());
}

TEST(Concurrency, ThreadsEachRunningTheirOwnSessionGetTheirOwnAnswers) {
  ThreadsGuard guard;
  ASSERT_TRUE(ThreadPool::global().resize(3).ok());
  constexpr int kThreads = 4, kRuns = 30;
  std::vector<std::unique_ptr<OnnxSession>> sessions;
  std::vector<std::vector<float>> alone;
  for (int t = 0; t < kThreads; ++t) {
    sessions.push_back(load_cnn());
    alone.push_back(run_cnn(*sessions.back(), 8, float(t)));
  }
  std::atomic<int> mismatches{0};
  on_threads(kThreads, [&](int t) {
    for (int r = 0; r < kRuns; ++r)
      if (run_cnn(*sessions[size_t(t)], 8, float(t)) != alone[size_t(t)]) ++mismatches;
  });
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Concurrency, ThreadsSharingOneSessionTakeTurns) {
  ThreadsGuard guard;
  ASSERT_TRUE(ThreadPool::global().resize(2).ok());
  std::unique_ptr<OnnxSession> s = load_cnn();
  const std::vector<float> want = run_cnn(*s, 4, 0.5f);
  std::atomic<int> mismatches{0};
  on_threads(3, [&](int) {
    for (int r = 0; r < 20; ++r)
      if (run_cnn(*s, 4, 0.5f) != want) ++mismatches;
  });
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Concurrency, PoolServesSeveralCallersAtOnce) {
  ThreadsGuard guard;
  ASSERT_TRUE(ThreadPool::global().resize(3).ok());
  std::atomic<int> wrong{0};
  on_threads(4, [&](int c) {
    for (int call = 0; call < 2000; ++call) {
      const int tasks = 1 + (call + c) % 9;
      std::vector<int> hits(size_t(tasks), 0);  // each task writes only its own slot
      ThreadPool::global().parallel_for(tasks, [&](int i) { ++hits[size_t(i)]; });
      for (int h : hits) wrong += h != 1;
    }
  });
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Concurrency, ResizeWaitsForRunsAndIsRefusedInsideOne) {
  ThreadsGuard guard;
  ASSERT_TRUE(ThreadPool::global().resize(2).ok());
  std::unique_ptr<OnnxSession> s = load_cnn();
  const std::vector<float> want = run_cnn(*s, 4, 1.0f);
  std::atomic<bool> stop{false};
  std::atomic<int> mismatches{0};
  std::thread runner([&] {
    while (!stop)
      if (run_cnn(*s, 4, 1.0f) != want) ++mismatches;
  });
  for (int k = 0; k < 20; ++k) ASSERT_TRUE(ThreadPool::global().resize(1 + k % 4).ok());
  stop = true;
  runner.join();
  EXPECT_EQ(mismatches.load(), 0);
  {
    ThreadPool::RunScope inside;
    const Status st = ThreadPool::global().resize(3);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("the thread count cannot change during a run"), std::string::npos) << st.message();
  }
  // A fit callback runs between steps, outside any run: it may change the
  // count, and the next step re-plans for it.
  Sequential m(2, 3);
  DenseOptions d;
  d.units = 2;
  m.add_dense(d);
  m.compile(CompileOptions{});
  std::vector<float> x(16, 0.5f), y(16, 0.0f);
  FitOptions o;
  o.batch_size = 2;
  o.on_batch_end = [&](int64_t batch, float, float) { set_num_threads(1 + int(batch % 3)); };
  EXPECT_EQ(m.fit(x.data(), y.data(), 8, o).size(), 1u);
}

// kiln::set_backend from one thread while others predict: each model
// re-plans at its next call and answers the same on either backend.
TEST(Concurrency, SetBackendWhileOtherThreadsPredict) {
  std::atomic<bool> stop{false};
  std::thread switcher([&] {
    for (int i = 0; !stop; ++i) set_backend(i % 2 ? "reference" : "cpu");
  });
  on_threads(2, [&](int t) {
    Sequential m(4, uint64_t(10 + t));
    DenseOptions d;
    d.units = 3;
    m.add_dense(d);
    const std::vector<float> x = testing::random_vec(8 * 4, 3);
    const std::vector<float> first = m.predict(x.data(), 8);
    for (int i = 0; i < 50; ++i) {
      const std::vector<float> y = m.predict(x.data(), 8);
      for (size_t k = 0; k < y.size(); ++k) ASSERT_NEAR(y[k], first[k], 1e-5f);
    }
  });
  stop = true;
  switcher.join();
  set_backend("cpu");
}

TEST(Concurrency, ASecondThreadsCallOnABusyModelIsRefused) {
  Sequential m(4, 5);
  DenseOptions d;
  d.units = 3;
  d.activation = "softmax";
  m.add_dense(d);
  m.compile(CompileOptions{});
  std::vector<float> x = testing::random_vec(32 * 4, 2), y(32 * 3, 0.0f);
  for (size_t i = 0; i < 32; ++i) y[i * 3 + i % 3] = 1.0f;
  // Thread A's fit pauses in its first callback until thread B has tried.
  std::mutex mu;
  std::condition_variable cv;
  bool b_done = false;
  std::string b_error;
  FitOptions o;
  o.batch_size = 8;
  o.on_batch_end = [&](int64_t batch, float, float) {
    if (batch != 0) return;
    std::thread b([&] {
      std::string err;
      try {
        m.fit(x.data(), y.data(), 32, FitOptions{});
      } catch (const Error& e) {
        err = e.what();
      }
      try {
        m.predict(x.data(), 1);
      } catch (const Error& e) {
        err += std::string(" | ") + e.what();
      }
      std::lock_guard<std::mutex> lock(mu);
      b_error = err;
      b_done = true;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return b_done; });
    lock.unlock();
    b.join();
    // The fitting thread itself may still call in (a callback that predicts).
    EXPECT_EQ(m.predict(x.data(), 1).size(), 3u);
  };
  m.fit(x.data(), y.data(), 32, o);
  EXPECT_NE(b_error.find("the model is in use by another thread (fit refused"), std::string::npos) << b_error;
  EXPECT_NE(b_error.find("the model is in use by another thread (predict refused"), std::string::npos) << b_error;
  // Afterwards the other thread's call goes through.
  std::thread later([&] { EXPECT_EQ(m.predict(x.data(), 2).size(), 6u); });
  later.join();
}

}  // namespace
}  // namespace kiln
