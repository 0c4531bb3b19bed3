# Mean and variance of N(m, s^2) truncated to [lo, hi] (scipy.stats.truncnorm), the oracle of
# core/src/bayes/conjugate.rs `truncated_normal_moments_match_scipy` (tryout 5, A7: the grid
# [-12, 12] truncates the prior N(0.3, 2^2), so its posterior variance is 1 - 1.0147e-7 of the
# untruncated conjugate one). Run: /work/venv/bin/python tests/oracles/bayes_truncated_normal.py
from scipy.stats import truncnorm
import mpmath as mp
mp.mp.dps = 40
def mom(m, s, lo, hi):
    # mpmath cross-check of scipy: direct quadrature of the truncated density.
    f = lambda x: mp.npdf(x, m, s)
    z = mp.quad(f, [lo, m, hi]); m1 = mp.quad(lambda x: x * f(x), [lo, m, hi]) / z
    v = mp.quad(lambda x: (x - m1)**2 * f(x), [lo, m, hi]) / z
    return m1, v
for (m, s, lo, hi) in [(0.3, 2.0, -12.0, 12.0), (0.3, 2.0, -1.0, 12.0), (0.0, 1.0, -2.0, 3.0),
                       (5.0, 1e-3, 4.9965, 5.01), (0.3, 2.0, -40.0, 40.0)]:
    a, b = (lo - m) / s, (hi - m) / s
    sm, sv = truncnorm.stats(a, b, loc=m, scale=s, moments="mv")
    mm, mv = mom(mp.mpf(m), mp.mpf(s), mp.mpf(lo), mp.mpf(hi))
    print(m, s, lo, hi, "mean", repr(float(sm)), mp.nstr(mm, 20), "var", repr(float(sv)), mp.nstr(mv, 20),
          "var/s^2 - 1", mp.nstr(mv / s**2 - 1, 6))
