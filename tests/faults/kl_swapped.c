/*
 * tests/faults/kl_swapped.c: the `bayesrg plugin new my-c --lang c` skeleton
 * (the exponential family in its rate), copied from the first-time user's
 * /work/tryout/cv/klswap.c (FINDINGS.md A3). Built by tests/kl_curvature_jeffreys_cli.rs
 * twice: as written (a correct KL) and with -DKL_SWAPPED (KL(l2 || l1) for
 * KL(l1 || l2)), which `bayesrg kl` must fail by its Monte Carlo z-test.
 */
/*
 * my-c: a bayesrg run-time model plugin written in C. The model is the
 * exponential family in its rate lambda, p(y | lambda) = lambda exp(-lambda y)
 * for y >= 0, lambda > 0, with
 *
 *   score   d ln p / d lambda = 1/lambda - y
 *   Fisher  I(lambda) = 1/lambda^2
 *   KL      KL(l1 || l2) = ln(l1/l2) + l2/l1 - 1
 *
 * Build:  cc -O2 -shared -fPIC -o libmy-c.so my-c.c -lm
 * Check:  bayesrg fisher example.toml
 *
 * Replace the model with yours: bayesrg's docs/plugins.md gives every function
 * and what the host checks; bayesrg_plugin.h states the ABI.
 */
#include <math.h>
#include <stdio.h>
#include "bayesrg_plugin.h"

/* The model has no parameters of its own, so one static instance serves all.
   With parameters, read them in create() with brg_json_number() and keep them
   in a struct allocated there and freed in destroy(). */
static int instance;

static brg_status create(const char *params, void **out, char *err, size_t cap) {
    /* The host passes compact JSON: "{}" when the config table has no keys. */
    if (strcmp(params, "{}") != 0) {
        brg_write_message(err, cap, "my-c/exponential takes no parameters");
        return BRG_ERROR;
    }
    *out = &instance;
    return BRG_OK;
}

static void destroy(void *inst) { (void)inst; }

BRG_FIXED_DIMS(1, 1)
BRG_ONE_POSITIVE_PARAM("lambda")

static brg_status log_likelihood(const void *inst, const double *theta, size_t d,
                                 const double *y, size_t m, double *out,
                                 char *err, size_t cap) {
    (void)inst; (void)d; (void)m; (void)err; (void)cap;
    *out = y[0] < 0.0 ? -INFINITY : log(theta[0]) - theta[0] * y[0];
    return BRG_OK;
}

/* One draw from the host's seed: a fresh generator per draw, never rand(). */
static brg_status sample(const void *inst, const double *theta, size_t d, uint64_t seed,
                         double *out, size_t m, char *err, size_t cap) {
    brg_rng r = brg_rng_new(seed);
    (void)inst; (void)d; (void)m; (void)err; (void)cap;
    out[0] = brg_rng_exponential(&r) / theta[0];
    return BRG_OK;
}

static brg_status score(const void *inst, const double *theta, size_t d, const double *y,
                        size_t m, double *out, char *err, size_t cap) {
    (void)inst; (void)d; (void)m; (void)err; (void)cap;
    out[0] = 1.0 / theta[0] - y[0];
    return BRG_OK;
}

static brg_status fisher(const void *inst, const double *theta, size_t d, double *out,
                         char *err, size_t cap) {
    (void)inst; (void)d; (void)err; (void)cap;
    out[0] = 1.0 / (theta[0] * theta[0]);
    return BRG_OK;
}

static brg_status kl(const void *inst, const double *a, const double *b, size_t d,
                     double *out, char *err, size_t cap) {
    (void)inst; (void)d; (void)err; (void)cap;
#ifdef KL_SWAPPED
    *out = log(b[0] / a[0]) + a[0] / b[0] - 1.0; /* KL(l2 || l1): the fault */
#else
    *out = log(a[0] / b[0]) + b[0] / a[0] - 1.0;
#endif
    return BRG_OK;
}

static const double example_theta[] = {2.0};

static const brg_model_entry models[] = {{
    "my-c/exponential",
    "exponential in its rate lambda (my-c plugin)",
    "{}",
    example_theta,
    1,
    create, destroy, dim, obs_dim, param_name, check_params,
    log_likelihood, sample, score, fisher, kl,
}};

BRG_EXPORT const brg_plugin_header BAYESRG_PLUGIN_HEADER =
    BRG_HEADER("my-c", "0.1.0", models);
