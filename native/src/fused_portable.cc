// The fused kernels compiled for the portable instruction set (see fused_kernels.inc).
#define RFT_FUSED_ISA portable
#include "fused_kernels.inc"
