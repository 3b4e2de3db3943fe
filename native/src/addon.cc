// Entry point of the rft native addon (build/Release/rft_native.node).
#include "addon.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  rft::RegisterRuntime(env, exports);
  rft::RegisterGemm(env, exports);
  rft::RegisterFused(env, exports);
  return exports;
}

NODE_API_MODULE(rft_native, Init)
