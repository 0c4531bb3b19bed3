/*
 * An example bayesrg plugin with SDE terms (ABI 1.1), written in C: the
 * d-dimensional Ornstein-Uhlenbeck process, coordinate by coordinate,
 *
 *   dY_i = rate (mean - Y_i) dtau + sigma dW_i        (eqs. 45-46, Ito)
 *
 *   drift                a_i(y, tau) = rate (mean - y_i)
 *   diffusion            b_i(y, tau) = sigma
 *   diffusion_derivative db_i/dy_i   = 0            (Milstein)
 *
 * Its law from y0 is Gaussian, mean + (y0 - mean) e^{-rate tau}, variance
 * sigma^2 (1 - e^{-2 rate tau}) / (2 rate), per coordinate.
 *
 * Parameters (JSON, every key optional): rate (default 1), mean (0),
 * sigma (1), dim (1), and, to try the host's checks, fail_after: from this
 * tau on, `fail` = 1 makes the drift return NaN, 2 makes it report an error
 * as a Rust plugin reports a caught panic (BRG_PANIC).
 *
 * Build:  cc -O2 -shared -fPIC -I ../api/include ou_sde.c -o libou_sde.so
 * Use:    bayesrg sde --plugin ./libou_sde.so config.toml with
 *         [drift]     type = "plugin"
 *         drift.terms = { type = "ou-sde/ou", rate = 2.0, sigma = 0.5 }
 *         (and the same under [diffusion]); docs/sde.md has a whole config.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "bayesrg_plugin.h"

typedef struct ou {
    double rate, mean, sigma, fail_after;
    size_t dim;
    int fail;
} ou;

static int read_number(const char *json, const char *key, double *out, double dflt,
                       char *err, size_t cap) {
    char msg[128];
    int st = brg_json_number(json, key, out);
    if (st == 0) *out = dflt;
    if (st < 0) {
        snprintf(msg, sizeof msg, "ou-sde/ou: `%s` must be a number", key);
        brg_write_message(err, cap, msg);
        return 0;
    }
    return 1;
}

static brg_status create(const char *params, void **out, char *err, size_t cap) {
    ou o;
    double dim, fail;
    if (!read_number(params, "rate", &o.rate, 1.0, err, cap) ||
        !read_number(params, "mean", &o.mean, 0.0, err, cap) ||
        !read_number(params, "sigma", &o.sigma, 1.0, err, cap) ||
        !read_number(params, "dim", &dim, 1.0, err, cap) ||
        !read_number(params, "fail", &fail, 0.0, err, cap) ||
        !read_number(params, "fail_after", &o.fail_after, INFINITY, err, cap))
        return BRG_ERROR;
    if (!(dim >= 1.0 && dim <= 64.0 && dim == floor(dim))) {
        brg_write_message(err, cap, "ou-sde/ou: `dim` must be an integer from 1 to 64");
        return BRG_ERROR;
    }
    o.dim = (size_t)dim;
    o.fail = (int)fail;
    ou *p = malloc(sizeof *p);
    if (p == NULL) {
        brg_write_message(err, cap, "ou-sde/ou: out of memory");
        return BRG_ERROR;
    }
    *p = o;
    *out = p;
    return BRG_OK;
}

static void destroy(void *inst) { free(inst); }

static brg_status dim(const void *inst, size_t *out, char *err, size_t cap) {
    (void)err; (void)cap;
    *out = ((const ou *)inst)->dim;
    return BRG_OK;
}

static brg_status drift(const void *inst, const double *y, size_t d, double tau,
                        double *out, char *err, size_t cap) {
    const ou *o = inst;
    size_t i;
    if (tau >= o->fail_after && o->fail == 2) {
        brg_write_message(err, cap, "drift panicked at ou_sde.c: deliberate failure");
        return BRG_PANIC;
    }
    for (i = 0; i < d; i++)
        out[i] = (tau >= o->fail_after && o->fail == 1) ? NAN : o->rate * (o->mean - y[i]);
    return BRG_OK;
}

static brg_status diffusion(const void *inst, const double *y, size_t d, double tau,
                            double *out, char *err, size_t cap) {
    size_t i;
    (void)y; (void)tau; (void)err; (void)cap;
    for (i = 0; i < d; i++) out[i] = ((const ou *)inst)->sigma;
    return BRG_OK;
}

static brg_status diffusion_derivative(const void *inst, const double *y, size_t d,
                                       double tau, double *out, char *err, size_t cap) {
    size_t i;
    (void)inst; (void)y; (void)tau; (void)err; (void)cap;
    for (i = 0; i < d; i++) out[i] = 0.0;
    return BRG_OK;
}

static const brg_sde_entry terms[] = {{
    "ou-sde/ou",
    "Ornstein-Uhlenbeck dY = rate (mean - Y) dtau + sigma dW, per coordinate",
    "{\"rate\":1.0,\"sigma\":1.0}",
    create, destroy, dim, drift, diffusion, diffusion_derivative,
}};

BRG_EXPORT const brg_plugin_header BAYESRG_PLUGIN_HEADER =
    BRG_SDE_HEADER("ou-sde", "0.1.0", terms);
