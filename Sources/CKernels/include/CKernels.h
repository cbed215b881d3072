// CKernels — x86 AVX-512 kernels for the functional model, behind a run-time CPU check.
// Every kernel has a portable Swift twin in the Accelerator target; tests compare them bit for bit.
#ifndef ATTNSIM_CKERNELS_H
#define ATTNSIM_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Largest head dimension `attnsim_qk_i8_vnni` takes.
#define ATTNSIM_QK_MAX_D 4096

/// 1 when this CPU (and OS) runs AVX-512 F, BW, VL and VNNI, 0 otherwise (always 0 off x86-64).
int attnsim_has_avx512_vnni(void);

/// Bytes `attnsim_qk_pack_i8` writes for `tokens` keys of dimension `d`: keys padded to a multiple
/// of 16, dimensions to a multiple of 4.
long attnsim_qk_packed_bytes(long tokens, long d);

/// Packs int8 key codes k[tokens][d] (each in [-128, 127]) for `attnsim_qk_i8_vnni`: blocks of
/// 16 keys, in each block d/4 groups of [16 keys][4 dimensions], zero padded. Writes
/// ksum[j] = Σ_c k[j][c] (for the offset correction) for j < tokens. Portable C.
void attnsim_qk_pack_i8(const int32_t *k, long tokens, long d, int8_t *packed, int32_t *ksum);

/// out[j] = Σ_c q[c]·k[j][c] for j < n, exact in Int32, for int8 codes q[c] in [-128, 127] and the
/// keys packed by `attnsim_qk_pack_i8`. With `vpdpbusd` (unsigned × signed bytes, four products
/// summed into each Int32 lane): Σ (q[c] + 128)·k[c] − 128·Σ k[c]. Every partial sum of the
/// first term lies in [−d·255·128, d·255·127], exact in Int32 for every d ≤ ATTNSIM_QK_MAX_D; the
/// correction is exact modulo 2³², so the result is exact whenever the true Σ q·k fits Int32. Requires attnsim_has_avx512_vnni().
void attnsim_qk_i8_vnni(const int32_t *q, long d, const int8_t *packed, const int32_t *ksum, long n, int32_t *out);

/// Most query rows `attnsim_qk_i8_vnni_rows` takes at once.
#define ATTNSIM_QK_MAX_ROWS 4

/// `attnsim_qk_i8_vnni` for `rows` (1 … ATTNSIM_QK_MAX_ROWS) query rows q + r·qStride against the
/// same n packed keys: out[r·outStride + j] = Σ_c q_r[c]·k[j][c], the same Int32 as the one-row
/// kernel. Each 64-byte block of K is loaded once for all rows (register-blocked micro-kernel:
/// rows × 64 keys per pass). Requires attnsim_has_avx512_vnni().
void attnsim_qk_i8_vnni_rows(const int32_t *q, long qStride, int rows, long d, const int8_t *packed,
                             const int32_t *ksum, long n, int32_t *out, long outStride);

/// The functional model's exact reference scores: out[j] = (Σ_c (double)q[c]·(double)kt(j, c)) · scale
/// for j < n, each sum in order c = 0, 1, … with one rounding per addition and no fused multiply-add
/// (the products of two floats are exact in double), so the doubles equal a scalar loop's. Keys come
/// transposed in blocks of 8 (`kt[(j / 8 · d + c) · 8 + j % 8]`, `attnsim_transpose8_f32`); eight keys
/// per 512-bit register. Requires attnsim_has_avx512_vnni() (uses AVX-512 F and VL).
void attnsim_ref_scores_f64(const float *q, const float *kt, long d, long n, double scale, double *out);

/// Writes `attnsim_ref_scores_f64`'s key layout of k[tokens][d] into kt (blocks of 8 keys, zero
/// padded: (tokens + 7) / 8 · 8 · d floats). Portable C.
void attnsim_transpose8_f32(const float *k, long tokens, long d, float *kt);

/// o[c] = Σ over j < n with p[j] > 0 of p[j]·(double)v[j][c], in order j = 0, 1, …, starting from +0,
/// one rounding per multiply and per addition (no fused multiply-add): the reference P·V. Requires
/// attnsim_has_avx512_vnni() (uses AVX-512 F only).
void attnsim_ref_pv_f64(const double *p, const float *v, long d, long n, double *o);

/// Most query rows `attnsim_ref_scores_f64_rows` and `attnsim_ref_pv_f64_rows` take at once.
#define ATTNSIM_REF_MAX_ROWS 4

/// `attnsim_ref_scores_f64` for `rows` (1 … ATTNSIM_REF_MAX_ROWS) query rows q[r] against the same
/// transposed keys: out[r][j] for j < n[r] (the rows may see different numbers of keys), the same
/// Doubles as the one-row kernel (each (row, key) sum is its own chain over c in order; each key
/// block is converted once for all rows). Writes nothing past out[r][n[r] − 1]. Requires
/// attnsim_has_avx512_vnni() (uses AVX-512 F and VL).
void attnsim_ref_scores_f64_rows(const float *const *q, int rows, const float *kt, long d, const long *n,
                                 double scale, double *const *out);

/// `attnsim_ref_pv_f64` for `rows` (1 … ATTNSIM_REF_MAX_ROWS) probability rows p[r] over the first
/// n[r] rows of the same V: o[r][c], the same Doubles as the one-row kernel (each row's sums in
/// order j = 0, 1, …; each V row is loaded once for all rows). Requires attnsim_has_avx512_vnni().
void attnsim_ref_pv_f64_rows(const double *const *p, int rows, const float *v, long d, const long *n, double *const *o);

/// e^x for x[0..<n] into out: exactly the C library's `exp(x[j])` for every input. With glibc
/// 2.28 or later a vector method computes e^x to about 2^-63 relative, and where its double is
/// provably the one glibc's `exp` returns (glibc's documented error bound, under 0.511 ulp: see
/// softmax.c and docs/performance.md) it is used; every other input (about 2.6% in [−512, 0], every
/// input outside that range, NaN, infinities) calls `exp`. Returns the number of inputs that called
/// `exp`. Requires attnsim_has_avx512_vnni() (uses AVX-512 F).
long attnsim_ref_exp_f64(const double *x, long n, double *out);

/// The reference softmax of `rows` (1 … ATTNSIM_REF_MAX_ROWS) score rows p[r][0..<n[r]], in place:
/// m = the greatest score (comparisons s > m from −∞, as the Swift loop), e[j] = exp(s[j] − m)
/// (`attnsim_ref_exp_f64`'s doubles, i.e. libm's), Σ e in order j = 0, 1, … from +0, then e[j] / Σ —
/// `ExactSoftmax.softmax` (ReferenceDouble) row by row, the same Doubles. Returns the count of
/// exponentials that called `exp`. Requires attnsim_has_avx512_vnni().
long attnsim_ref_softmax_f64_rows(double *const *p, int rows, const long *n);

/// The start-up constants of `attnsim_ref_exp_f64`, for tests: 2^(j/256) = tableHi[j] + tableLo[j]
/// for j < 256 and ln 2 = ln2[0] + ln2[1] (double-double).
void attnsim_ref_exp_constants(double *tableHi, double *tableLo, double *ln2);

/// *a = the number of j < n with x[j] < ta, *b = with x[j] < tb (NaN counts in neither): the
/// functional model's exact-probability counters. Requires attnsim_has_avx512_vnni() (AVX-512 F).
void attnsim_count_below_f64(const double *x, long n, double ta, double tb, long *a, long *b);

/// The number of NaNs in x[0..<n]. Requires attnsim_has_avx512_vnni() (AVX-512 F).
long attnsim_count_nan_f64(const double *x, long n);

/// k up to which the top-k candidates split a row into 4k blocks (k blocks above).
#define ATTNSIM_TOPK_SMALL_K 64

/// The top-k selection's candidates (`FunctionalAttention.topKCandidates`, its portable twin):
/// with m = min(4k, n) blocks when k ≤ ATTNSIM_TOPK_SMALL_K, else m = k, and bound = the k-th
/// largest of the block maxima max s[b·n/m ..< (b+1)·n/m] (0 < k < n, no NaN in s), the indices
/// j < n with s[j] >= bound in increasing order into out; returns their count (at least k).
/// Writes nothing past it. Requires attnsim_has_avx512_vnni() (uses AVX-512 F).
long attnsim_topk_candidates_f64(const double *s, long n, long k, long *out);

/// The accelerated datapath's P·V on quantized V: for m = 0, 1, …, count − 1 in order and every
/// c < d, o[c] += w[m] · ((double)v[rows[m]·d + c] · vscale[c]) — the kept rows' quantized
/// probabilities times the dequantized V codes (code × the scale of its dimension), one rounding
/// per multiply and per addition, no fused multiply-add: the Doubles of the portable Swift loop.
/// o holds the starting values. Requires attnsim_has_avx512_vnni() (uses AVX-512 F and VL).
void attnsim_pv_codes_f64(const int32_t *rows, const double *w, long count, const int32_t *v, long d,
                          const double *vscale, double *o);

/// Σ over `iterations` of 8 independent `vpdpbusd` on registers (no loads or stores in the loop):
/// 8 × 64 = 512 8-bit MACs per iteration. Returns a checksum so that nothing is optimized away.
/// Requires attnsim_has_avx512_vnni().
int32_t attnsim_vnni_peak_loop(long iterations, int32_t seed);

/// The same checksum computed with plain scalar C (tests the loop computes what it claims).
int32_t attnsim_vnni_peak_loop_reference(long iterations, int32_t seed);

#ifdef __cplusplus
}
#endif

#endif
