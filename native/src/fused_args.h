// Argument checking for the fused kernels' N-API entry points: every typed array's kind and
// length, every dimension and index, checked before any kernel touches memory. A failure throws
// a JS error that names the op, the argument and the expected shape.
#pragma once
#include <napi.h>
#include <cstdint>
#include <string>

namespace rft {

// Formats "(a, b, c)" shape strings.
std::string shapeOf(std::initializer_list<int64_t> dims);

class KernelArgs {
 public:
  KernelArgs(const Napi::CallbackInfo& info, const char* op, size_t count);
  [[noreturn]] void fail(const std::string& message, bool typeError = false) const;

  // A non-negative integer dimension (≤ 2³¹ − 1).
  int64_t dim(size_t i, const char* name) const;
  double number(size_t i, const char* name) const;  // finite
  bool flag(size_t i, const char* name) const;

  // A Float32Array with at least `len` elements; `nullable` also accepts null (returns nullptr).
  float* f32(size_t i, const char* name, int64_t len, const std::string& shape, bool nullable = false) const;
  int32_t* i32(size_t i, const char* name, int64_t len, const std::string& shape) const;
  // The element count of the Float32Array at i (for tables whose first dimension is implied).
  int64_t f32Length(size_t i, const char* name, const std::string& shape) const;

  // a · b · ..., failing when the product passes 2⁴⁰ elements.
  int64_t product(std::initializer_list<int64_t> dims) const;
  // Every ids[i] (i < n) in [0, bound) — or negative when allowNegative.
  void idsInRange(const int32_t* ids, int64_t n, int64_t bound, const char* name, bool allowNegative = false) const;

  const char* op;
  Napi::Env env;

 private:
  const Napi::CallbackInfo& info_;
};

}  // namespace rft
