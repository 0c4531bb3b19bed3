"""Reference KL divergences when the second law is much wider or narrower than
the first (tryout 5, A3): scale ratios 1e-12 … 1e12 for normal, normal_var,
mvn (dim 2), exponential and gamma (rate and shape ratios).

Run:  /work/venv/bin/python tests/oracles/kl_wide_ratio.py
Every input is an f64 (printed with repr, so Rust reads the same bits); each KL
is evaluated from its defining formula in mpmath at 50 digits. The printed
rows are pasted into models/tests/kl_wide_ratio.rs.

  normal:      ln(σ₂/σ₁) + (σ₁² + (μ₁−μ₂)²)/(2σ₂²) − ½   (normal_var: v = σ²)
  mvn:         ½[tr(Σ₂⁻¹Σ₁) + Δμᵀ Σ₂⁻¹ Δμ − d + ln(det Σ₂/det Σ₁)]
  exponential: ln(λ₁/λ₂) + λ₂/λ₁ − 1
  gamma:       (k₁−k₂)ψ(k₁) − lnΓ(k₁) + lnΓ(k₂) + k₂ ln(β₁/β₂) + k₁(β₂−β₁)/β₁
"""
import mpmath as mp

mp.mp.dps = 50
M = mp.mpf
L = mp.log


def f(v):
    return repr(float(v))


def row(name, a, b, kl):
    print(f'    ("{name}", &[{", ".join(f(x) for x in a)}], &[{", ".join(f(x) for x in b)}], {f(kl)}),')


def normal(a, b):
    m1, s1, m2, s2 = map(M, (*a, *b))
    return L(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - M(1) / 2


def normal_var(a, b):
    m1, v1, m2, v2 = map(M, (*a, *b))
    return L(v2 / v1) / 2 + (v1 + (m1 - m2) ** 2) / (2 * v2) - M(1) / 2


def mvn(a, b):
    # dim 2: θ = (μ1, μ2, Σ11, Σ21, Σ22)
    def un(t):
        t = [M(x) for x in t]
        return mp.matrix([[t[0]], [t[1]]]), mp.matrix([[t[2], t[3]], [t[3], t[4]]])

    m1, s1 = un(a)
    m2, s2 = un(b)
    s2i = s2**-1
    dm = m1 - m2
    return (
        (s2i * s1)[0, 0] + (s2i * s1)[1, 1] + (dm.T * s2i * dm)[0, 0] - 2 + L(mp.det(s2) / mp.det(s1))
    ) / 2


def exponential(a, b):
    l1, l2 = M(a[0]), M(b[0])
    return L(l1 / l2) + l2 / l1 - 1


def gamma(a, b):
    k1, b1, k2, b2 = map(M, (*a, *b))
    return (k1 - k2) * mp.digamma(k1) - mp.loggamma(k1) + mp.loggamma(k2) + k2 * L(b1 / b2) + k1 * (b2 - b1) / b1


rows = []
for e in range(-12, 13, 2):
    r = 10.0**e
    rows.append(("normal", [0.0, 1.0], [0.0, r], normal))
    rows.append(("normal", [0.5, 1e-6], [-0.5, 1e-6 * r], normal))
    rows.append(("normal_var", [0.0, 1.0], [0.0, r * r], normal_var))
    rows.append(("mvn", [0.0, 0.0, 1.0, 0.3, 2.0], [0.1, 0.0, r * r, 0.0, r * r], mvn))
    rows.append(("mvn", [0.0, 0.0, 1.0, 0.3, 2.0], [0.0, 0.0, r * r, 0.0, 1.0], mvn))
    rows.append(("exponential", [1.0], [r], exponential))
    rows.append(("gamma", [2.0, 1.0], [2.0, r], gamma))
    rows.append(("gamma", [2.0, 1.0], [2.0 * r, 1.0], gamma))
    rows.append(("gamma", [1e6, 1.0], [1e6, r], gamma))
# the tryout's case and the ends of docs/models.md's normal range (σ 1e-6 … 1e6)
rows.append(("normal", [0.0, 1e-6], [0.0, 1e6], normal))
rows.append(("normal", [0.0, 1e6], [0.0, 1e-6], normal))
rows.append(("normal", [0.0, 1.0], [0.0, 6e7], normal))
rows.append(("normal_var", [0.0, 1e-12], [0.0, 1e12], normal_var))
for name, a, b, fn in rows:
    a = [float(x) for x in a]
    b = [float(x) for x in b]
    row(name, a, b, fn(a, b))
