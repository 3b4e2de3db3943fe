// Runtime facts exported to JS: CPU features. (Thread pool controls are added by gemm work.)
#include "addon.h"

namespace rft {
void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  __builtin_cpu_init();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("avx512f", Napi::Boolean::New(env, __builtin_cpu_supports("avx512f")));
  cpu.Set("avx2", Napi::Boolean::New(env, __builtin_cpu_supports("avx2")));
  cpu.Set("fma", Napi::Boolean::New(env, __builtin_cpu_supports("fma")));
  exports.Set("cpu", cpu);
}
}  // namespace rft
