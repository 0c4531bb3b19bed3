"""Reference KL divergences of the built-in models where the closed forms
cancel: θ′ very close to θ (KL ~ 1e-9 … 1e-20) and parameters far from 1.

Run:  /work/venv/bin/python tests/oracles/kl_near_coincidence.py
Every input is an f64 (printed with repr, so Rust reads the same bits) and the
KL is evaluated from its defining formula in mpmath at 50 digits; the printed
values are pasted into models/tests/kl_accuracy.rs.

Formulas (docs/models.md, shared oracles §2), KL(θ₁‖θ₂) = E_θ₁[ln p₁/p₂]:
  beta:        ln B(a₂,b₂) − ln B(a₁,b₁) + (a₁−a₂)ψ(a₁) + (b₁−b₂)ψ(b₁) + (a₂−a₁+b₂−b₁)ψ(a₁+b₁)
  gamma:       (k₁−k₂)ψ(k₁) − lnΓ(k₁) + lnΓ(k₂) + k₂ ln(β₁/β₂) + k₁(β₂−β₁)/β₁
  bernoulli:   p ln(p/q) + (1−p) ln((1−p)/(1−q))
  categorical: Σ pᵢ ln(pᵢ/qᵢ), p_K = 1 − Σ pᵢ
  poisson:     λ₁ ln(λ₁/λ₂) − λ₁ + λ₂
  exponential: ln(λ₁/λ₂) + λ₂/λ₁ − 1
  normal:      ln(σ₂/σ₁) + (σ₁² + (μ₁−μ₂)²)/(2σ₂²) − ½   (normal_var: v = σ²)
  mvn:         ½[tr(Σ₂⁻¹Σ₁) + Δμᵀ Σ₂⁻¹ Δμ − d + ln(det Σ₂/det Σ₁)]
  exp_family_finite: Σ_y p₁(y) ln(p₁(y)/p₂(y)), p ∝ exp(−θ·S(y))
  sum_of_exponentials: |G(θ₁) − G(θ₂)|²/(2σ²), G_k = Σᵢ exp(−θᵢ t_k)
"""
import mpmath as mp

mp.mp.dps = 50
M = mp.mpf


def f(v):
    return repr(float(v))


def beta(a1, b1, a2, b2):
    lb = lambda a, b: mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b)
    a1, b1, a2, b2 = map(M, (a1, b1, a2, b2))
    return (lb(a2, b2) - lb(a1, b1) + (a1 - a2) * mp.digamma(a1) + (b1 - b2) * mp.digamma(b1)
            + (a2 - a1 + b2 - b1) * mp.digamma(a1 + b1))


def gamma(k1, r1, k2, r2):
    k1, r1, k2, r2 = map(M, (k1, r1, k2, r2))
    return ((k1 - k2) * mp.digamma(k1) - mp.loggamma(k1) + mp.loggamma(k2)
            + k2 * (mp.log(r1) - mp.log(r2)) + k1 * (r2 - r1) / r1)


def cat(p, q):
    p = [M(x) for x in p] + [1 - sum(M(x) for x in p)]
    q = [M(x) for x in q] + [1 - sum(M(x) for x in q)]
    return sum(a * mp.log(a / b) for a, b in zip(p, q) if a != 0)


def poisson(l1, l2):
    l1, l2 = M(l1), M(l2)
    return l1 * mp.log(l1 / l2) - l1 + l2


def expo(l1, l2):
    l1, l2 = M(l1), M(l2)
    return mp.log(l1 / l2) + l2 / l1 - 1


def normal(m1, s1, m2, s2):
    m1, s1, m2, s2 = map(M, (m1, s1, m2, s2))
    return mp.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - mp.mpf(1) / 2


def normal_var(m1, v1, m2, v2):
    return normal(m1, mp.sqrt(M(v1)), m2, mp.sqrt(M(v2)))


def mvn(theta1, theta2, d):
    def unpack(t):
        mu = mp.matrix([M(x) for x in t[:d]])
        S = mp.matrix(d, d)
        k = d
        for i in range(d):
            for j in range(i + 1):
                S[i, j] = S[j, i] = M(t[k])
                k += 1
        return mu, S
    m1, S1 = unpack(theta1)
    m2, S2 = unpack(theta2)
    S2i = S2**-1
    dm = m2 - m1
    tr = sum((S2i * S1)[i, i] for i in range(d))
    return (tr + (dm.T * S2i * dm)[0, 0] - d + mp.log(mp.det(S2) / mp.det(S1))) / 2


def expfam(stats, t1, t2):
    def probs(t):
        z = [-sum(M(s) * M(x) for s, x in zip(row, t)) for row in stats]
        zs = mp.log(sum(mp.exp(v) for v in z))
        return [mp.exp(v - zs) for v in z]
    p, q = probs(t1), probs(t2)
    return sum(a * mp.log(a / b) for a, b in zip(p, q))


def soe(times, sigma, t1, t2):
    g = lambda t, th: sum(mp.exp(-M(r) * M(t)) for r in th)
    return sum((g(t, t1) - g(t, t2)) ** 2 for t in times) / (2 * M(sigma) ** 2)


def row(name, a, b, v):
    print(f"    (\"{name}\", &[{', '.join(f(x) for x in a)}], &[{', '.join(f(x) for x in b)}], {f(v)}),")


print("// (model, theta1, theta2, KL)")
print("[")
# Beta (issue 16 item 1): θ = (200, 300), steps of ~1e-4 Fisher units and smaller.
for a1, b1, da, db in [(200.0, 300.0, 1.3e-2, -0.9e-2), (200.0, 300.0, 1e-5, 1e-5),
                       (0.2, 0.2, 1e-6, -2e-6), (1e6, 1e-3, 10.0, 1e-9), (1e-3, 1e-3, 1e-9, 2e-9),
                       (1e6, 1e6, 1.0, 1.0), (5e5, 2e6, 3.0, -1.0)]:
    a2, b2 = a1 + da, b1 + db
    row("beta", [a1, b1], [a2, b2], beta(a1, b1, a2, b2))
# Gamma (issue 16 item 1): shape 2000, rate 0.7.
for k1, r1, dk, dr in [(2000.0, 0.7, 0.2, 1e-5), (2000.0, 0.7, 1e-4, 3e-8), (1e6, 1.0, 1.0, 1e-6),
                       (1e-3, 1e-3, 1e-9, 1e-9), (1e-3, 1e3, -1e-8, 2e-2), (1e6, 1e-6, 0.0, 1e-12)]:
    row("gamma", [k1, r1], [k1 + dk, r1 + dr], gamma(k1, r1, k1 + dk, r1 + dr))
for p, q in [(1e-6, 1e-6 + 1e-10), (1e-6, 1e-6 - 3e-12), (0.3, 0.3 + 1e-9), (1 - 1e-6, 1 - 1e-6 - 1e-11),
             (0.5, 0.5 + 1e-12)]:
    row("bernoulli", [p], [q], cat([p], [q]))
for p, q in [([1e-6, 0.5], [1e-6 + 1e-11, 0.5 - 1e-9]), ([0.2, 0.5], [0.2 + 1e-10, 0.5 + 1e-10])]:
    row("categorical", p, q, cat(p, q))
for l1, l2 in [(1e-6, 1e-6 * (1 + 1e-4)), (1e12, 1e12 + 1e3), (3.5, 3.5 + 1e-9)]:
    row("poisson", [l1], [l2], poisson(l1, l2))
for l1, l2 in [(1e-8, 1e-8 * (1 + 1e-5)), (1e8, 1e8 * (1 - 1e-7)), (0.8, 0.8 + 1e-10)]:
    row("exponential", [l1], [l2], expo(l1, l2))
for m1, s1, m2, s2 in [(1e10, 1.0, 1e10 + 1e-4, 1.0 + 1e-4), (0.0, 1e-5, 1e-9, 1e-5 * (1 + 1e-4)),
                       (0.5, 1.5, 0.5, 1.5 * (1 + 1e-9)), (-3.0, 1e6, -3.0 + 1.0, 1e6 - 1.0)]:
    row("normal", [m1, s1], [m2, s2], normal(m1, s1, m2, s2))
for m1, v1, m2, v2 in [(0.5, 2.25, 0.5, 2.25 * (1 + 1e-9)), (0.0, 1e-12, 1e-7, 1e-12 * (1 - 1e-5))]:
    row("normal_var", [m1, v1], [m2, v2], normal_var(m1, v1, m2, v2))
t1 = [0.5, -1.0, 2.0, 0.6, 1.0]
t2 = [0.5 + 1e-7, -1.0, 2.0 + 1e-7, 0.6 - 1e-7, 1.0 + 2e-7]
row("mvn", t1, t2, mvn(t1, t2, 2))
stats = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.5]]
for a, b in [([0.3, -0.5], [0.3 + 1e-7, -0.5 - 2e-7]), ([20.0, -30.0], [20.0 + 1e-4, -30.0])]:
    row("exp_family_finite", a, b, expfam(stats, a, b))
times = [0.5 * k for k in range(1, 13)]
a = [0.3, 1.0, 3.0, 6.0]
b = [0.3 + 1e-8, 1.0 - 1e-8, 3.0, 6.0 + 1e-7]
row("sum_of_exponentials", a, b, soe(times, 0.1, a, b))
print("]")
