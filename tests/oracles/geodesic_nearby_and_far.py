"""Fisher-Rao distances for points 1e-11 apart and for a span of 600 decades
(FINDINGS.md A5, D2), by mpmath at 50 digits on the same f64 inputs:

  Bernoulli:  d = 2 |asin(sqrt(q)) - asin(sqrt(p))|
  normal, equal means: d = sqrt(2) |ln(s2/s1)|

Run: /work/venv/bin/python tests/oracles/geodesic_nearby_and_far.py
The printed values are pasted into tests/geometry_cli.rs
(`geodesic_of_nearby_points_passes`, `geodesic_over_600_decades_is_not_bad_input`).
"""
import mpmath as mp

mp.mp.dps = 50
f = lambda x: mp.mpf(float(x))  # the f64 the config holds
print("bernoulli 0.5 -> 0.50000000001:", mp.nstr(2 * abs(mp.asin(mp.sqrt(f("0.50000000001"))) - mp.asin(mp.sqrt(f("0.5")))), 20))
print("normal sigma 1 -> 1.00000000001:", mp.nstr(mp.sqrt(2) * abs(mp.log(f("1.00000000001"))), 20))
print("normal sigma 1e-300 -> 1e300:", mp.nstr(mp.sqrt(2) * abs(mp.log(f("1e300") / f("1e-300"))), 20))
