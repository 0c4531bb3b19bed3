/*
 * bayesrg_plugin.h: the C ABI of bayesrg run-time model plugins, version 1.0.
 *
 * It mirrors the Rust crate bayesrg-plugin-api (plugins/api/src/abi.rs), whose
 * docs state the rules in full; plugins/api/tests/header.rs checks that the two
 * agree on every struct size and offset, constant and random draw. In short:
 *
 *  - A plugin exports one symbol, BAYESRG_PLUGIN_HEADER, a const brg_plugin_header.
 *    The host checks magic, abi_major, the two struct sizes and the target string
 *    before it reads anything else.
 *  - Every function returns BRG_OK, BRG_ERROR or BRG_PANIC; on failure it writes a
 *    NUL-terminated UTF-8 message into the host-owned buffer err[err_cap].
 *  - Whoever allocates frees: the host owns every buffer it passes in; an
 *    instance made by create() is released by the host calling destroy().
 *  - Libraries are never unloaded; instances are immutable after create() and
 *    may be used from several threads at once.
 *  - score, fisher and kl may be NULL; every other function is required.
 *  - Matrices are row-major d x d arrays of double.
 *  - The host checks every result: a log-likelihood is finite or -INFINITY
 *    (outside the support), never NaN or +INFINITY; samples, scores and Fisher
 *    matrices are finite; nothing is written past the end of a buffer. A plugin
 *    that breaks a rule, crashes, calls exit() or hangs is stopped and named
 *    (docs/plugins.md, "Faults").
 *  - A minor version only appends fields (whose zero value means "absent") at
 *    the end of a struct; anything else changes the major version.
 *
 * Loading a plugin runs its code: bayesrg loads only the paths the user names.
 */
#ifndef BAYESRG_PLUGIN_H
#define BAYESRG_PLUGIN_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "BRGPLUG1" as a little-endian 64-bit integer. */
#define BRG_MAGIC UINT64_C(0x3147554C50475242)
#define BRG_ABI_MAJOR 1u
#define BRG_ABI_MINOR 1u

#define BRG_OK 0
#define BRG_ERROR 1
#define BRG_PANIC 2

/* The target string: ARCH-OS with Rust's std::env::consts names. */
#if defined(__x86_64__) || defined(_M_X64)
#define BRG_ARCH "x86_64"
#elif defined(__aarch64__) || defined(_M_ARM64)
#define BRG_ARCH "aarch64"
#elif defined(__i386__) || defined(_M_IX86)
#define BRG_ARCH "x86"
#elif defined(__riscv) && __riscv_xlen == 64
#define BRG_ARCH "riscv64"
#elif defined(__powerpc64__)
#define BRG_ARCH "powerpc64"
#else
#error "bayesrg_plugin.h: unknown architecture; define BRG_TARGET yourself"
#endif
#if defined(__linux__)
#define BRG_OS "linux"
#elif defined(__APPLE__)
#define BRG_OS "macos"
#elif defined(_WIN32)
#define BRG_OS "windows"
#elif defined(__FreeBSD__)
#define BRG_OS "freebsd"
#else
#error "bayesrg_plugin.h: unknown operating system; define BRG_TARGET yourself"
#endif
#ifndef BRG_TARGET
#define BRG_TARGET BRG_ARCH "-" BRG_OS
#endif

#if defined(_WIN32)
#define BRG_EXPORT __declspec(dllexport)
#else
#define BRG_EXPORT __attribute__((visibility("default")))
#endif

typedef int32_t brg_status;

typedef brg_status (*brg_create_fn)(const char *params_json, void **out,
                                    char *err, size_t err_cap);
typedef void (*brg_destroy_fn)(void *inst);
typedef brg_status (*brg_size_fn)(const void *inst, size_t *out,
                                  char *err, size_t err_cap);
typedef brg_status (*brg_param_name_fn)(const void *inst, size_t i,
                                        char *buf, size_t buf_cap,
                                        char *err, size_t err_cap);
typedef brg_status (*brg_check_fn)(const void *inst, const double *theta, size_t d,
                                   char *err, size_t err_cap);
typedef brg_status (*brg_loglik_fn)(const void *inst, const double *theta, size_t d,
                                    const double *y, size_t m, double *out,
                                    char *err, size_t err_cap);
typedef brg_status (*brg_sample_fn)(const void *inst, const double *theta, size_t d,
                                    uint64_t seed, double *out, size_t m,
                                    char *err, size_t err_cap);
typedef brg_status (*brg_score_fn)(const void *inst, const double *theta, size_t d,
                                   const double *y, size_t m, double *out,
                                   char *err, size_t err_cap);
typedef brg_status (*brg_fisher_fn)(const void *inst, const double *theta, size_t d,
                                    double *out, char *err, size_t err_cap);
typedef brg_status (*brg_kl_fn)(const void *inst, const double *theta1,
                                const double *theta2, size_t d, double *out,
                                char *err, size_t err_cap);

/* ABI 1.1: an SDE term at state y (length d) and time tau, d values into out:
   the drift a_i(y, tau), the diagonal diffusion b_i(y, tau) or db_i/dy_i. */
typedef brg_status (*brg_sde_term_fn)(const void *inst, const double *y, size_t d,
                                      double tau, double *out,
                                      char *err, size_t err_cap);

typedef struct brg_model_entry {
    const char *tag;            /* "plugin-name/model-name" */
    const char *summary;        /* one line */
    const char *example_params; /* JSON accepted by create, e.g. "{}" */
    const double *example_theta;
    size_t example_theta_len;
    brg_create_fn create;
    brg_destroy_fn destroy;
    brg_size_fn dim;
    brg_size_fn obs_dim;
    brg_param_name_fn param_name;
    brg_check_fn check_params;
    brg_loglik_fn log_likelihood;
    brg_sample_fn sample;
    brg_score_fn score;   /* may be NULL */
    brg_fisher_fn fisher; /* may be NULL */
    brg_kl_fn kl;         /* may be NULL */
} brg_model_entry;

typedef struct brg_plugin_header {
    uint64_t magic;            /* BRG_MAGIC */
    uint32_t abi_major;        /* BRG_ABI_MAJOR */
    uint32_t abi_minor;        /* BRG_ABI_MINOR */
    uint32_t header_size;      /* sizeof(brg_plugin_header) */
    uint32_t model_entry_size; /* sizeof(brg_model_entry) */
    const char *target;        /* BRG_TARGET */
    const char *name;          /* the namespace of the tags */
    const char *version;
    size_t n_models;
    const brg_model_entry *models;
    /* ABI 1.1 (zero in a plugin without SDE terms): */
    size_t sde_entry_size;           /* sizeof(brg_sde_entry) */
    size_t n_sde_terms;
    const struct brg_sde_entry *sde_terms;
} brg_plugin_header;

/* ABI 1.1: SDE terms dY = a(Y, tau) dtau + b(Y, tau) dW, diagonal noise (Ito),
   named in a `bayesrg sde` config as drift.terms / diffusion.terms. */
typedef struct brg_sde_entry {
    const char *tag;            /* "plugin-name/terms-name" */
    const char *summary;        /* one line */
    const char *example_params; /* JSON accepted by create, e.g. "{}" */
    brg_create_fn create;
    brg_destroy_fn destroy;
    brg_size_fn dim;            /* the state dimension d */
    brg_sde_term_fn drift;                /* may be NULL */
    brg_sde_term_fn diffusion;            /* may be NULL */
    brg_sde_term_fn diffusion_derivative; /* may be NULL (Milstein needs it) */
} brg_sde_entry;

/* Fills a header; use as: BRG_EXPORT const brg_plugin_header BAYESRG_PLUGIN_HEADER =
   BRG_HEADER("my-plugin", "0.1.0", my_models); */
#define BRG_HEADER(name, version, models)                                     \
    {BRG_MAGIC, BRG_ABI_MAJOR, BRG_ABI_MINOR, (uint32_t)sizeof(brg_plugin_header), \
     (uint32_t)sizeof(brg_model_entry), BRG_TARGET, (name), (version),         \
     sizeof(models) / sizeof((models)[0]), (models), 0, 0, NULL}

/* A header of a plugin with SDE terms only (no models):
   BRG_EXPORT const brg_plugin_header BAYESRG_PLUGIN_HEADER =
   BRG_SDE_HEADER("my-sde", "0.1.0", my_terms); */
#define BRG_SDE_HEADER(name, version, terms)                                  \
    {BRG_MAGIC, BRG_ABI_MAJOR, BRG_ABI_MINOR, (uint32_t)sizeof(brg_plugin_header), \
     (uint32_t)sizeof(brg_model_entry), BRG_TARGET, (name), (version), 0, NULL, \
     sizeof(brg_sde_entry), sizeof(terms) / sizeof((terms)[0]), (terms)}

/* Copies msg into a host buffer, NUL-terminated and truncated to fit. */
static inline void brg_write_message(char *buf, size_t cap, const char *msg) {
    size_t n;
    if (buf == NULL || cap == 0) return;
    n = strlen(msg);
    if (n > cap - 1) n = cap - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
}

/*
 * Boilerplate of a simple family, each macro defining static functions under
 * the names the model entry lists:
 *
 *   BRG_FIXED_DIMS(2, 1)           dim and obs_dim: d = 2 parameters and
 *                                  observations of length 1, whatever the
 *                                  instance
 *   BRG_ONE_POSITIVE_PARAM("rate") param_name and check_params of a family
 *                                  with one parameter, which must be > 0
 */
#define BRG_FIXED_DIMS(D, M)                                                   \
    static brg_status dim(const void *inst, size_t *out, char *err, size_t cap) { \
        (void)inst; (void)err; (void)cap;                                      \
        *out = (D);                                                            \
        return BRG_OK;                                                         \
    }                                                                          \
    static brg_status obs_dim(const void *inst, size_t *out, char *err, size_t cap) { \
        (void)inst; (void)err; (void)cap;                                      \
        *out = (M);                                                            \
        return BRG_OK;                                                         \
    }

#define BRG_ONE_POSITIVE_PARAM(NAME)                                           \
    static brg_status param_name(const void *inst, size_t i, char *buf, size_t buf_cap, \
                                 char *err, size_t cap) {                      \
        (void)inst;                                                            \
        if (i != 0) {                                                          \
            brg_write_message(err, cap, "the model has one parameter");        \
            return BRG_ERROR;                                                  \
        }                                                                      \
        brg_write_message(buf, buf_cap, (NAME));                               \
        return BRG_OK;                                                         \
    }                                                                          \
    static brg_status check_params(const void *inst, const double *theta, size_t d, \
                                   char *err, size_t cap) {                    \
        char msg[128];                                                         \
        (void)inst; (void)d;                                                   \
        if (theta[0] > 0.0) return BRG_OK;                                     \
        snprintf(msg, sizeof msg, "parameter `%s` = %g must be > 0", (NAME), theta[0]); \
        brg_write_message(err, cap, msg);                                      \
        return BRG_ERROR;                                                      \
    }

/*
 * Random numbers: the generator of the Rust crate's Rng, draw for draw.
 * xoshiro256++ (Blackman and Vigna) seeded with four SplitMix64 outputs.
 * A sampler gets a fresh 64-bit seed from the host for every draw; start a
 * generator from it and draw what the observation needs:
 *
 *     brg_rng r = brg_rng_new(seed);
 *     out[0] = theta[0] + theta[1] * brg_rng_normal(&r);
 *
 * Never use rand(), time() or a global generator: the same seed must give the
 * same draw, whatever the thread.
 */
typedef struct brg_rng {
    uint64_t s[4];
} brg_rng;

static inline uint64_t brg_splitmix64(uint64_t *x) {
    uint64_t z;
    *x += UINT64_C(0x9E3779B97F4A7C15);
    z = *x;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A generator seeded from the host's seed (any value, 0 included). */
static inline brg_rng brg_rng_new(uint64_t seed) {
    brg_rng r;
    int i;
    for (i = 0; i < 4; i++) r.s[i] = brg_splitmix64(&seed);
    return r;
}

static inline uint64_t brg_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* The next 64 random bits. */
static inline uint64_t brg_rng_next_u64(brg_rng *r) {
    uint64_t *s = r->s;
    uint64_t res = brg_rotl(s[0] + s[3], 23) + s[0];
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = brg_rotl(s[3], 45);
    return res;
}

/* Uniform on the open interval (0, 1): never 0 or 1, so log(u) is finite. */
static inline double brg_rng_uniform(brg_rng *r) {
    return ((double)(brg_rng_next_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal N(0, 1), Box-Muller (cosine branch, two uniforms). */
static inline double brg_rng_normal(brg_rng *r) {
    double u = brg_rng_uniform(r), v = brg_rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Standard exponential Exp(1), by inversion. */
static inline double brg_rng_exponential(brg_rng *r) { return -log(brg_rng_uniform(r)); }

/*
 * Parameters: create() receives the model's config table without its `type`
 * key as compact JSON text, keys sorted, integers written as integers:
 *     [model]
 *     type = "my-plugin/my-model"        ->   {"k":3,"scale":0.5}
 *     scale = 0.5
 *     k = 3
 * and "{}" when there are none. brg_json_number reads a top-level number:
 * it returns 1 and sets *out when `key` holds a number, 0 when the key is
 * absent, -1 when it holds something else (or the text is not an object).
 */
static inline int brg_json_number(const char *json, const char *key, double *out) {
    const char *p = json;
    int depth = 0, expect_key = 0;
    size_t klen;
    if (json == NULL || key == NULL) return -1;
    klen = strlen(key);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != '{') return -1;
    while (*p) {
        char c = *p;
        if (c == '"') {
            const char *s = ++p;
            size_t n;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                p++;
            }
            if (!*p) return -1;
            n = (size_t)(p - s);
            p++;
            if (depth == 1 && expect_key) {
                expect_key = 0;
                if (n == klen && strncmp(s, key, n) == 0) {
                    char *end;
                    double v;
                    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
                    if (*p != ':') return -1;
                    p++;
                    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
                    if (!(*p == '-' || (*p >= '0' && *p <= '9'))) return -1;
                    v = strtod(p, &end);
                    if (end == p) return -1;
                    *out = v;
                    return 1;
                }
            }
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
            expect_key = (c == '{' && depth == 1);
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            expect_key = 1;
        }
        p++;
    }
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* BAYESRG_PLUGIN_H */
