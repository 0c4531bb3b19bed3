/*
 * An example bayesrg run-time plugin written in C: the Rayleigh family
 * p(y | sigma) = y / sigma^2 * exp(-y^2 / (2 sigma^2)), y > 0, sigma > 0.
 *
 *   score   d/dsigma ln p = -2/sigma + y^2/sigma^3
 *   Fisher  I(sigma) = 4 / sigma^2
 *   KL      KL(s1 || s2) = 2 ln(s2/s1) + s1^2/s2^2 - 1
 *
 * Build:  cc -O2 -shared -fPIC -I ../api/include rayleigh.c -lm -o librayleigh.so
 * Use:    bayesrg fisher --plugin ./librayleigh.so config.toml
 *         with [model] type = "c-example/rayleigh" (no parameters).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "bayesrg_plugin.h"

/* The model has no parameters of its own, so one static instance serves all. */
static int instance_token;

static brg_status create(const char *params, void **out, char *err, size_t cap) {
    /* Accept only an empty JSON object ("{}" with any whitespace). */
    const char *p = params;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (*p++ != '{') goto bad;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (*p++ != '}') goto bad;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (*p != '\0') goto bad;
    *out = &instance_token;
    return BRG_OK;
bad:
    brg_write_message(err, cap, "c-example/rayleigh takes no parameters (expected {})");
    return BRG_ERROR;
}

static void destroy(void *inst) { (void)inst; }

BRG_FIXED_DIMS(1, 1)
BRG_ONE_POSITIVE_PARAM("sigma")

static brg_status log_likelihood(const void *inst, const double *theta, size_t d,
                                 const double *y, size_t m, double *out,
                                 char *err, size_t cap) {
    double s = theta[0];
    (void)inst; (void)d; (void)m; (void)err; (void)cap;
    *out = y[0] > 0.0 ? log(y[0]) - 2.0 * log(s) - y[0] * y[0] / (2.0 * s * s) : -INFINITY;
    return BRG_OK;
}

/* Inversion, y = sigma sqrt(-2 ln u), from a generator started from the
   host's seed for this draw (the header's brg_rng: the same seed always gives
   the same draw, on any thread). */
static brg_status sample(const void *inst, const double *theta, size_t d, uint64_t seed,
                         double *out, size_t m, char *err, size_t cap) {
    brg_rng r = brg_rng_new(seed);
    (void)inst; (void)d; (void)m; (void)err; (void)cap;
    out[0] = theta[0] * sqrt(-2.0 * log(brg_rng_uniform(&r)));
    return BRG_OK;
}

static brg_status score(const void *inst, const double *theta, size_t d, const double *y,
                        size_t m, double *out, char *err, size_t cap) {
    double s = theta[0];
    (void)inst; (void)d; (void)m; (void)err; (void)cap;
    out[0] = -2.0 / s + y[0] * y[0] / (s * s * s);
    return BRG_OK;
}

static brg_status fisher(const void *inst, const double *theta, size_t d, double *out,
                         char *err, size_t cap) {
    (void)inst; (void)d; (void)err; (void)cap;
    out[0] = 4.0 / (theta[0] * theta[0]);
    return BRG_OK;
}

static brg_status kl(const void *inst, const double *a, const double *b, size_t d,
                     double *out, char *err, size_t cap) {
    double r = a[0] / b[0];
    (void)inst; (void)d; (void)err; (void)cap;
    *out = -2.0 * log(r) + r * r - 1.0;
    return BRG_OK;
}

static const double example_theta[] = {1.5};

static const brg_model_entry models[] = {{
    "c-example/rayleigh",
    "Rayleigh distribution in its scale sigma, run-time plugin written in C",
    "{}",
    example_theta,
    1,
    create, destroy, dim, obs_dim, param_name, check_params,
    log_likelihood, sample, score, fisher, kl,
}};

BRG_EXPORT const brg_plugin_header BAYESRG_PLUGIN_HEADER =
    BRG_HEADER("c-example", "0.1.0", models);
