// Runtime facts and controls exported to JS: CPU features and the thread pool's size.
// The pool starts with RFT_THREADS threads when that is set to a positive integer, otherwise one
// per core this process may run on.
#include <cstdlib>
#include <string>

#include "addon.h"
#include "napi_args.h"
#include "threadpool.h"

namespace rft {
namespace {

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

// setThreads(n): n in [1, 2 × available cores].
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  NapiArgs args(info, "setThreads", 1);
  const int64_t n = args.integer(0, "n", 1, 2 * available_cores());
  set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value AvailableCores(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), available_cores()); }

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  __builtin_cpu_init();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("avx512f", Napi::Boolean::New(env, __builtin_cpu_supports("avx512f")));
  cpu.Set("avx2", Napi::Boolean::New(env, __builtin_cpu_supports("avx2")));
  cpu.Set("fma", Napi::Boolean::New(env, __builtin_cpu_supports("fma")));
  exports.Set("cpu", cpu);
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("availableCores", Napi::Function::New(env, AvailableCores, "availableCores"));
}

}  // namespace rft
