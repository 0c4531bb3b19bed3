"""Reference Fisher matrices and log-densities of the built-in models at
parameters far from 1 (issue 16 items 1 and 2).

Run:  /work/venv/bin/python tests/oracles/fisher_and_log_density.py
mpmath at 50 digits; inputs are f64 (repr). Pasted into models/tests/scales.rs.

Fisher (docs/models.md):
  beta  (a, b):         [[ψ′(a) − ψ′(a+b), −ψ′(a+b)], [−ψ′(a+b), ψ′(b) − ψ′(a+b)]]
  gamma (shape, rate):  [[ψ′(k), −1/β], [−1/β, k/β²]]
Log-densities of the observation the model reports (docs/conventions.md):
  gamma observes u = ln y:        ln p(u) = k ln β + k u − β eᵘ − lnΓ(k)
  beta observes w = ln(y/(1−y)):  ln p(w) = a ln y + b ln(1−y) − ln B(a, b), y = 1/(1 + e^{−w})
  poisson observes the count y:   ln p(y) = y ln λ − λ − lnΓ(y + 1)
"""
import mpmath as mp

mp.mp.dps = 50
M = mp.mpf


def f(v):
    return repr(float(v))


print("// beta Fisher: (a, b, I_aa, I_ab, I_bb)")
print("[")
for a, b in [(200.0, 300.0), (0.2, 0.2), (1e6, 1e-3), (1e-3, 1e-3), (1e6, 1e6), (1e-3, 1e6), (2.0, 3.5)]:
    t = mp.polygamma(1, M(a) + M(b))
    print(f"    ({f(a)}, {f(b)}, {f(mp.polygamma(1, a) - t)}, {f(-t)}, {f(mp.polygamma(1, b) - t)}),")
print("]")
print("// gamma Fisher: (k, rate, I_kk, I_kr, I_rr)")
print("[")
for k, r in [(2000.0, 0.7), (1e-3, 1e-3), (1e6, 1.0), (1e-3, 1e6), (2.5, 1.5)]:
    print(f"    ({f(k)}, {f(r)}, {f(mp.polygamma(1, k))}, {f(-1 / M(r))}, {f(M(k) / M(r) ** 2)}),")
print("]")

print("// gamma ln p(u): (k, rate, u, value)")
print("[")
for k, r, u in [(1e6, 1.0, float(mp.log(1e6)) + 1e-3), (2000.0, 0.7, 7.96), (1e-3, 1e-3, -700.0), (2.5, 1.5, 0.3)]:
    k_, r_, u_ = M(k), M(r), M(u)
    print(f"    ({f(k)}, {f(r)}, {f(u)}, {f(k_ * mp.log(r_) + k_ * u_ - r_ * mp.exp(u_) - mp.loggamma(k_))}),")
print("]")
print("// beta ln p(w): (a, b, w, value)")
print("[")
for a, b, w in [(1e6, 1e6, 1e-3), (200.0, 300.0, -0.4), (0.2, 0.2, -300.0), (0.2, 0.2, 40.0), (2.0, 3.5, 0.1)]:
    a_, b_, w_ = M(a), M(b), M(w)
    ly = -mp.log1p(mp.exp(-w_))
    l1y = -mp.log1p(mp.exp(w_))
    lb = mp.loggamma(a_) + mp.loggamma(b_) - mp.loggamma(a_ + b_)
    print(f"    ({f(a)}, {f(b)}, {f(w)}, {f(a_ * ly + b_ * l1y - lb)}),")
print("]")
print("// poisson ln p(y): (rate, y, value)")
print("[")
for lam, y in [(1e12, 1e12 + 1e6), (1e-6, 0.0), (1e-6, 3.0), (3.5, 2.0), (6e4, 60250.0)]:
    l_, y_ = M(lam), M(y)
    print(f"    ({f(lam)}, {f(y)}, {f(y_ * mp.log(l_) - l_ - mp.loggamma(y_ + 1))}),")
print("]")

# Moments of the observed variates (checks of the log-space samplers):
#   gamma observes u = ln y:  E[u] = ψ(k) − ln β,  Var[u] = ψ′(k)
#   beta observes w = logit y: E[w] = ψ(a) − ψ(b), Var[w] = ψ′(a) + ψ′(b)
print("// gamma u moments: (k, rate, mean, var)")
print("[")
for k, r in [(1e-3, 1e-3), (2000.0, 0.7), (0.05, 3.0), (1e6, 1.0)]:
    print(f"    ({f(k)}, {f(r)}, {f(mp.digamma(k) - mp.log(r))}, {f(mp.polygamma(1, k))}),")
print("]")
print("// beta w moments: (a, b, mean, var)")
print("[")
for a, b in [(0.2, 0.2), (1e-3, 1e-3), (200.0, 300.0), (0.05, 5.0)]:
    print(f"    ({f(a)}, {f(b)}, {f(mp.digamma(a) - mp.digamma(b))}, {f(mp.polygamma(1, a) + mp.polygamma(1, b))}),")
print("]")
