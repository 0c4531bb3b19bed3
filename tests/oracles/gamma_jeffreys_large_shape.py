"""x·ψ′(x) − 1 (the trigamma excess) and the gamma family's Jeffreys density
ln √det I = ½ ln(kψ′(k) − 1) − ln β (det I = (kψ′(k) − 1)/β², oracles.md),
across decades of the shape k, by mpmath at 60 digits.

Source of the case: /work/tryout/FINDINGS.md A9 (k = 1e12, β = 2; copied from
/work/tryout/h/jef.py).

Run: /work/venv/bin/python tests/oracles/gamma_jeffreys_large_shape.py
The printed values are pasted into core/src/special.rs (unit test
`trigamma_excess_across_decades`) and tests/kl_curvature_jeffreys_cli.rs.
"""
import mpmath as mp

mp.mp.dps = 60
for e in [-3, -1, 0, 1, 2, 3, 6, 8, 10, 12, 15, 20]:
    x = mp.mpf(10) ** e
    print("x = 1e%d: x*psi1(x) - 1 = %s" % (e, mp.nstr(x * mp.psi(1, x) - 1, 20)))
for x in ["9.5", "10.5", "0.5", "3.7"]:
    x = mp.mpf(x)
    print("x = %s: x*psi1(x) - 1 = %s" % (x, mp.nstr(x * mp.psi(1, x) - 1, 20)))
k, b = mp.mpf(10) ** 12, mp.mpf(2)
print("gamma k = 1e12, beta = 2: ln sqrt det I =", mp.nstr(mp.log(mp.sqrt(k * mp.psi(1, k) - 1) / b), 20))
