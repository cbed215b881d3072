// The reference softmax's vector e^x (Sources/CKernels/softmax.c, attnsim_ref_exp_f64) against
// libm's exp, bit for bit, on many inputs (docs/performance.md, "The exact reference without
// glibc's exp calls"). Build and run from the package root:
//   clang -O2 -ISources/CKernels/include Scripts/ref_exp_check.c Sources/CKernels/softmax.c \
//       Sources/CKernels/kernels.c -lm -lpthread -o /tmp/ref_exp_check
//   /tmp/ref_exp_check 1000000000          # blocks of 65,536 inputs cycling through modes 0-5
//   MODE=1 /tmp/ref_exp_check 500000000    # only mode 1 (s - max in [-40, 0])
// Exits 1 when any result differs. Needs an AVX-512 CPU (attnsim_has_avx512_vnni).
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include "CKernels.h"
static uint64_t st = 88172645463325252ull;
static uint64_t rnd(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return st; }
static double u01(void) { return (rnd() >> 11) * 0x1p-53; }
int main(int argc, char **argv) {
    if (!attnsim_has_avx512_vnni()) { fprintf(stderr, "ref_exp_check: needs AVX-512 (VNNI)\n"); return 2; }
    long total = argc > 1 ? atol(argv[1]) : 10000000;
    const long B = 1 << 16;
    double *x = malloc(B * 8), *y = malloc(B * 8);
    long bad = 0, fb = 0, cnt = 0;
    double tk = 0, tg = 0;
    for (long done = 0; done < total; done += B) {
        int mode = getenv("MODE") ? atoi(getenv("MODE")) : (int)((done / B) % 6);
        for (long i = 0; i < B; i++) {
            switch (mode) {
            case 0: x[i] = -512 * u01(); break;
            case 1: x[i] = -40 * u01(); break;
            case 2: x[i] = -ldexp(u01(), -(int)(rnd() % 60)); break;        // near 0, all scales
            case 3: { long k = -(long)(rnd() % 23700); x[i] = k * (M_LN2 / 32) + (u01() - 0.5) * 1e-12; } break; // near table points
            case 4: { uint64_t b = rnd() | (1ull << 63); memcpy(&x[i], &b, 8); } break; // any negative double, NaN, -inf
            default: x[i] = (u01() - 0.5) * 1500; break;                  // both signs, beyond the range
            }
        }
        struct timespec a, b2, c;
        clock_gettime(CLOCK_MONOTONIC, &a);
        fb += attnsim_ref_exp_f64(x, B, y);
        clock_gettime(CLOCK_MONOTONIC, &b2);
        for (long i = 0; i < B; i++) {
            double g = exp(x[i]);
            if (memcmp(&g, &y[i], 8) != 0) { if (bad < 10) printf("DIFF x=%a glibc=%a got=%a\n", x[i], g, y[i]); bad++; }
        }
        clock_gettime(CLOCK_MONOTONIC, &c);
        tk += (b2.tv_sec - a.tv_sec) + 1e-9 * (b2.tv_nsec - a.tv_nsec);
        tg += (c.tv_sec - b2.tv_sec) + 1e-9 * (c.tv_nsec - b2.tv_nsec);
        cnt += B;
    }
    printf("inputs %ld, differing %ld, fallbacks %ld (%.3f%%), kernel %.2f ns/input, glibc loop+compare %.2f ns/input\n",
           cnt, bad, fb, 100.0 * fb / cnt, 1e9 * tk / cnt, 1e9 * tg / cnt);
    return bad != 0;
}
