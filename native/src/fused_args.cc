#include "fused_args.h"
#include "napi_args.h"
#include <cmath>

namespace rft {

std::string shapeOf(std::initializer_list<int64_t> dims) {
  std::string s = "(";
  bool first = true;
  for (int64_t d : dims) {
    if (!first) s += ", ";
    s += std::to_string(d);
    first = false;
  }
  return s + ")";
}

KernelArgs::KernelArgs(const Napi::CallbackInfo& info, const char* op, size_t count) : op(op), env(info.Env()), info_(info) {
  if (info.Length() < count)
    fail("expects " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()), true);
}

void KernelArgs::fail(const std::string& message, bool typeError) const {
  std::string m = std::string(op) + ": " + message;
  if (typeError) throw Napi::TypeError::New(env, m);
  throw Napi::RangeError::New(env, m);
}

int64_t KernelArgs::dim(size_t i, const char* name) const {
  const Napi::Value v = info_[i];
  if (!v.IsNumber()) fail(std::string(name) + " must be a number, got " + js_type_name(v), true);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 2147483647.0 || std::floor(d) != d)
    fail(std::string(name) + " must be a non-negative integer, got " + v.ToString().Utf8Value());
  return (int64_t)d;
}

double KernelArgs::number(size_t i, const char* name) const {
  const Napi::Value v = info_[i];
  if (!v.IsNumber()) fail(std::string(name) + " must be a number, got " + js_type_name(v), true);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) fail(std::string(name) + " must be finite, got " + v.ToString().Utf8Value());
  return d;
}

bool KernelArgs::flag(size_t i, const char* name) const {
  const Napi::Value v = info_[i];
  if (!v.IsBoolean()) fail(std::string(name) + " must be a boolean, got " + js_type_name(v), true);
  return v.As<Napi::Boolean>().Value();
}

float* KernelArgs::f32(size_t i, const char* name, int64_t len, const std::string& shape, bool nullable) const {
  const Napi::Value v = info_[i];
  if (nullable && v.IsNull()) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail(std::string(name) + " must be a Float32Array " + shape + (nullable ? " or null" : "") + ", got " + js_type_name(v), true);
  auto a = v.As<Napi::Float32Array>();
  if ((int64_t)a.ElementLength() < len)
    fail(std::string(name) + " has " + std::to_string(a.ElementLength()) + " elements, needs " + std::to_string(len) +
         " for shape " + shape);
  return a.Data();
}

int64_t KernelArgs::f32Length(size_t i, const char* name, const std::string& shape) const {
  const Napi::Value v = info_[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail(std::string(name) + " must be a Float32Array " + shape + ", got " + js_type_name(v), true);
  return (int64_t)v.As<Napi::Float32Array>().ElementLength();
}

int32_t* KernelArgs::i32(size_t i, const char* name, int64_t len, const std::string& shape) const {
  const Napi::Value v = info_[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    fail(std::string(name) + " must be an Int32Array " + shape + ", got " + js_type_name(v), true);
  auto a = v.As<Napi::Int32Array>();
  if ((int64_t)a.ElementLength() < len)
    fail(std::string(name) + " has " + std::to_string(a.ElementLength()) + " elements, needs " + std::to_string(len) +
         " for shape " + shape);
  return a.Data();
}

int64_t KernelArgs::product(std::initializer_list<int64_t> dims) const {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (__builtin_mul_overflow(p, d, &p) || p > (int64_t(1) << 40)) fail("shape " + shapeOf(dims) + " is too large");
  }
  return p;
}

void KernelArgs::idsInRange(const int32_t* ids, int64_t n, int64_t bound, const char* name, bool allowNegative) const {
  for (int64_t i = 0; i < n; i++) {
    const int32_t id = ids[i];
    if (id >= bound || (id < 0 && !allowNegative))
      fail(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(id) + " is out of range [0, " +
           std::to_string(bound) + ")");
  }
}

}  // namespace rft
