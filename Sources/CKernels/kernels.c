// CKernels: AVX-512 VNNI integer dot products for the functional model's Q·Kᵀ (see CKernels.h).
// The intrinsics live in functions compiled for AVX-512 through `target` attributes, so the rest of
// the package keeps baseline x86-64 and runs anywhere; callers check attnsim_has_avx512_vnni().
#include "CKernels.h"

// The reference kernels must round exactly like scalar Swift code: never contract a * b + c.
#pragma clang fp contract(off)

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define ATTNSIM_X86 1
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include "lanes.h"
#define ATTNSIM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#else
#define ATTNSIM_X86 0
#endif

int attnsim_has_avx512_vnni(void) {
#if ATTNSIM_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

long attnsim_qk_packed_bytes(long tokens, long d) {
    long blocks = (tokens + 15) / 16, d4 = (d + 3) / 4;
    return blocks * d4 * 64;
}

void attnsim_qk_pack_i8(const int32_t *k, long tokens, long d, int8_t *packed, int32_t *ksum) {
    long blocks = (tokens + 15) / 16, d4 = (d + 3) / 4;
    for (long b = 0; b < blocks; b++) {
        for (long g = 0; g < d4; g++) {
            int8_t *dst = packed + (b * d4 + g) * 64;
            for (long r = 0; r < 16; r++) {
                long j = b * 16 + r;
                for (long e = 0; e < 4; e++) {
                    long c = g * 4 + e;
                    dst[r * 4 + e] = (j < tokens && c < d) ? (int8_t)k[j * d + c] : 0;
                }
            }
        }
    }
    for (long j = 0; j < tokens; j++) {
        int32_t s = 0;
        for (long c = 0; c < d; c++) s += k[j * d + c];
        ksum[j] = s;
    }
}

void attnsim_transpose8_f32(const float *k, long tokens, long d, float *kt) {
    long blocks = (tokens + 7) / 8;
    for (long b = 0; b < blocks; b++) {
        for (long c = 0; c < d; c++) {
            for (long r = 0; r < 8; r++) {
                long j = b * 8 + r;
                kt[(b * d + c) * 8 + r] = j < tokens ? k[j * d + c] : 0.0f;
            }
        }
    }
}

#if ATTNSIM_X86
ATTNSIM_AVX512 void attnsim_ref_scores_f64(const float *q, const float *kt, long d, long n, double scale, double *out) {
    long blocks = (n + 7) / 8, b = 0;
    const __m512d sc = _mm512_set1_pd(scale);
    // Four blocks (32 keys) per pass: four independent addition chains hide the add latency.
    for (; b + 4 <= blocks; b += 4) {
        __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
        const float *p = kt + b * d * 8;
        for (long c = 0; c < d; c++) {
            __m512d qc = _mm512_set1_pd((double)q[c]);
            a0 = _mm512_add_pd(a0, _mm512_mul_pd(qc, _mm512_cvtps_pd(_mm256_loadu_ps(p + c * 8))));
            a1 = _mm512_add_pd(a1, _mm512_mul_pd(qc, _mm512_cvtps_pd(_mm256_loadu_ps(p + (d + c) * 8))));
            a2 = _mm512_add_pd(a2, _mm512_mul_pd(qc, _mm512_cvtps_pd(_mm256_loadu_ps(p + (2 * d + c) * 8))));
            a3 = _mm512_add_pd(a3, _mm512_mul_pd(qc, _mm512_cvtps_pd(_mm256_loadu_ps(p + (3 * d + c) * 8))));
        }
        __m512d acc[4] = {a0, a1, a2, a3};
        for (int i = 0; i < 4; i++) {
            long j = (b + i) * 8;
            __mmask8 m = tailMask(n - j);
            _mm512_mask_storeu_pd(out + j, m, _mm512_mul_pd(acc[i], sc));
        }
    }
    for (; b < blocks; b++) {
        __m512d a0 = _mm512_setzero_pd();
        const float *p = kt + b * d * 8;
        for (long c = 0; c < d; c++) {
            a0 = _mm512_add_pd(a0, _mm512_mul_pd(_mm512_set1_pd((double)q[c]), _mm512_cvtps_pd(_mm256_loadu_ps(p + c * 8))));
        }
        long j = b * 8;
        __mmask8 m = tailMask(n - j);
        _mm512_mask_storeu_pd(out + j, m, _mm512_mul_pd(a0, sc));
    }
}

ATTNSIM_AVX512 void attnsim_ref_pv_f64(const double *p, const float *v, long d, long n, double *o) {
    // Up to 64 output dimensions (8 registers) per pass over the rows.
    for (long c0 = 0; c0 < d; c0 += 64) {
        __m512d acc[8];
        __mmask8 mask[8];
        int regs = 0;
        for (int r = 0; r < 8; r++) {
            long c = c0 + 8 * r;
            acc[r] = _mm512_setzero_pd();
            mask[r] = c >= d ? 0 : tailMask(d - c);
            if (mask[r]) regs = r + 1;
        }
        for (long j = 0; j < n; j++) {
            if (!(p[j] > 0)) continue;
            __m512d pj = _mm512_set1_pd(p[j]);
            const float *vr = v + j * d + c0;
            for (int r = 0; r < regs; r++) {
                __m256 vf = _mm256_maskz_loadu_ps(mask[r], vr + 8 * r);
                acc[r] = _mm512_add_pd(acc[r], _mm512_mul_pd(pj, _mm512_cvtps_pd(vf)));
            }
        }
        for (int r = 0; r < regs; r++) _mm512_mask_storeu_pd(o + c0 + 8 * r, mask[r], acc[r]);
    }
}

// `attnsim_ref_scores_f64` for R query rows (R a compile-time constant after inlining): each block
// of 8 keys is converted once and multiplied by every row's broadcast; each accumulator lane is one
// (row, key) sum over c in order, the single-row kernel's chain exactly. Keys up to the longest
// row are computed; row r stores only its first n[r]. qd holds the rows' q as doubles (qd[r·d + c]).
//
// Fused multiply-add here is the scalar loop's multiply-then-add, bit for bit: a product of two
// floats has at most 24 + 24 significant bits and an exponent within [−298, 256], so it is exact
// in double, and fma(q, k, a) = round(a + q·k) = round(a + round(q·k)). (Infinities and NaN
// propagate alike; the `fp contract(off)` pragma only stops the compiler from fusing on its own.)
static inline __attribute__((always_inline)) ATTNSIM_AVX512 void ref_scores_rows_block(
    const double *qd, const float *kt, long d, const long *n, long nmax, double scale, double *const *out, const int R) {
    long blocks = (nmax + 7) / 8, b = 0;
    const __m512d sc = _mm512_set1_pd(scale);
    for (; b + 4 <= blocks; b += 4) {
        __m512d acc[ATTNSIM_REF_MAX_ROWS][4];
        for (int r = 0; r < R; r++) for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_pd();
        const float *p = kt + b * d * 8;
        for (long c = 0; c < d; c++) {
            __m512d k0 = _mm512_cvtps_pd(_mm256_loadu_ps(p + c * 8)), k1 = _mm512_cvtps_pd(_mm256_loadu_ps(p + (d + c) * 8));
            __m512d k2 = _mm512_cvtps_pd(_mm256_loadu_ps(p + (2 * d + c) * 8)), k3 = _mm512_cvtps_pd(_mm256_loadu_ps(p + (3 * d + c) * 8));
            for (int r = 0; r < R; r++) {
                __m512d qc = _mm512_set1_pd(qd[r * d + c]);
                acc[r][0] = _mm512_fmadd_pd(qc, k0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_pd(qc, k1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_pd(qc, k2, acc[r][2]);
                acc[r][3] = _mm512_fmadd_pd(qc, k3, acc[r][3]);
            }
        }
        for (int i = 0; i < 4; i++) {
            long j = (b + i) * 8;
            for (int r = 0; r < R; r++) {
                if (n[r] <= j) continue;
                __mmask8 m = tailMask(n[r] - j);
                _mm512_mask_storeu_pd(out[r] + j, m, _mm512_mul_pd(acc[r][i], sc));
            }
        }
    }
    for (; b < blocks; b++) {
        __m512d acc[ATTNSIM_REF_MAX_ROWS];
        for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_pd();
        const float *p = kt + b * d * 8;
        for (long c = 0; c < d; c++) {
            __m512d k0 = _mm512_cvtps_pd(_mm256_loadu_ps(p + c * 8));
            for (int r = 0; r < R; r++) acc[r] = _mm512_fmadd_pd(_mm512_set1_pd(qd[r * d + c]), k0, acc[r]);
        }
        long j = b * 8;
        for (int r = 0; r < R; r++) {
            if (n[r] <= j) continue;
            __mmask8 m = tailMask(n[r] - j);
            _mm512_mask_storeu_pd(out[r] + j, m, _mm512_mul_pd(acc[r], sc));
        }
    }
}

ATTNSIM_AVX512 void attnsim_ref_scores_f64_rows(const float *const *q, int rows, const float *kt, long d, const long *n,
                                                double scale, double *const *out) {
    if (rows < 1) return;
    if (rows > ATTNSIM_REF_MAX_ROWS) rows = ATTNSIM_REF_MAX_ROWS;  // callers check
    long nmax = 0;
    for (int r = 0; r < rows; r++) if (n[r] > nmax) nmax = n[r];
    // The rows' q as doubles (exact), broadcast from memory in the loop.
    double stack[ATTNSIM_REF_MAX_ROWS * 256];
    double *qd = d <= 256 ? stack : (double *)malloc(sizeof(double) * (size_t)(rows * d));
    if (!qd) abort();
    for (int r = 0; r < rows; r++) for (long c = 0; c < d; c++) qd[r * d + c] = (double)q[r][c];
    switch (rows) {
    case 1: ref_scores_rows_block(qd, kt, d, n, nmax, scale, out, 1); break;
    case 2: ref_scores_rows_block(qd, kt, d, n, nmax, scale, out, 2); break;
    case 3: ref_scores_rows_block(qd, kt, d, n, nmax, scale, out, 3); break;
    default: ref_scores_rows_block(qd, kt, d, n, nmax, scale, out, 4); break;
    }
    if (qd != stack) free(qd);
}

// `attnsim_ref_pv_f64` for R rows of probabilities (R, W compile-time constants after inlining):
// each V row's W registers (8·W dimensions) are loaded once per pass and added into every row whose
// p[r][j] > 0 (j < n[r]); each row's accumulators see its keys in order j = 0, 1, … exactly as in
// the single-row kernel. Every loop over w runs to the constant W (dimensions past d load as zeros
// into lanes that are never stored), so the R·W accumulators stay in registers.
static inline __attribute__((always_inline)) ATTNSIM_AVX512 void ref_pv_rows_block(
    const double *const *p, const float *v, long d, const long *n, long nmax, double *const *o, const int R, const int W) {
    const double *pr[ATTNSIM_REF_MAX_ROWS];
    for (int r = 0; r < R; r++) pr[r] = p[r];
    for (long c0 = 0; c0 < d; c0 += 8 * W) {
        __m512d acc[ATTNSIM_REF_MAX_ROWS][8];
        __mmask8 mask[8];
        for (int w = 0; w < W; w++) {
            long c = c0 + 8 * w;
            mask[w] = c >= d ? 0 : tailMask(d - c);
            for (int r = 0; r < R; r++) acc[r][w] = _mm512_setzero_pd();
        }
        for (long j = 0; j < nmax; j++) {
            const float *vr = v + j * d + c0;
            __m512d vd[8];
            for (int w = 0; w < W; w++) vd[w] = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(mask[w], vr + 8 * w));
            for (int r = 0; r < R; r++) {
                if (j >= n[r] || !(pr[r][j] > 0)) continue;
                __m512d pj = _mm512_set1_pd(pr[r][j]);
                for (int w = 0; w < W; w++) acc[r][w] = _mm512_add_pd(acc[r][w], _mm512_mul_pd(pj, vd[w]));
            }
        }
        for (int r = 0; r < R; r++)
            for (int w = 0; w < W; w++) _mm512_mask_storeu_pd(o[r] + c0 + 8 * w, mask[w], acc[r][w]);
    }
}

ATTNSIM_AVX512 void attnsim_ref_pv_f64_rows(const double *const *p, int rows, const float *v, long d, const long *n,
                                            double *const *o) {
    if (rows < 1) return;
    if (rows > ATTNSIM_REF_MAX_ROWS) rows = ATTNSIM_REF_MAX_ROWS;  // callers check
    long nmax = 0;
    for (int r = 0; r < rows; r++) if (n[r] > nmax) nmax = n[r];
    // Accumulators: rows × W registers (≤ 16), plus W for the V row.
    switch (rows) {
    case 1: ref_pv_rows_block(p, v, d, n, nmax, o, 1, 8); break;
    case 2: ref_pv_rows_block(p, v, d, n, nmax, o, 2, 8); break;
    case 3: ref_pv_rows_block(p, v, d, n, nmax, o, 3, 4); break;
    default: ref_pv_rows_block(p, v, d, n, nmax, o, 4, 4); break;
    }
}

ATTNSIM_AVX512 void attnsim_count_below_f64(const double *x, long n, double ta, double tb, long *a, long *b) {
    const __m512d va = _mm512_set1_pd(ta), vb = _mm512_set1_pd(tb);
    long ca = 0, cb = 0;
    for (long j = 0; j < n; j += 8) {
        __mmask8 msk = tailMask(n - j);
        __m512d v = _mm512_maskz_loadu_pd(msk, x + j);
        ca += __builtin_popcount(_mm512_mask_cmp_pd_mask(msk, v, va, _CMP_LT_OQ));
        cb += __builtin_popcount(_mm512_mask_cmp_pd_mask(msk, v, vb, _CMP_LT_OQ));
    }
    *a = ca;
    *b = cb;
}

ATTNSIM_AVX512 long attnsim_count_nan_f64(const double *x, long n) {
    long count = 0;
    for (long j = 0; j < n; j += 8) {
        __mmask8 msk = tailMask(n - j);
        __m512d v = _mm512_maskz_loadu_pd(msk, x + j);
        count += __builtin_popcount(_mm512_mask_cmp_pd_mask(msk, v, v, _CMP_UNORD_Q));
    }
    return count;
}

ATTNSIM_AVX512 long attnsim_topk_candidates_f64(const double *s, long n, long k, long *out) {
    // The bound: the k-th largest of the m block maxima (no NaN, so max and the comparisons are
    // exact; which zero a ±0 maximum is cannot change a comparison). For small k the k largest are
    // kept sorted in `best`; otherwise m = k and the bound is the least maximum.
    const long m = k <= ATTNSIM_TOPK_SMALL_K ? (4 * k < n ? 4 * k : n) : k;
    double best[ATTNSIM_TOPK_SMALL_K], maxima[4 * ATTNSIM_TOPK_SMALL_K];
    double bound = INFINITY;
    if (k <= ATTNSIM_TOPK_SMALL_K) for (long i = 0; i < k; i++) best[i] = -INFINITY;
    const __m512d ninf = _mm512_set1_pd(-INFINITY);
    // Block b is [b·n/m, (b+1)·n/m): the bounds stepped by quotient and remainder, no division.
    const long step = n / m, extra = n % m;
    long hi = 0, rem = 0;
    for (long b = 0; b < m; b++) {
        long lo = hi;
        hi += step;
        rem += extra;
        if (rem >= m) { hi++; rem -= m; }
        __m512d mv = ninf;
        for (long j = lo; j < hi; j += 8) {
            __mmask8 msk = tailMask(hi - j);
            mv = _mm512_max_pd(mv, _mm512_mask_loadu_pd(ninf, msk, s + j));
        }
        double bm = _mm512_reduce_max_pd(mv);
        if (k > ATTNSIM_TOPK_SMALL_K) {
            if (bm < bound) bound = bm;
        } else {
            maxima[b] = bm;
        }
    }
    if (k <= ATTNSIM_TOPK_SMALL_K) {
        // The k largest maxima by insertion, last block first (scores tend to rise along a row, so
        // the later maxima fill `best` early and most earlier ones are rejected at once).
        for (long b = m - 1; b >= 0; b--) {
            double bm = maxima[b];
            if (!(bm > best[k - 1])) continue;
            long i = k - 1;
            while (i > 0 && best[i - 1] < bm) { best[i] = best[i - 1]; i--; }
            best[i] = bm;
        }
        bound = best[k - 1];
    }
    // The candidates s[j] >= bound, in index order: 8 keys per compare, compressed in a register
    // and stored under a mask (nothing written past the count).
    const __m512d bv = _mm512_set1_pd(bound);
    __m512i idx = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    const __m512i eight = _mm512_set1_epi64(8);
    long count = 0;
    for (long j = 0; j < n; j += 8) {
        __mmask8 msk = tailMask(n - j);
        __mmask8 ge = _mm512_mask_cmp_pd_mask(msk, _mm512_maskz_loadu_pd(msk, s + j), bv, _CMP_GE_OQ);
        if (ge) {
            int c = __builtin_popcount(ge);
            _mm512_mask_storeu_epi64(out + count, (__mmask8)((1u << c) - 1), _mm512_maskz_compress_epi64(ge, idx));
            count += c;
        }
        idx = _mm512_add_epi64(idx, eight);
    }
    return count;
}

ATTNSIM_AVX512 void attnsim_pv_codes_f64(const int32_t *rows, const double *w, long count, const int32_t *v, long d,
                                         const double *vscale, double *o) {
    // Up to 64 output dimensions (8 registers) per pass over the kept rows; V scales in 8 more.
    for (long c0 = 0; c0 < d; c0 += 64) {
        __m512d acc[8], sc[8];
        __mmask8 mask[8];
        int regs = 0;
        for (int r = 0; r < 8; r++) {
            long c = c0 + 8 * r;
            mask[r] = c >= d ? 0 : tailMask(d - c);
            acc[r] = _mm512_maskz_loadu_pd(mask[r], o + c);
            sc[r] = _mm512_maskz_loadu_pd(mask[r], vscale + c);
            if (mask[r]) regs = r + 1;
        }
        for (long m = 0; m < count; m++) {
            __m512d wm = _mm512_set1_pd(w[m]);
            const int32_t *vr = v + (long)rows[m] * d + c0;
            for (int r = 0; r < regs; r++) {
                __m512d x = _mm512_cvtepi32_pd(_mm256_maskz_loadu_epi32(mask[r], vr + 8 * r));
                acc[r] = _mm512_add_pd(acc[r], _mm512_mul_pd(wm, _mm512_mul_pd(x, sc[r])));
            }
        }
        for (int r = 0; r < regs; r++) _mm512_mask_storeu_pd(o + c0 + 8 * r, mask[r], acc[r]);
    }
}

// Up to ATTNSIM_QK_MAX_ROWS query rows against the same keys: each 64-byte block of packed K is
// loaded once per pass and multiplied by every row's broadcast (register blocking: R rows × 64 keys,
// 4R accumulators), so the loads per `vpdpbusd` fall from 1 to 1/R. R is a compile-time constant
// after inlining (one specialization per row count).
static inline __attribute__((always_inline)) ATTNSIM_AVX512 void qk_rows_block(
    const uint32_t *qw, long d4, const int8_t *packed, const int32_t *ksum, long n, int32_t *out, long outStride, const int R) {
    const __m512i off = _mm512_set1_epi32(128);
    long blocks = (n + 15) / 16, b = 0;
    for (; b + 4 <= blocks; b += 4) {
        __m512i acc[ATTNSIM_QK_MAX_ROWS][4];
        for (int r = 0; r < R; r++) for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_si512();
        const int8_t *p = packed + b * d4 * 64;
        for (long g = 0; g < d4; g++) {
            __m512i k0 = _mm512_loadu_si512(p + g * 64), k1 = _mm512_loadu_si512(p + (d4 + g) * 64);
            __m512i k2 = _mm512_loadu_si512(p + (2 * d4 + g) * 64), k3 = _mm512_loadu_si512(p + (3 * d4 + g) * 64);
            for (int r = 0; r < R; r++) {
                __m512i qb = _mm512_set1_epi32((int)qw[r * (ATTNSIM_QK_MAX_D / 4) + g]);
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], qb, k0);
                acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], qb, k1);
                acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], qb, k2);
                acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], qb, k3);
            }
        }
        for (int i = 0; i < 4; i++) {
            long j = (b + i) * 16;
            __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            __m512i corr = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m, ksum + j), off);
            for (int r = 0; r < R; r++) _mm512_mask_storeu_epi32(out + r * outStride + j, m, _mm512_sub_epi32(acc[r][i], corr));
        }
    }
    for (; b < blocks; b++) {
        __m512i acc[ATTNSIM_QK_MAX_ROWS];
        for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_si512();
        const int8_t *p = packed + b * d4 * 64;
        for (long g = 0; g < d4; g++) {
            __m512i k0 = _mm512_loadu_si512(p + g * 64);
            for (int r = 0; r < R; r++)
                acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32((int)qw[r * (ATTNSIM_QK_MAX_D / 4) + g]), k0);
        }
        long j = b * 16;
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512i corr = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m, ksum + j), off);
        for (int r = 0; r < R; r++) _mm512_mask_storeu_epi32(out + r * outStride + j, m, _mm512_sub_epi32(acc[r], corr));
    }
}

ATTNSIM_AVX512 void attnsim_qk_i8_vnni_rows(const int32_t *q, long qStride, int rows, long d, const int8_t *packed,
                                            const int32_t *ksum, long n, int32_t *out, long outStride) {
    if (d > ATTNSIM_QK_MAX_D) d = ATTNSIM_QK_MAX_D;  // callers check d ≤ ATTNSIM_QK_MAX_D
    if (rows < 1) return;
    if (rows > ATTNSIM_QK_MAX_ROWS) rows = ATTNSIM_QK_MAX_ROWS;  // callers check
    long d4 = (d + 3) / 4;
    // Each row as offset bytes q + 128 in [0, 255], four per Int32 word (zero padded: a zero byte
    // adds nothing, and padded key bytes are zero too).
    uint32_t qw[ATTNSIM_QK_MAX_ROWS * (ATTNSIM_QK_MAX_D / 4)];
    for (int r = 0; r < rows; r++) {
        const int32_t *qr = q + r * qStride;
        for (long g = 0; g < d4; g++) {
            uint32_t w = 0;
            for (long e = 0; e < 4; e++) {
                long c = g * 4 + e;
                uint32_t u = c < d ? (uint32_t)(qr[c] + 128) & 0xff : 0;
                w |= u << (8 * e);
            }
            qw[r * (ATTNSIM_QK_MAX_D / 4) + g] = w;
        }
    }
    switch (rows) {
    case 1: qk_rows_block(qw, d4, packed, ksum, n, out, outStride, 1); break;
    case 2: qk_rows_block(qw, d4, packed, ksum, n, out, outStride, 2); break;
    case 3: qk_rows_block(qw, d4, packed, ksum, n, out, outStride, 3); break;
    default: qk_rows_block(qw, d4, packed, ksum, n, out, outStride, 4); break;
    }
}

ATTNSIM_AVX512 int32_t attnsim_vnni_peak_loop(long iterations, int32_t seed) {
    __m512i a = _mm512_set1_epi32(0x01010101 * (seed & 0x7f));
    __m512i b = _mm512_set1_epi32(0x02fe03fd);
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (long i = 0; i < iterations; i++) {
        s0 = _mm512_dpbusd_epi32(s0, a, b); s1 = _mm512_dpbusd_epi32(s1, a, b);
        s2 = _mm512_dpbusd_epi32(s2, a, b); s3 = _mm512_dpbusd_epi32(s3, a, b);
        s4 = _mm512_dpbusd_epi32(s4, a, b); s5 = _mm512_dpbusd_epi32(s5, a, b);
        s6 = _mm512_dpbusd_epi32(s6, a, b); s7 = _mm512_dpbusd_epi32(s7, a, b);
        // Opaque to the optimizer: the operands are "changed" every iteration, so the products
        // cannot be hoisted or the loop collapsed into a multiplication.
        __asm__ volatile("" : "+v"(a), "+v"(b));
    }
    __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3)),
                                 _mm512_add_epi32(_mm512_add_epi32(s4, s5), _mm512_add_epi32(s6, s7)));
    return _mm512_reduce_add_epi32(s);
}
#else
void attnsim_ref_scores_f64(const float *q, const float *kt, long d, long n, double scale, double *out) {
    (void)q; (void)kt; (void)d; (void)n; (void)scale; (void)out;
}
void attnsim_ref_pv_f64(const double *p, const float *v, long d, long n, double *o) {
    (void)p; (void)v; (void)d; (void)n; (void)o;
}
void attnsim_ref_scores_f64_rows(const float *const *q, int rows, const float *kt, long d, const long *n,
                                 double scale, double *const *out) {
    (void)q; (void)rows; (void)kt; (void)d; (void)n; (void)scale; (void)out;
}
void attnsim_ref_pv_f64_rows(const double *const *p, int rows, const float *v, long d, const long *n, double *const *o) {
    (void)p; (void)rows; (void)v; (void)d; (void)n; (void)o;
}
long attnsim_count_nan_f64(const double *x, long n) {
    (void)x; (void)n;
    return 0;
}
void attnsim_count_below_f64(const double *x, long n, double ta, double tb, long *a, long *b) {
    (void)x; (void)n; (void)ta; (void)tb;
    *a = 0;
    *b = 0;
}
long attnsim_topk_candidates_f64(const double *s, long n, long k, long *out) {
    (void)s; (void)n; (void)k; (void)out;
    return 0;
}
void attnsim_pv_codes_f64(const int32_t *rows, const double *w, long count, const int32_t *v, long d,
                          const double *vscale, double *o) {
    (void)rows; (void)w; (void)count; (void)v; (void)d; (void)vscale; (void)o;
}
void attnsim_qk_i8_vnni_rows(const int32_t *q, long qStride, int rows, long d, const int8_t *packed,
                             const int32_t *ksum, long n, int32_t *out, long outStride) {
    (void)q; (void)qStride; (void)rows; (void)d; (void)packed; (void)ksum; (void)n; (void)out; (void)outStride;
}
int32_t attnsim_vnni_peak_loop(long iterations, int32_t seed) { (void)iterations; (void)seed; return 0; }
#endif

void attnsim_qk_i8_vnni(const int32_t *q, long d, const int8_t *packed, const int32_t *ksum, long n, int32_t *out) {
    attnsim_qk_i8_vnni_rows(q, 0, 1, d, packed, ksum, n, out, 0);
}

int32_t attnsim_vnni_peak_loop_reference(long iterations, int32_t seed) {
    // Each lane: four products of unsigned bytes of a with signed bytes of b; 16 lanes, 8 chains.
    uint8_t a = (uint8_t)(seed & 0x7f);
    const int8_t b[4] = {(int8_t)0xfd, (int8_t)0x03, (int8_t)0xfe, (int8_t)0x02};
    int32_t lane = 0;
    for (int e = 0; e < 4; e++) lane += (int32_t)a * b[e];
    uint32_t total = (uint32_t)lane * 16u * 8u * (uint32_t)iterations;
    return (int32_t)total;
}
