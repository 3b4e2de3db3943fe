// Argument checking for every N-API entry point of the addon (GEMM, fused kernels, runtime
// controls): each value coming from JavaScript — the argument count, each value's type, integer
// ranges, typed arrays' kinds and lengths against the shapes they must hold, indices into tables —
// is checked before a kernel touches memory. Kernels may be called on the raw addon, so the checks
// live here and not in TypeScript. A bad value throws a JS error that names the op, the argument
// and what is wrong: a TypeError for the wrong kind of value (or argument count), a RangeError for
// the right kind with a bad value.
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace rft {

// The largest dimension or count an op accepts.
constexpr int64_t kMaxDim = 2147483647;

// Formats "(a, b, c)" shape strings.
std::string shape_of(std::initializer_list<int64_t> dims);

// A typed array's data and its length in elements.
template <typename T>
struct TypedSpan {
  T* data;
  int64_t length;
};

class NapiArgs {
 public:
  // Exactly `count` arguments; with min_count < max_count, the last ones are optional.
  NapiArgs(const Napi::CallbackInfo& info, const char* op, size_t count);
  NapiArgs(const Napi::CallbackInfo& info, const char* op, size_t min_count, size_t max_count);

  size_t count() const { return info_.Length(); }

  [[noreturn]] void type_error(const std::string& message) const;
  [[noreturn]] void range_error(const std::string& message) const;

  bool boolean(size_t i, const char* name) const;
  std::string string(size_t i, const char* name) const;
  double finite(size_t i, const char* name) const;
  // An integer in [lo, hi].
  int64_t integer(size_t i, const char* name, int64_t lo, int64_t hi) const;
  // A dimension or count: an integer in [0, kMaxDim].
  int64_t dim(size_t i, const char* name) const;

  // A Float32Array with at least `len` elements; `shape` (e.g. "(rows, dim)") goes into the messages.
  // `nullable` also accepts null, returned as nullptr.
  float* f32(size_t i, const char* name, int64_t len, const std::string& shape, bool nullable = false) const;
  int32_t* i32(size_t i, const char* name, int64_t len, const std::string& shape) const;
  // A Float32Array of any length, for buffers whose needed length the caller works out itself (a
  // table whose first dimension is implied, a GEMM operand with its leading dimension).
  TypedSpan<float> f32_span(size_t i, const char* name, const std::string& shape = "") const;
  // A Uint16Array of any length (16-bit weights: bf16 or f16 bits).
  TypedSpan<uint16_t> u16_span(size_t i, const char* name, const std::string& shape = "") const;

  // a · b · ..., failing when the product passes 2⁴⁰ elements.
  int64_t product(std::initializer_list<int64_t> dims) const;
  // Every ids[i] (i < n) in [0, bound) — or negative when allow_negative (ignored targets).
  void ids_in_range(const int32_t* ids, int64_t n, int64_t bound, const char* name, bool allow_negative = false) const;

 private:
  double number(size_t i, const char* name) const;
  template <typename T>
  TypedSpan<T> typed_array(size_t i, const char* name, napi_typedarray_type type, const char* kind, const std::string& shape,
                           bool nullable) const;
  void check_length(const char* name, int64_t have, int64_t need, const std::string& shape) const;

  const Napi::CallbackInfo& info_;
  const char* op_;
};

}  // namespace rft
