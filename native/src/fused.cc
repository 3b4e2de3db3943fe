#include "addon.h"
namespace rft {
void RegisterFused(Napi::Env, Napi::Object) {}
}  // namespace rft
