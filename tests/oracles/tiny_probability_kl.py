"""KL divergences of the finite exponential family (eq. 27) where outcome
probabilities are tiny (down to 3e-20), and of the Bernoulli family at a rare
success, by mpmath at 50 digits: oracles independent of the Bregman closed form
and of the exact sum over the support.

Model: stats = [[0,1],[1,0],[2,3],[-1,0.5]], p(y|θ) ∝ exp(−θ·S(y)).
Source of the cases: /work/tryout/FINDINGS.md A1, A2 (copied from
/work/tryout/h/ef2.py).

Run: /work/venv/bin/python tests/oracles/tiny_probability_kl.py
The printed values are pasted into models/src/exp_family_finite.rs (unit test
`kl_keeps_full_accuracy_at_tiny_probabilities`) and tests/kl_curvature_jeffreys_cli.rs.
"""
import mpmath as mp

mp.mp.dps = 50
S = [[0, 1], [1, 0], [2, 3], [-1, mp.mpf("0.5")]]


def probs(th):
    th = [mp.mpf(t) for t in th]
    w = [mp.e ** (-(s[0] * th[0] + s[1] * th[1])) for s in S]
    z = sum(w)
    return [x / z for x in w]


def kl(a, b):
    P, Q = probs(a), probs(b)
    return sum(x * mp.log(x / y) for x, y in zip(P, Q))


cases = [
    ([20.0, -10.0], [-1.0, 2.0]),
    ([20.0, -10.0], [20.001, -10.0]),
    ([10.0, -5.0], [10.0001, -5.0]),
    ([-1.0, 2.0], [20.0, -10.0]),
    ([2.0, -1.0], [-1.0, 2.0]),
    ([40.0, -20.0], [40.0, -19.999]),
]
for a, b in cases:
    print(a, b, "min p = %.2e" % float(min(probs(a))), "KL =", mp.nstr(kl(a, b), 20))
# ln p(y|θ) at θ = [20, −10]: the likeliest outcome y = 3 (−ln1p(small)).
print("ln p(3|[20,-10]) =", mp.nstr(mp.log(probs([20.0, -10.0])[3]), 20))

# Bernoulli p = 1e-6 -> 5e-7 (A2).
p, q = mp.mpf("1e-6"), mp.mpf("5e-7")
print("bernoulli KL(1e-6||5e-7) =", mp.nstr(p * mp.log(p / q) + (1 - p) * mp.log((1 - p) / (1 - q)), 20))
