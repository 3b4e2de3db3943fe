// The fused kernels compiled for the avx2 instruction set (see fused_kernels.inc).
#define RFT_FUSED_ISA avx2
#include "fused_kernels.inc"
