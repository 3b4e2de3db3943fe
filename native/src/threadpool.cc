// Serial stand-in for the thread pool (a correct single-threaded implementation); the
// persistent multi-threaded pool replaces it.
#include "threadpool.h"

namespace rft {
static int g_threads = 1;
void parallel_for(int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
  if (n > 0) fn(0, n);
}
int num_threads() { return g_threads; }
void set_num_threads(int n) { g_threads = n < 1 ? 1 : n; }
}  // namespace rft
