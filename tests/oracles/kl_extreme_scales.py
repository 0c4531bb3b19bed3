"""KL divergences (eq. 30) at extreme scales by mpmath at 80 digits, of the f64
inputs: oracles independent of the closed forms in models/src and of the exact
sum over the support (tryout 8, G3 and G13; cases copied from
/work/try8/kl/klx.py and /work/try8/FINDINGS.md).

Also the gamma Jeffreys ln √det I at tiny shapes (G14).

Run: /work/venv/bin/python tests/oracles/kl_extreme_scales.py
The printed values are pasted into tests/kl_curvature_jeffreys_cli.rs
(`kl_at_extreme_scales_matches_mpmath`).
"""
from mpmath import mp, mpf, log, log1p, loggamma, digamma

mp.dps = 80


def betaln(a, b):
    return loggamma(a) + loggamma(b) - loggamma(a + b)


def beta(a, b):
    a1, b1 = map(mpf, a)
    a2, b2 = map(mpf, b)
    return (betaln(a2, b2) - betaln(a1, b1) + (a1 - a2) * digamma(a1)
            + (b1 - b2) * digamma(b1) + (a2 - a1 + b2 - b1) * digamma(a1 + b1))


def categorical(a, b):
    # The last class by log1p: 1 − 2·10⁻³⁰⁰ is 1 even at 80 digits.
    p = [mpf(x) for x in a]
    q = [mpf(x) for x in b]
    last = (1 - sum(p)) * (log1p(-sum(p)) - log1p(-sum(q)))
    return sum(x * log(x / y) for x, y in zip(p, q)) + last


def poisson(a, b):
    l1, l2 = mpf(a[0]), mpf(b[0])
    return l1 * log(l1 / l2) - l1 + l2


def bernoulli(a, b):
    p, q = mpf(a[0]), mpf(b[0])
    return p * log(p / q) + (1 - p) * log((1 - p) / (1 - q))


CASES = [
    ("beta", beta, [1e-300, 1e-300], [2e-300, 1e-300]),
    ("beta", beta, [1e-200, 1e-200], [2e-200, 1e-200]),
    ("beta", beta, [1e-150, 3.0], [2e-150, 3.0]),
    ("categorical", categorical, [1e-30, 1e-30], [1.5e-30, 1e-30]),
    ("categorical", categorical, [1e-150, 1e-150], [1.5e-150, 1e-150]),
    ("categorical", categorical, [1e-300, 1e-300], [1.5e-300, 1e-300]),
    ("poisson", poisson, [1.0], [1.0 + 1e-12]),
    ("bernoulli", bernoulli, [0.5], [0.5 + 1e-9]),
]
for m, f, a, b in CASES:
    print(m, a, b, mp.nstr(f(a, b), 17))

# The gamma family's Jeffreys ln √det I = ½ ln(kψ′(k) − 1) − ln β (tryout 8
# G14) at tiny shapes, pasted into `jeffreys_of_the_gamma_at_tiny_shapes`.
for k, b in [(1e-300, 1.0), (1e-150, 2.0), (1e-5, 1.0), (0.5, 1.0)]:
    k = mpf(k)
    print("gamma jeffreys", k, b, mp.nstr(mp.log(k * mp.psi(1, k) - 1) / 2 - log(mpf(b)), 17))
