"""Posterior moments of the dynamical-Bayes flow (eq. 34) under Jeffreys' prior,
by direct quadrature at 40 digits: an oracle independent of the conjugate
closed form Beta(1/2 + T p*, 1/2 + T(1 - p*)) (oracles.md §7).

    pi_T(p) ∝ p^(-1/2) (1 - p)^(-1/2) exp(-T KL(p* || p)),
    KL(p* || p) = p* ln(p*/p) + (1 - p*) ln((1 - p*)/(1 - p)).

Run: /work/venv/bin/python tests/oracles/dynamical_bayes_jeffreys.py
The printed values are pasted into core/tests/dynamical_bayes.rs
(`jeffreys_prior_needs_the_logit_axis`).
"""
import mpmath as mp

mp.mp.dps = 40

def moments(pstar, T):
    ps = mp.mpf(pstar)
    # Substitute p = sin^2(u), 1 - p = cos^2(u): dp = 2 sin u cos u du removes
    # the endpoint singularities of the Jeffreys density, so tanh-sinh
    # quadrature is exact to the working precision. KL is written with p and
    # 1 - p from sin and cos, so neither rounds to 0.
    def f(u, k):
        p, q = mp.sin(u) ** 2, mp.cos(u) ** 2
        kl = ps * mp.log(ps / p) + (1 - ps) * mp.log((1 - ps) / q)
        return p ** k * mp.exp(-T * kl) * 2  # p^-1/2 (1-p)^-1/2 dp = 2 du
    z = mp.quad(lambda u: f(u, 0), [0, mp.pi / 4, mp.pi / 2])
    m1 = mp.quad(lambda u: f(u, 1), [0, mp.pi / 4, mp.pi / 2]) / z
    m2 = mp.quad(lambda u: f(u, 2), [0, mp.pi / 4, mp.pi / 2]) / z
    return m1, m2 - m1 ** 2

for T in [0, 1, 5, 20, 100]:
    m, v = moments("0.3", T)
    a, b = mp.mpf("0.5") + T * mp.mpf("0.3"), mp.mpf("0.5") + T * mp.mpf("0.7")
    cm, cv = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    print(f"T = {T:>3}: mean {mp.nstr(m, 20)}  var {mp.nstr(v, 20)}  "
          f"(closed form differs by {mp.nstr(abs(m - cm), 3)}, {mp.nstr(abs(v - cv), 3)})")
