// Shared declarations for the rft native addon: each kernel family registers its
// exported functions on the addon's exports object.
#pragma once
#include <napi.h>

namespace rft {
void RegisterRuntime(Napi::Env env, Napi::Object exports);  // threads, cpu features (runtime.cc)
void RegisterGemm(Napi::Env env, Napi::Object exports);     // sgemm, sgemm_batched (gemm.cc)
void RegisterFused(Napi::Env env, Napi::Object exports);    // norms, rope, attention, ... (fused.cc)
}  // namespace rft
