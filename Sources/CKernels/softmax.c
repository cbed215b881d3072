// CKernels: the exact reference's softmax (max, e^(s − max), in-order Σ, division) with a vector
// e^x whose every result is the C library's `exp` (see CKernels.h, `attnsim_ref_exp_f64`).
//
// How the vector e^x returns libm's doubles. glibc (2.28 and later) documents its `exp` as accurate
// to "less than 0.5 + 1.11/N + (abs poly error · 2^53) ulp" with N = 128 and a polynomial error of
// 1.555·2^-66, plus 0.25/N ulp without fma: under 0.511 ulp of the true e^x for normal results
// (sysdeps/ieee754/dbl-64/e_exp.c and e_exp_data.c: "ulp error: 0.509 (0.511 without fma)").
// This file computes e^x to within 1.01·2^-63 absolute (yh ∈ [0.98, 2) before an exact scaling by
// a power of two), as yh + yl (yh the double nearest that, yl the rest), with its own method:
// x = k·ln2/32 + r, |r| ≤ ln2/64, a table of 2^(j/32) in double-double computed here at start-up
// from square roots of 2, a degree-8 Taylor polynomial and error-free products and sums. Let U be
// the spacing of doubles at yh (≥ 2^-53, so the error is under 0.0011·U). When yh is not a power
// of two and |yl| ≤ 0.487·U, the true value Y lies within 0.4881·U of yh, so every other double is
// more than 0.5119·U from Y: libm's result, within 0.511 ulp of Y, can only be yh. Every other
// lane (|yl| too large, about 2.6% of them; yh = 1; x outside [−512, 0]; NaN, infinities) calls
// libm's `exp` itself. With another C library (no glibc ≥ 2.28) every lane calls `exp`.
// `ReferenceExpTests` compares the results with `exp` on 16.8 million inputs, Scripts/ref_exp_check.c
// on 10⁹; docs/performance.md has the argument and error budget in full.
#include "CKernels.h"

#pragma clang fp contract(off)

#include <math.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "lanes.h"
#include <pthread.h>
#define ATTNSIM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 28))
#define ATTNSIM_FAST_EXP 1
#else
#define ATTNSIM_FAST_EXP 0
#endif

// --- Double-double arithmetic for the start-up constants (scalar, correctly rounded steps). ---
typedef struct { double hi, lo; } dd;

// hi + lo exactly as a normalized pair (requires |hi| ≥ |lo| or hi = 0).
static dd dd_fast(double hi, double lo) {
    double s = hi + lo;
    return (dd){s, lo - (s - hi)};
}

static dd dd_add(dd a, dd b) {
    double s = a.hi + b.hi, bb = s - a.hi;
    double err = (a.hi - (s - bb)) + (b.hi - bb);
    return dd_fast(s, err + (a.lo + b.lo));
}

static dd dd_mul(dd a, dd b) {
    double p = a.hi * b.hi;
    double e = fma(a.hi, b.hi, -p);
    return dd_fast(p, e + (a.hi * b.lo + a.lo * b.hi));
}

static dd dd_div(dd a, double b) {
    double q = a.hi / b;
    double r = fma(-q, b, a.hi) + a.lo;
    return dd_fast(q, r / b);
}

static dd dd_sqrt(dd a) {
    double s = sqrt(a.hi);
    double r = fma(-s, s, a.hi) + a.lo;
    return dd_fast(s, r / (2 * s));
}

// 2^(j/32) for j < 32 as hi + lo; ln2/32 split as L1 (35 significant bits: k·L1 is exact for
// |k| < 2^18) + L2; 32/ln2.
static double expTableHi[32], expTableLo[32];
static double expL1, expL2, expInv;
static double expLn2Hi, expLn2Lo;
static pthread_once_t expOnce = PTHREAD_ONCE_INIT;

static void expInit(void) {
    // ln 2 = 2·atanh(1/3) = 2 Σ_i (1/9)^i / (3·(2i + 1)); 40 terms: (1/9)^40 < 2^-126.
    dd sum = {0, 0}, t = dd_div((dd){1, 0}, 3);
    for (int i = 0; i < 40; i++) {
        sum = dd_add(sum, dd_div(t, 2 * i + 1));
        t = dd_div(t, 9);
    }
    dd ln2 = {2 * sum.hi, 2 * sum.lo};
    expLn2Hi = ln2.hi;
    expLn2Lo = ln2.lo;
    double l = ln2.hi / 32;  // exact (a power of two)
    uint64_t bits;
    __builtin_memcpy(&bits, &l, 8);
    bits &= ~((UINT64_C(1) << 18) - 1);  // keep 53 − 18 = 35 significant bits
    __builtin_memcpy(&expL1, &bits, 8);
    expL2 = (l - expL1) + ln2.lo / 32;  // l − L1 is exact
    expInv = 32 / ln2.hi;
    // root[b] = 2^(2^-(b+1)): √2, ⁴√2, …, 2^(1/32).
    dd root[5];
    root[0] = dd_sqrt((dd){2, 0});
    for (int b = 1; b < 5; b++) root[b] = dd_sqrt(root[b - 1]);
    for (int j = 0; j < 32; j++) {
        dd v = {1, 0};
        for (int b = 0; b < 5; b++)
            if (j & (16 >> b)) v = dd_mul(v, root[b]);
        expTableHi[j] = v.hi;
        expTableLo[j] = v.lo;
    }
}

void attnsim_ref_exp_constants(double *tableHi, double *tableLo, double *ln2) {
    pthread_once(&expOnce, expInit);
    for (int j = 0; j < 32; j++) { tableHi[j] = expTableHi[j]; tableLo[j] = expTableLo[j]; }
    ln2[0] = expLn2Hi;
    ln2[1] = expLn2Lo;
}

// The 32-entry table in registers, entry j by two two-source permutes and a blend.
typedef struct { __m512d hi[4], lo[4]; } ExpTable;

static inline __attribute__((always_inline)) ATTNSIM_AVX512 ExpTable loadTable(void) {
    ExpTable t;
    for (int i = 0; i < 4; i++) { t.hi[i] = _mm512_loadu_pd(expTableHi + 8 * i); t.lo[i] = _mm512_loadu_pd(expTableLo + 8 * i); }
    return t;
}

static inline __attribute__((always_inline)) ATTNSIM_AVX512 __m512d lookup(const __m512d *t, __m512i j) {
    __mmask8 upper = _mm512_test_epi64_mask(j, _mm512_set1_epi64(16));
    return _mm512_mask_blend_pd(upper, _mm512_permutex2var_pd(t[0], j, t[1]), _mm512_permutex2var_pd(t[2], j, t[3]));
}

// The vector method of e^x on 8 lanes: *ok gets the lanes whose result is proven to be libm's
// `exp(x)` (the others' results are unspecified).
static inline __attribute__((always_inline)) ATTNSIM_AVX512 __m512d expFast(__m512d x, const ExpTable *tab, __mmask8 *ok) {
#if ATTNSIM_FAST_EXP
    const __m512d shift = _mm512_set1_pd(0x1.8p52);
    __m512d t = _mm512_add_pd(_mm512_mul_pd(x, _mm512_set1_pd(expInv)), shift);
    __m512d kd = _mm512_sub_pd(t, shift);  // k = the integer nearest x·32/ln2 (|k| < 2^15 in range)
    __m512i k = _mm512_sub_epi64(_mm512_castpd_si512(t), _mm512_castpd_si512(shift));
    __m512i j = _mm512_and_si512(k, _mm512_set1_epi64(31));
    __m512i e = _mm512_srai_epi64(k, 5);
    __m512d th = lookup(tab->hi, j), tl = lookup(tab->lo, j);
    // r1 = x − k·L1 exactly (k·L1 is exact and the fused operation rounds once); tt = −k·L2.
    __m512d r1 = _mm512_fnmadd_pd(kd, _mm512_set1_pd(expL1), x);
    __m512d tt = _mm512_mul_pd(kd, _mm512_set1_pd(-expL2));
    __m512d r = _mm512_add_pd(r1, tt);
    // e^(r1 + tt) − 1 = r1 + q, q = tt + r²(1/2 + r/6 + … + r⁶/8!): |r| ≤ ln2/64, the next term
    // r⁹/9! < 2^-77.
    __m512d p = _mm512_fmadd_pd(r, _mm512_set1_pd(1.0 / 40320), _mm512_set1_pd(1.0 / 5040));
    p = _mm512_fmadd_pd(r, p, _mm512_set1_pd(1.0 / 720));
    p = _mm512_fmadd_pd(r, p, _mm512_set1_pd(1.0 / 120));
    p = _mm512_fmadd_pd(r, p, _mm512_set1_pd(1.0 / 24));
    p = _mm512_fmadd_pd(r, p, _mm512_set1_pd(1.0 / 6));
    p = _mm512_fmadd_pd(r, p, _mm512_set1_pd(0.5));
    __m512d q = _mm512_add_pd(tt, _mm512_mul_pd(_mm512_mul_pd(r, r), p));
    // (th + tl)·(1 + r1 + q) = th + th·r1 + [th·q + tl·(1 + r1 + q)], th·r1 split exactly.
    __m512d bh = _mm512_mul_pd(th, r1), bl = _mm512_fmsub_pd(th, r1, bh);
    __m512d c = _mm512_fmadd_pd(th, q, _mm512_fmadd_pd(tl, _mm512_add_pd(r1, q), tl));
    __m512d sh = _mm512_add_pd(th, bh);
    __m512d sl = _mm512_sub_pd(bh, _mm512_sub_pd(sh, th));  // th + bh = sh + sl exactly
    __m512d tail = _mm512_add_pd(_mm512_add_pd(sl, bl), c);
    __m512d yh = _mm512_add_pd(sh, tail);
    __m512d yl = _mm512_sub_pd(tail, _mm512_sub_pd(yh, sh));  // sh + tail = yh + yl exactly
    // yh ∈ [0.98, 1.98): U = 2^-53 below 1, 2^-52 above; 1 itself is the one power of two.
    __mmask8 below1 = _mm512_cmp_pd_mask(yh, _mm512_set1_pd(1.0), _CMP_LT_OQ);
    __m512d limit = _mm512_mask_blend_pd(below1, _mm512_set1_pd(0.487 * 0x1p-52), _mm512_set1_pd(0.487 * 0x1p-53));
    __m512d absYl = _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(yl), _mm512_set1_epi64(INT64_MAX)));
    *ok = _mm512_cmp_pd_mask(x, _mm512_set1_pd(-512.0), _CMP_GE_OQ) & _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_LE_OQ)
        & _mm512_cmp_pd_mask(absYl, limit, _CMP_LE_OQ) & _mm512_cmp_pd_mask(yh, _mm512_set1_pd(1.0), _CMP_NEQ_UQ);
    // 2^e (e ≥ −739 in range: a normal double) times yh: exact.
    __m512d scale = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(e, _mm512_set1_epi64(1023)), 52));
    return _mm512_mul_pd(yh, scale);
#else
    (void)tab;
    *ok = 0;
    return x;
#endif
}

// dst[j] = exp(src[j] − m) for j < n (SUB = 0: exp(src[j])); src may be dst. Lanes the vector
// method cannot settle get their argument stored instead and a bit in a per-chunk mask; after each
// chunk those are passed to libm's `exp`. Returns their count.
#define EXP_CHUNK 1024
static inline __attribute__((always_inline)) ATTNSIM_AVX512 long expRun(const double *src, double m, long n, double *dst, const int SUB) {
    ExpTable tab = loadTable();
    const __m512d mv = _mm512_set1_pd(m);
    long fallbacks = 0;
    uint8_t slowMask[EXP_CHUNK / 8];
    for (long c0 = 0; c0 < n; c0 += EXP_CHUNK) {
        long c1 = n - c0 > EXP_CHUNK ? c0 + EXP_CHUNK : n;
        uint8_t any = 0;
        for (long j = c0; j < c1; j += 8) {
            __mmask8 msk = tailMask(c1 - j), ok;
            __m512d x = _mm512_maskz_loadu_pd(msk, src + j);
            if (SUB) x = _mm512_sub_pd(x, mv);
            __m512d y = expFast(x, &tab, &ok);
            __mmask8 slow = msk & (__mmask8)~ok;
            _mm512_mask_storeu_pd(dst + j, msk, _mm512_mask_blend_pd(slow, y, x));
            slowMask[(j - c0) >> 3] = slow;
            any |= slow;
        }
        if (!any) continue;
        for (long j = c0; j < c1; j += 8) {
            unsigned slow = slowMask[(j - c0) >> 3];
            while (slow) {
                int l = __builtin_ctz(slow);
                dst[j + l] = exp(dst[j + l]);
                slow &= slow - 1;
                fallbacks++;
            }
        }
    }
    return fallbacks;
}

ATTNSIM_AVX512 long attnsim_ref_exp_f64(const double *x, long n, double *out) {
    pthread_once(&expOnce, expInit);
    return expRun(x, 0, n, out, 0);
}

// R rows (a compile-time constant after inlining): each row's max (the first of the greatest
// non-NaN scores, −∞ when none: lanes keep s > m, then the lanes' results by the same rule —
// which zero a ±0 maximum is cannot change s − m or e^(s − m)), e^(s − max) in place, the sums
// in key order (one chain per row, the rows' chains interleaved), the division.
static inline __attribute__((always_inline)) ATTNSIM_AVX512 long softmaxRows(double *const *p, const long *n, const int R) {
    long fallbacks = 0;
    double sum[ATTNSIM_REF_MAX_ROWS];
    long nmin = n[0];
    for (int r = 0; r < R; r++) {
        double *row = p[r];
        __m512d m8 = _mm512_set1_pd(-INFINITY);
        for (long j = 0; j < n[r]; j += 8) {
            __mmask8 msk = tailMask(n[r] - j);
            __m512d s = _mm512_maskz_loadu_pd(msk, row + j);
            m8 = _mm512_mask_mov_pd(m8, _mm512_mask_cmp_pd_mask(msk, s, m8, _CMP_GT_OQ), s);
        }
        double lanes[8], m = -INFINITY;
        _mm512_storeu_pd(lanes, m8);
        for (int l = 0; l < 8; l++) if (lanes[l] > m) m = lanes[l];
        fallbacks += expRun(row, m, n[r], row, 1);
        sum[r] = 0;
        if (n[r] < nmin) nmin = n[r];
    }
    for (long j = 0; j < nmin; j++)
        for (int r = 0; r < R; r++) sum[r] += p[r][j];
    for (int r = 0; r < R; r++) {
        for (long j = nmin; j < n[r]; j++) sum[r] += p[r][j];
        __m512d sv = _mm512_set1_pd(sum[r]);
        for (long j = 0; j < n[r]; j += 8) {
            __mmask8 msk = tailMask(n[r] - j);
            _mm512_mask_storeu_pd(p[r] + j, msk, _mm512_div_pd(_mm512_maskz_loadu_pd(msk, p[r] + j), sv));
        }
    }
    return fallbacks;
}

ATTNSIM_AVX512 long attnsim_ref_softmax_f64_rows(double *const *p, int rows, const long *n) {
    pthread_once(&expOnce, expInit);
    if (rows < 1) return 0;
    if (rows > ATTNSIM_REF_MAX_ROWS) rows = ATTNSIM_REF_MAX_ROWS;  // callers check
    switch (rows) {
    case 1: return softmaxRows(p, n, 1);
    case 2: return softmaxRows(p, n, 2);
    case 3: return softmaxRows(p, n, 3);
    default: return softmaxRows(p, n, 4);
    }
}
#else
long attnsim_ref_exp_f64(const double *x, long n, double *out) {
    for (long j = 0; j < n; j++) out[j] = exp(x[j]);
    return n;
}
long attnsim_ref_softmax_f64_rows(double *const *p, int rows, const long *n) {
    (void)p; (void)rows; (void)n;
    return 0;
}
void attnsim_ref_exp_constants(double *tableHi, double *tableLo, double *ln2) {
    (void)tableHi; (void)tableLo; (void)ln2;
}
#endif
