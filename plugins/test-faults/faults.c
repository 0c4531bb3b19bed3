/*
 * A fault-injection plugin for bayesrg's tests, written in C. Without flags it
 * is a valid plugin "faulty/normal": the normal family in (mu, sigma) with its
 * exact score, Fisher metric diag(1/sigma^2, 2/sigma^2) and KL divergence.
 * tests/plugin_faults.rs builds one small library per case with `cc`:
 *
 *   -DFAULT=N   which fault (see the list below), in the function
 *   -DIN=K      IN_LOGLIK, IN_SAMPLE, IN_SCORE, IN_FISHER, IN_KL, IN_CREATE,
 *               IN_CHECK or IN_DIM
 *   -DWHEN_STAGING  fire only once the folder named by the environment variable
 *               BRG_FAULT_WATCH holds a staging folder (".NAME.partial-PID"),
 *               i.e. while a result folder is being written
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bayesrg_plugin.h"

/* Macros, not an enum: the preprocessor tests some of them in #if. */
#define F_NONE 0
#define F_ABORT 1       /* abort() */
#define F_NULL 2        /* a write through a null pointer */
#define F_STACK 3       /* unbounded recursion: a stack overflow */
#define F_OVERRUN 4     /* writes two values past the end of the output */
#define F_EXIT0 5       /* exit(0) */
#define F_LOOP 6        /* never returns */
#define F_NAN 7         /* NaN result */
#define F_INF 8         /* +inf result */
#define F_STATUS 9      /* BRG_ERROR where the host has no error channel */
#define F_DIM0 10       /* dim() = 0 */
#define F_DIM_HUGE 11   /* dim() = 65536 */
#define F_CTOR_ABORT 12 /* a constructor that aborts while the library loads */
#define F_COUNT 13      /* n_models far past the end of the table */
#define F_THETA_LEN 14  /* example theta of 3 entries for 2 parameters */
#define F_NEG_INF 15    /* -inf log-likelihood: allowed (outside the support) */

#define IN_LOGLIK 1
#define IN_SAMPLE 2
#define IN_SCORE 3
#define IN_FISHER 4
#define IN_KL 5
#define IN_CREATE 6
#define IN_CHECK 7
#define IN_DIM 8

#ifndef FAULT
#define FAULT F_NONE
#endif
#ifndef IN
#define IN 0
#endif

/* Whether the fault fires now (see -DWHEN_STAGING). */
static int armed(void) {
#ifdef WHEN_STAGING
    const char *dir = getenv("BRG_FAULT_WATCH");
    DIR *d;
    struct dirent *e;
    int found = 0;
    if (dir == NULL || (d = opendir(dir)) == NULL) return 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] == '.' && strstr(e->d_name, ".partial-") != NULL) found = 1;
    closedir(d);
    return found;
#else
    return 1;
#endif
}

static volatile int depth_sink;
/* Null, but the compiler cannot know it (a store through a literal null
   pointer may be dropped as undefined behaviour). */
static double *volatile null_pointer = 0;
static int recurse(int n) {
    volatile char pad[4096];
    pad[0] = (char)n;
    depth_sink = pad[0];
    return recurse(n + 1) + pad[0];
}

/* The faults that end or stop the process; the others are done in place. */
static void fatal_fault(void) {
    switch (FAULT) {
    case F_ABORT: abort();
    case F_NULL: *null_pointer = 1.0; break;
    case F_STACK: depth_sink = recurse(0); break;
    case F_EXIT0: exit(0);
    case F_LOOP: for (;;) depth_sink++;
    default: break;
    }
}

#define HERE(where) (IN == (where) && armed())

#if FAULT == F_CTOR_ABORT
__attribute__((constructor)) static void abort_on_load(void) { abort(); }
#endif

static int token;

static brg_status create(const char *params, void **out, char *err, size_t cap) {
    (void)params;
    if (HERE(IN_CREATE)) {
        fatal_fault();
        if (FAULT == F_STATUS) {
            brg_write_message(err, cap, "create failed on purpose");
            return BRG_ERROR;
        }
    }
    *out = &token;
    return BRG_OK;
}
static void destroy(void *inst) { (void)inst; }
static brg_status dim(const void *inst, size_t *out, char *err, size_t cap) {
    (void)inst; (void)err; (void)cap;
    *out = 2;
    if (FAULT == F_DIM0) *out = 0;
    if (FAULT == F_DIM_HUGE) *out = 65536;
    if (HERE(IN_DIM)) fatal_fault();
    return BRG_OK;
}
static brg_status obs_dim(const void *inst, size_t *out, char *err, size_t cap) {
    (void)inst; (void)err; (void)cap;
    *out = 1;
    return BRG_OK;
}
static brg_status param_name(const void *inst, size_t i, char *buf, size_t n, char *err,
                             size_t cap) {
    (void)inst;
    if (i > 1) {
        brg_write_message(err, cap, "two parameters");
        return BRG_ERROR;
    }
    brg_write_message(buf, n, i == 0 ? "mu" : "sigma");
    return BRG_OK;
}
static brg_status check(const void *inst, const double *t, size_t d, char *err, size_t cap) {
    (void)inst; (void)d;
    if (HERE(IN_CHECK)) fatal_fault();
    if (t[1] > 0.0) return BRG_OK;
    brg_write_message(err, cap, "parameter `sigma` must be > 0");
    return BRG_ERROR;
}
static brg_status loglik(const void *inst, const double *t, size_t d, const double *y,
                         size_t m, double *out, char *err, size_t cap) {
    double z = (y[0] - t[0]) / t[1];
    (void)inst; (void)d; (void)m;
    *out = -0.5 * z * z - log(t[1]) - 0.9189385332046727;
    if (HERE(IN_LOGLIK)) {
        fatal_fault();
        if (FAULT == F_NAN) *out = NAN;
        if (FAULT == F_INF) *out = INFINITY;
        if (FAULT == F_NEG_INF) *out = -INFINITY;
        if (FAULT == F_OVERRUN) out[1] = out[2] = 0.0;
        if (FAULT == F_STATUS) {
            brg_write_message(err, cap, "log_likelihood failed on purpose");
            return BRG_ERROR;
        }
    }
    return BRG_OK;
}
static brg_status sample(const void *inst, const double *t, size_t d, uint64_t seed,
                         double *out, size_t m, char *err, size_t cap) {
    brg_rng r = brg_rng_new(seed);
    (void)inst; (void)d;
    out[0] = t[0] + t[1] * brg_rng_normal(&r);
    if (HERE(IN_SAMPLE)) {
        fatal_fault();
        if (FAULT == F_NAN) out[0] = NAN;
        if (FAULT == F_INF) out[0] = INFINITY;
        if (FAULT == F_OVERRUN) out[m] = out[m + 1] = 0.0;
        if (FAULT == F_STATUS) {
            brg_write_message(err, cap, "sample failed on purpose");
            return BRG_ERROR;
        }
    }
    return BRG_OK;
}
static brg_status score(const void *inst, const double *t, size_t d, const double *y,
                        size_t m, double *out, char *err, size_t cap) {
    double z = (y[0] - t[0]) / t[1];
    (void)inst; (void)m; (void)err; (void)cap;
    out[0] = z / t[1];
    out[1] = (z * z - 1.0) / t[1];
    if (HERE(IN_SCORE)) {
        fatal_fault();
        if (FAULT == F_NAN) out[1] = NAN;
        if (FAULT == F_OVERRUN) out[d] = out[d + 1] = 0.0;
    }
    return BRG_OK;
}
static brg_status fisher(const void *inst, const double *t, size_t d, double *out, char *err,
                         size_t cap) {
    double v = 1.0 / (t[1] * t[1]);
    (void)inst; (void)err; (void)cap;
    out[0] = v; out[1] = 0.0; out[2] = 0.0; out[3] = 2.0 * v;
    if (HERE(IN_FISHER)) {
        fatal_fault();
        if (FAULT == F_NAN) out[3] = NAN;
        if (FAULT == F_OVERRUN) out[d * d] = out[d * d + 1] = 0.0;
    }
    return BRG_OK;
}
static brg_status kl(const void *inst, const double *a, const double *b, size_t d,
                     double *out, char *err, size_t cap) {
    double r = a[1] / b[1], dm = (a[0] - b[0]) / b[1];
    (void)inst; (void)d; (void)err; (void)cap;
    *out = 0.5 * (r * r + dm * dm - 1.0) - log(r);
    if (HERE(IN_KL)) {
        fatal_fault();
        if (FAULT == F_NAN) *out = NAN;
    }
    return BRG_OK;
}

#if FAULT == F_THETA_LEN
static const double theta0[] = {0.5, 1.5, 9.0};
#define THETA_LEN 3
#else
static const double theta0[] = {0.5, 1.5};
#define THETA_LEN 2
#endif

static const brg_model_entry models[] = {{
    "faulty/normal", "normal (mu, sigma) with injected faults", "{}", theta0, THETA_LEN,
    create, destroy, dim, obs_dim, param_name, check, loglik, sample, score, fisher, kl,
}};

#if FAULT == F_COUNT
#define N_MODELS 1000
#else
#define N_MODELS 1
#endif

BRG_EXPORT const brg_plugin_header BAYESRG_PLUGIN_HEADER = {
    BRG_MAGIC, BRG_ABI_MAJOR, BRG_ABI_MINOR, (uint32_t)sizeof(brg_plugin_header),
    (uint32_t)sizeof(brg_model_entry), BRG_TARGET, "faulty", "0.1.0", N_MODELS, models};
