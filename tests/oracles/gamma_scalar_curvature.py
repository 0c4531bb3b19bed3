# Scalar curvature R of the gamma family's Fisher metric in (shape k, rate b),
# g = [[psi'(k), -1/b], [-1/b, k/b^2]], by two independent routes in mpmath (60 digits):
#  - Brioschi's formula on the metric (numerical mpmath derivatives), the tryout-5 script
#    /work/tryout5/repro/gamma_curv.py (finding A5);
#  - the closed form R(k) = (psi'(k) + k psi''(k)) / (2 (k psi'(k) - 1)^2) (oracles.md section 3).
# The oracle of core/src/geometry/curvature.rs `gamma_curvature_keeps_its_digits_at_large_shape`.
# Run: /work/venv/bin/python tests/oracles/gamma_scalar_curvature.py
import mpmath as mp
mp.mp.dps = 60
def metric(k, b): return (mp.psi(1, k), -1 / b, k / b**2)
def gauss_K(k, b):
    E = lambda u, v: metric(u, v)[0]; F = lambda u, v: metric(u, v)[1]; G = lambda u, v: metric(u, v)[2]
    d = lambda f, i, j: mp.diff(f, (k, b), (i, j))
    Ev, Eu = d(E, 0, 1), d(E, 1, 0); Fv, Fu = d(F, 0, 1), d(F, 1, 0); Gv, Gu = d(G, 0, 1), d(G, 1, 0)
    Evv = d(E, 0, 2); Guu = d(G, 2, 0); Fuv = d(F, 1, 1)
    e, f, g = E(k, b), F(k, b), G(k, b)
    M1 = mp.matrix([[-Evv/2 + Fuv - Guu/2, Eu/2, Fu - Ev/2], [Fv - Gu/2, e, f], [Gv/2, f, g]])
    M2 = mp.matrix([[0, Ev/2, Gu/2], [Ev/2, e, f], [Gu/2, f, g]])
    return (mp.det(M1) - mp.det(M2)) / (e*g - f*f)**2
def closed(k): return (mp.psi(1, k) + k * mp.psi(2, k)) / (2 * (k * mp.psi(1, k) - 1)**2)
for k, b in [(1e-8, 1.0), (1e-3, 1.0), (1.0, 1.0), (1e3, 1.0), (1e6, 1.0), (1e8, 1.0), (1e12, 1.0),
             (1.0, 1e-8), (1.0, 1e8), (1e6, 1e-8), (1e6, 1e8)]:
    k, b = mp.mpf(k), mp.mpf(b)
    br, cf = 2 * gauss_K(k, b), closed(k)
    print(mp.nstr(k, 3), mp.nstr(b, 3), "R Brioschi", mp.nstr(br, 20), "closed", mp.nstr(cf, 20),
          "agree", mp.nstr(abs(br - cf) / abs(cf), 3))
