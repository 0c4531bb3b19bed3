#!/usr/bin/env python3
"""Oracle eigenvalues of badly conditioned Fisher metrics (issue #16, item 4).

Run:  /work/venv/bin/python tests/oracles/fisher_spectra.py
(needs mpmath). Prints Rust array literals pasted into
core/src/geometry/sloppiness.rs (tests) and tests/geometry_cli.rs.

1. Gamma(shape a, rate b): I = [[psi'(a), -1/b], [-1/b, a/b^2]]. Eigenvalues
   at 40 digits; the small one as det/lambda_max so it does not cancel.
2. Sum of exponentials y_k = sum_i exp(-r_i t_k) + N(0, s^2): I = J^T J / s^2,
   J_ki = -t_k exp(-r_i t_k). Eigenvalues = squared singular values of J/s,
   computed from J at 50 digits. Every input is the exact binary value of the
   f64 the Rust test uses (mpf(float) is exact).
"""
import mpmath as mp

mp.mp.dps = 50


def gamma_eigs(a, b):
    a, b = mp.mpf(a), mp.mpf(b)
    i11, i12, i22 = mp.psi(1, a), -1 / b, a / b**2
    tr = i11 + i22
    det = i11 * i22 - i12**2
    hi = (tr + mp.sqrt(tr**2 - 4 * det)) / 2
    return [hi, det / hi]


def soe_eigs(rates, times, sigma):
    s = mp.mpf(sigma)
    J = mp.matrix(len(times), len(rates))
    for k, t in enumerate(times):
        for i, r in enumerate(rates):
            J[k, i] = -mp.mpf(t) * mp.exp(-mp.mpf(r) * mp.mpf(t)) / s
    sv = mp.svd_r(J, compute_uv=False)
    return sorted([x**2 for x in sv], reverse=True)


def fmt(xs):
    # Each value correctly rounded to the nearest f64 (shortest repr that
    # round-trips), as pasted into the Rust tests.
    return "[" + ", ".join(repr(float(x)) for x in xs) + "]"


print("// gamma, rate 1: (shape, [lambda_max, lambda_min])")
for e in range(-3, 7):
    a = 10.0**e
    print(f"({a:e}, {fmt(gamma_eigs(a, 1.0))}),")
print("// gamma, shape 1e6 at rates 1e-3 and 1e3")
for b in (1e-3, 1e3):
    print(f"({b:e}, {fmt(gamma_eigs(1e6, b))}),")

TIMES = [0.5 * k for k in range(1, 13)]
print("// sum of exponentials, rates 1 + 0.02 i, i = 0..n-1, times 0.5..6 step 0.5, sigma 0.1")
for n in range(2, 7):
    rates = [1.0 + 0.02 * i for i in range(n)]
    print(f"// rates {rates}")
    print(f"({n}, &{fmt(soe_eigs(rates, TIMES, 0.1))}),")
print("// examples/spectrum/sum_of_exponentials.toml")
ex_times = [0.25 * k for k in range(1, 33)]
print(fmt(soe_eigs([0.3, 0.6, 1.0, 1.6, 2.5, 4.0], ex_times, 0.1)))
