// Keeps the AVX-512 static library non-empty until its kernels land.
namespace rft { int avx512_library_marker = 1; }
