// The persistent thread pool behind parallel_for (see threadpool.h).
//
// Workers are started once (and again only when the thread count changes). A call publishes
// one job (fn, n, chunk count) by bumping a generation counter; workers that are spinning see it
// at once, sleeping ones are woken through a condition variable. The caller runs chunk 0 and
// worker w chunk w — unless the worker has not started it by the time the caller is done, in
// which case the caller runs it (on a busy machine a sleeping worker can take milliseconds to get
// a core). Chunk boundaries depend only on (n, grain, threads), so results never depend on which
// thread ran what.
// After a job, workers spin for a short while before sleeping, so that the back-to-back kernel
// calls of a training step do not pay a futex wake-up each.
//
// A call made while the pool is busy (from inside a chunk, or from a second JS thread) runs its
// chunks one after another on the calling thread: same split, same results, no deadlock.
#include "threadpool.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RFT_PAUSE() _mm_pause()
#else
#define RFT_PAUSE() ((void)0)
#endif

namespace rft {
namespace {

// How long an idle worker (or a waiting caller) spins before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(100);
// How long a caller waiting for its workers keeps yielding before it sleeps.
constexpr auto kYield = std::chrono::milliseconds(2);

thread_local bool t_inside_pool = false;  // true on workers, and on a caller while it runs a job

int hardware_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned h = std::thread::hardware_concurrency();
  return h > 0 ? static_cast<int>(h) : 1;
}

// Chunk c of `chunks` equal parts of [0, n): [c·n/chunks, (c+1)·n/chunks).
inline int64_t chunk_begin(int64_t n, int chunks, int c) {
  return static_cast<int64_t>((static_cast<__int128>(n) * c) / chunks);
}

class Pool {
 public:
  explicit Pool(int threads) { start(threads); }

  int threads() const { return threads_; }

  void resize(int threads) {
    std::lock_guard<std::mutex> call(call_mutex_);
    if (threads == threads_) return;
    stop_all();
    start(threads);
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t max_chunks = n / grain;
    if (max_chunks < 1) max_chunks = 1;
    int chunks = static_cast<int>(max_chunks < threads_ ? max_chunks : threads_);
    if (chunks == 1) {
      fn(0, n);
      return;
    }
    if (t_inside_pool || !call_mutex_.try_lock()) {
      run_serially(n, chunks, fn);
      return;
    }
    std::lock_guard<std::mutex> call(call_mutex_, std::adopt_lock);
    if (chunks > threads_) chunks = threads_;  // threads_ cannot change while we hold call_mutex_

    job_ = &fn;
    job_n_ = n;
    error_ = nullptr;
    pending_.store(chunks - 1, std::memory_order_relaxed);
    const uint64_t gen = (word_.load(std::memory_order_relaxed) >> 16) + 1;
    for (int c = 1; c < chunks; c++) claim_[c].store(gen, std::memory_order_relaxed);
    publish(gen, static_cast<uint64_t>(chunks));
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(mutex_);
      work_cv_.notify_all();
    }

    t_inside_pool = true;
    std::exception_ptr mine;
    try {
      fn(0, chunk_begin(n, chunks, 1));
    } catch (...) {
      mine = std::current_exception();
    }
    // Chunks no worker has started yet (asleep, or waiting for a core) are run here instead.
    for (int c = chunks - 1; c >= 1; c--) {
      uint64_t expected = gen;
      if (!claim_[c].compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) continue;
      try {
        fn(chunk_begin(n, chunks, c), chunk_begin(n, chunks, c + 1));
      } catch (...) {
        if (!mine) mine = std::current_exception();
      }
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
    t_inside_pool = false;
    wait_done();
    job_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static void run_serially(int64_t n, int chunks, const std::function<void(int64_t, int64_t)>& fn) {
    for (int c = 0; c < chunks; c++) fn(chunk_begin(n, chunks, c), chunk_begin(n, chunks, c + 1));
  }

  void start(int threads) {
    threads_ = threads;
    stop_ = false;
    claim_.reset(new std::atomic<uint64_t>[threads]);
    for (int c = 0; c < threads; c++) claim_[c].store(0, std::memory_order_relaxed);
    // Workers start from the word as it is now: a job published before a new thread first runs
    // must still count as new to it.
    const uint64_t now = word_.load(std::memory_order_acquire);
    for (int w = 1; w < threads; w++) workers_.emplace_back([this, w, now] { worker(w, now); });
  }

  void stop_all() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      stop_ = true;
      publish((word_.load(std::memory_order_relaxed) >> 16) + 1, 0);
      work_cv_.notify_all();
    }
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  // A job is announced by one atomic word, (generation << 16) | chunks, so that a worker that
  // wakes late decides whether it takes part from the same word it woke on. Chunk c ≥ 1 is then
  // run by whoever first swaps claim_[c] from the job's generation to 0: worker c, or the caller
  // once it has finished chunk 0. A worker holding a stale word finds a newer generation there.
  void publish(uint64_t gen, uint64_t chunks) { word_.store((gen << 16) | chunks, std::memory_order_seq_cst); }

  // The caller needs the workers' results, so it waits actively: spinning, then yielding its core
  // (on a busy machine a futex sleep can cost milliseconds to wake from), and only sleeps when a
  // chunk runs long.
  void wait_done() {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; pending_.load(std::memory_order_acquire) != 0; i++) {
      if ((i & 255) != 255) {
        RFT_PAUSE();
        continue;
      }
      const auto waited = std::chrono::steady_clock::now() - start;
      if (waited < kSpin) continue;
      if (waited < kYield) {
        std::this_thread::yield();
        continue;
      }
      std::unique_lock<std::mutex> lk(mutex_);
      caller_sleeping_ = true;
      done_cv_.wait(lk, [this] { return pending_.load(std::memory_order_acquire) == 0; });
      caller_sleeping_ = false;
      return;
    }
  }

  void worker(int index, uint64_t seen) {
    t_inside_pool = true;
    for (;;) {
      // Wait for a new word: spin first, then sleep.
      auto until = std::chrono::steady_clock::now() + kSpin;
      uint64_t w;
      for (int i = 0;; i++) {
        w = word_.load(std::memory_order_acquire);
        if (w != seen) break;
        RFT_PAUSE();
        if ((i & 255) == 255 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lk(mutex_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          work_cv_.wait(lk, [&] { return word_.load(std::memory_order_seq_cst) != seen; });
          sleepers_.fetch_sub(1, std::memory_order_seq_cst);
          w = word_.load(std::memory_order_acquire);
          break;
        }
      }
      seen = w;
      const int chunks = static_cast<int>(w & 0xffff);
      if (chunks == 0 && stop_) return;
      // Having claimed a chunk means the caller waits for us, so job_ and job_n_ stay put.
      uint64_t expected = w >> 16;
      if (index < chunks && claim_[index].compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
        const int64_t n = job_n_;
        try {
          (*job_)(chunk_begin(n, chunks, index), chunk_begin(n, chunks, index + 1));
        } catch (...) {
          std::lock_guard<std::mutex> lk(mutex_);
          if (!error_) error_ = std::current_exception();
        }
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::lock_guard<std::mutex> lk(mutex_);
          if (caller_sleeping_) done_cv_.notify_one();
        }
      }
    }
  }

  std::mutex call_mutex_;  // one job at a time; held by the caller for the whole job
  std::mutex mutex_;       // guards the sleeps below
  std::condition_variable work_cv_, done_cv_;
  std::atomic<uint64_t> word_{0};
  std::unique_ptr<std::atomic<uint64_t>[]> claim_;  // per chunk: generation while unclaimed, else 0
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  bool caller_sleeping_ = false;
  bool stop_ = false;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  std::exception_ptr error_;
  int threads_ = 1;
  std::vector<std::thread> workers_;
};

int clamp_threads(int n) {
  int hi = 2 * hardware_threads();
  return n < 1 ? 1 : (n > hi ? hi : n);
}

int initial_threads() {
  const char* env = std::getenv("RFT_THREADS");
  if (env && *env) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end && *end == '\0' && v >= 1) return clamp_threads(static_cast<int>(v));
  }
  return hardware_threads();
}

// Never destroyed: joining workers during static destruction at process exit can hang.
Pool& pool() {
  static Pool* p = new Pool(initial_threads());
  return *p;
}

}  // namespace

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn) {
  pool().run(n, grain, fn);
}
int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().resize(clamp_threads(n)); }
int available_cores() { return hardware_threads(); }

}  // namespace rft
