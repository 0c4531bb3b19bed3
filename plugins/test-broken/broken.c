/*
 * Deliberately broken bayesrg plugins for the loader's tests. One source, one
 * small library per -D flag (tests/plugins.rs builds each with `cc`):
 *
 *   -DNO_HEADER            exports no BAYESRG_PLUGIN_HEADER symbol
 *   -DABI_MAJOR=99         a future, incompatible ABI major version
 *   -DTARGET='"sparc-plan9"'  built for another target
 *   -DTAG='"normal"'       a tag that collides with a built-in model type
 *   -DFAIL=1               create() reports an error
 *   -DFAIL=2               log_likelihood() and sample() report an error
 *
 * Without flags it is a valid plugin "broken/flat": y ~ U(0, 1) whatever theta.
 */
#include "bayesrg_plugin.h"

#ifndef ABI_MAJOR
#define ABI_MAJOR BRG_ABI_MAJOR
#endif
#ifndef TARGET
#define TARGET BRG_TARGET
#endif
#ifndef TAG
#define TAG "broken/flat"
#endif
#ifndef FAIL
#define FAIL 0
#endif

static int token;

static brg_status create(const char *params, void **out, char *err, size_t cap) {
    (void)params;
    if (FAIL == 1) {
        brg_write_message(err, cap, "the broken plugin refuses to create a model");
        return BRG_ERROR;
    }
    *out = &token;
    return BRG_OK;
}
static void destroy(void *inst) { (void)inst; }
static brg_status one(const void *inst, size_t *out, char *err, size_t cap) {
    (void)inst; (void)err; (void)cap;
    *out = 1;
    return BRG_OK;
}
static brg_status name(const void *inst, size_t i, char *buf, size_t n, char *err, size_t cap) {
    (void)inst; (void)i; (void)err; (void)cap;
    brg_write_message(buf, n, "a");
    return BRG_OK;
}
static brg_status check(const void *inst, const double *t, size_t d, char *err, size_t cap) {
    (void)inst; (void)t; (void)d; (void)err; (void)cap;
    return BRG_OK;
}
static brg_status loglik(const void *inst, const double *t, size_t d, const double *y,
                         size_t m, double *out, char *err, size_t cap) {
    (void)inst; (void)t; (void)d; (void)m;
    if (FAIL == 2) {
        brg_write_message(err, cap, "log_likelihood failed on purpose");
        return BRG_ERROR;
    }
    *out = (y[0] > 0.0 && y[0] < 1.0) ? 0.0 : -1.0 / 0.0;
    return BRG_OK;
}
static brg_status sample(const void *inst, const double *t, size_t d, uint64_t seed,
                         double *out, size_t m, char *err, size_t cap) {
    (void)inst; (void)t; (void)d; (void)m;
    if (FAIL == 2) {
        brg_write_message(err, cap, "sample failed on purpose");
        return BRG_ERROR;
    }
    out[0] = ((double)(seed >> 11) + 0.5) / 9007199254740992.0;
    return BRG_OK;
}

static const double theta0[] = {0.0};

static const brg_model_entry models[] = {{
    TAG, "a deliberately broken test plugin", "{}", theta0, 1,
    create, destroy, one, one, name, check, loglik, sample, NULL, NULL, NULL,
}};

#ifndef NO_HEADER
BRG_EXPORT const brg_plugin_header BAYESRG_PLUGIN_HEADER = {
    BRG_MAGIC, ABI_MAJOR, BRG_ABI_MINOR, (uint32_t)sizeof(brg_plugin_header),
    (uint32_t)sizeof(brg_model_entry), TARGET, "broken", "0.0.0", 1, models};
#else
BRG_EXPORT const brg_model_entry *not_a_header = models;
#endif
