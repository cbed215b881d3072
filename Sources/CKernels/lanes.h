// CKernels (internal, x86-64 only): the lane mask of a vector loop's tail, shared by kernels.c and
// softmax.c. Include after <immintrin.h>.
#ifndef ATTNSIM_LANES_H
#define ATTNSIM_LANES_H

// The first min(remaining, 8) of 8 lanes (remaining ≥ 1).
static inline __attribute__((always_inline)) __mmask8 tailMask(long remaining) {
    return remaining >= 8 ? (__mmask8)0xff : (__mmask8)((1u << remaining) - 1);
}

#endif
