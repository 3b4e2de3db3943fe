#include "napi_args.h"

#include <cmath>

namespace rft {
namespace {

std::string js_type_name(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_bigint64_array: return "BigInt64Array";
      case napi_biguint64_array: return "BigUint64Array";
      default: return "typed array";
    }
  }
  if (v.IsArray()) return "Array";
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsFunction()) return "function";
  return "object";
}

std::string arguments(size_t n) { return std::to_string(n) + (n == 1 ? " argument" : " arguments"); }

}  // namespace

std::string shape_of(std::initializer_list<int64_t> dims) {
  std::string s = "(";
  bool first = true;
  for (int64_t d : dims) {
    if (!first) s += ", ";
    s += std::to_string(d);
    first = false;
  }
  return s + ")";
}

NapiArgs::NapiArgs(const Napi::CallbackInfo& info, const char* op, size_t count) : NapiArgs(info, op, count, count) {}

NapiArgs::NapiArgs(const Napi::CallbackInfo& info, const char* op, size_t min_count, size_t max_count) : info_(info), op_(op) {
  const size_t n = info.Length();
  if (n < min_count || n > max_count) {
    const std::string expected = min_count == max_count ? arguments(max_count) : std::to_string(min_count) + " to " + arguments(max_count);
    type_error("expects " + expected + ", got " + std::to_string(n));
  }
}

void NapiArgs::type_error(const std::string& message) const {
  throw Napi::TypeError::New(info_.Env(), std::string(op_) + ": " + message);
}

void NapiArgs::range_error(const std::string& message) const {
  throw Napi::RangeError::New(info_.Env(), std::string(op_) + ": " + message);
}

bool NapiArgs::boolean(size_t i, const char* name) const {
  const Napi::Value v = info_[i];
  if (!v.IsBoolean()) type_error(std::string(name) + " must be a boolean, got " + js_type_name(v));
  return v.As<Napi::Boolean>().Value();
}

std::string NapiArgs::string(size_t i, const char* name) const {
  const Napi::Value v = info_[i];
  if (!v.IsString()) type_error(std::string(name) + " must be a string, got " + js_type_name(v));
  return v.As<Napi::String>().Utf8Value();
}

double NapiArgs::number(size_t i, const char* name) const {
  const Napi::Value v = info_[i];
  if (!v.IsNumber()) type_error(std::string(name) + " must be a number, got " + js_type_name(v));
  return v.As<Napi::Number>().DoubleValue();
}

double NapiArgs::finite(size_t i, const char* name) const {
  const double d = number(i, name);
  if (!std::isfinite(d)) range_error(std::string(name) + " must be finite, got " + info_[i].ToString().Utf8Value());
  return d;
}

int64_t NapiArgs::integer(size_t i, const char* name, int64_t lo, int64_t hi) const {
  const double d = number(i, name);
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || std::floor(d) != d)
    range_error(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                info_[i].ToString().Utf8Value());
  return static_cast<int64_t>(d);
}

// Worded as the TypeScript reference kernels word it, so both backends fail alike.
int64_t NapiArgs::dim(size_t i, const char* name) const {
  const double d = number(i, name);
  if (!(d >= 0) || std::floor(d) != d)
    range_error(std::string(name) + " must be a non-negative integer, got " + info_[i].ToString().Utf8Value());
  if (d > static_cast<double>(kMaxDim))
    range_error(std::string(name) + " must be a non-negative integer ≤ " + std::to_string(kMaxDim) + ", got " +
                info_[i].ToString().Utf8Value());
  return static_cast<int64_t>(d);
}

template <typename T>
TypedSpan<T> NapiArgs::typed_array(size_t i, const char* name, napi_typedarray_type type, const char* kind, const std::string& shape,
                                   bool nullable) const {
  const Napi::Value v = info_[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    type_error(std::string(name) + " must be " + kind + (shape.empty() ? "" : " " + shape) + (nullable ? " or null" : "") + ", got " +
               js_type_name(v));
  auto a = v.As<Napi::TypedArrayOf<T>>();
  return {a.Data(), static_cast<int64_t>(a.ElementLength())};
}

void NapiArgs::check_length(const char* name, int64_t have, int64_t need, const std::string& shape) const {
  if (have < need)
    range_error(std::string(name) + " has " + std::to_string(have) + " elements, needs " + std::to_string(need) + " for shape " +
                shape);
}

float* NapiArgs::f32(size_t i, const char* name, int64_t len, const std::string& shape, bool nullable) const {
  if (nullable && info_[i].IsNull()) return nullptr;
  const TypedSpan<float> a = typed_array<float>(i, name, napi_float32_array, "a Float32Array", shape, nullable);
  check_length(name, a.length, len, shape);
  return a.data;
}

int32_t* NapiArgs::i32(size_t i, const char* name, int64_t len, const std::string& shape) const {
  const TypedSpan<int32_t> a = typed_array<int32_t>(i, name, napi_int32_array, "an Int32Array", shape, false);
  check_length(name, a.length, len, shape);
  return a.data;
}

TypedSpan<float> NapiArgs::f32_span(size_t i, const char* name, const std::string& shape) const {
  return typed_array<float>(i, name, napi_float32_array, "a Float32Array", shape, false);
}

TypedSpan<uint16_t> NapiArgs::u16_span(size_t i, const char* name, const std::string& shape) const {
  return typed_array<uint16_t>(i, name, napi_uint16_array, "a Uint16Array", shape, false);
}

int64_t NapiArgs::product(std::initializer_list<int64_t> dims) const {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (__builtin_mul_overflow(p, d, &p) || p > (int64_t(1) << 40))
      range_error("shape " + shape_of(dims) + " is too large (more than 2⁴⁰ elements)");
  }
  return p;
}

void NapiArgs::ids_in_range(const int32_t* ids, int64_t n, int64_t bound, const char* name, bool allow_negative) const {
  for (int64_t i = 0; i < n; i++) {
    const int32_t id = ids[i];
    if (id >= bound || (id < 0 && !allow_negative))
      range_error(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(id) + " is out of range [0, " +
                  std::to_string(bound) + ")");
  }
}

}  // namespace rft
