// Argument checking for N-API kernels: every value coming from JavaScript is checked before a
// kernel touches memory, and a bad one throws a JS TypeError/RangeError that names the op and the
// argument. Kernels may be called on the raw addon, so the checks live here and not in TypeScript.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace rft {

inline std::string js_type_name(const Napi::Value& v) {
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

// Collects the op's name and a description of its arguments for error messages.
class NapiArgs {
 public:
  NapiArgs(const Napi::CallbackInfo& info, const char* op, size_t count) : info_(info), op_(op) {
    if (info.Length() != count)
      throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected " + std::to_string(count) +
                                                 " arguments, got " + std::to_string(info.Length()));
  }

  const char* op() const { return op_; }
  Napi::Env env() const { return info_.Env(); }

  [[noreturn]] void type_error(const std::string& msg) const {
    throw Napi::TypeError::New(info_.Env(), std::string(op_) + ": " + msg);
  }
  [[noreturn]] void range_error(const std::string& msg) const {
    throw Napi::RangeError::New(info_.Env(), std::string(op_) + ": " + msg);
  }

  bool boolean(size_t i, const char* name) const {
    if (!info_[i].IsBoolean()) type_error(std::string(name) + " must be a boolean, got " + js_type_name(info_[i]));
    return info_[i].As<Napi::Boolean>().Value();
  }

  double number(size_t i, const char* name) const {
    if (!info_[i].IsNumber()) type_error(std::string(name) + " must be a number, got " + js_type_name(info_[i]));
    return info_[i].As<Napi::Number>().DoubleValue();
  }

  float finite_float(size_t i, const char* name) const {
    double v = number(i, name);
    if (!std::isfinite(v)) range_error(std::string(name) + " must be finite, got " + std::to_string(v));
    return static_cast<float>(v);
  }

  // An integer in [lo, hi].
  int64_t integer(size_t i, const char* name, int64_t lo, int64_t hi) const {
    double v = number(i, name);
    if (!std::isfinite(v) || std::floor(v) != v || v < static_cast<double>(lo) || v > static_cast<double>(hi))
      range_error(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                  "], got " + Napi::Number::New(info_.Env(), v).ToString().Utf8Value());
    return static_cast<int64_t>(v);
  }

  // A Float32Array; returns its data and sets *length (in floats).
  float* float32(size_t i, const char* name, int64_t* length) const {
    const Napi::Value v = info_[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      type_error(std::string(name) + " must be a Float32Array, got " + js_type_name(v));
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    *length = static_cast<int64_t>(a.ElementLength());
    return a.Data();
  }

 private:
  const Napi::CallbackInfo& info_;
  const char* op_;
};

}  // namespace rft
