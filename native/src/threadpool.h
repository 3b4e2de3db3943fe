// The native engine's persistent thread pool: threads are started once and reused; every
// parallel kernel goes through parallel_for. Deterministic: a given (n, grain, thread count)
// always splits the range the same way.
#pragma once
#include <cstdint>
#include <functional>

namespace rft {
// Calls fn(begin, end) on disjoint contiguous chunks covering [0, n), using up to
// num_threads() threads (the caller's thread included); returns when all chunks are done.
// Chunks are at least `grain` long, so small ranges stay on the calling thread.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);
int num_threads();
void set_num_threads(int n);  // clamped to [1, hardware threads * 2]
int available_cores();        // CPUs this process may run on (its affinity mask): the default thread count
}  // namespace rft
