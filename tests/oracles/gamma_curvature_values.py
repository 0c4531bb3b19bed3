# Scalar curvature R(k) of the gamma family's Fisher metric (it depends on the shape k only):
# the closed form R(k) = (psi'(k) + k psi''(k)) / (2 (k psi'(k) - 1)^2) (oracles.md section 3,
# checked against Brioschi's formula by tests/oracles/gamma_scalar_curvature.py), at 50 digits.
# The oracle of models/tests/geometry.rs `curvature_error_estimate_bounds_the_error`.
# Run: /work/venv/bin/python tests/oracles/gamma_curvature_values.py
import mpmath as mp
mp.mp.dps = 50
def closed(k): return (mp.psi(1, k) + k * mp.psi(2, k)) / (2 * (k * mp.psi(1, k) - 1)**2)
for k in ["0.001", "0.5", "10", "1000", "1e6", "1e10"]:
    print(k, mp.nstr(closed(mp.mpf(k)), 20))
