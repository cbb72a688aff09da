// XENT_VECTOR_CLONES on a hot loop's function: GCC compiles it twice, for AVX2 (8 floats per
// instruction) and for the x86-64 baseline (SSE2, 4), and the loader picks the one the CPU
// runs. AVX2 alone brings no FMA, so both clones round every operation alike and give the
// same bits: the choice of clone never changes a result. Elsewhere (clang, other
// architectures) it is empty and the baseline build is all there is.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define XENT_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define XENT_VECTOR_CLONES
#endif
