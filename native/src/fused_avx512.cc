// The fused kernels compiled for the avx512 instruction set (see fused_kernels.inc).
#define RFT_FUSED_ISA avx512
#include "fused_kernels.inc"
