"""Oracle values for the exact Ornstein-Uhlenbeck law (core/src/sde/ou.rs tests).

dY = -B(Y - m) dt + theta dW, Q = theta theta^T. The law at t from y0 has mean map
expm(-B t) and covariance Sigma_t = int_0^t expm(-B s) Q expm(-B^T s) ds.

Computed here with mpmath at 40 digits: the matrix exponential by mpmath.expm and
the integral by tanh-sinh quadrature (mpmath.quad) entry by entry, independently
of the Rust code (which uses Van Loan plus semigroup doubling).

Run: /work/venv/bin/python tests/oracles/ou_law.py
"""
import mpmath as mp

mp.mp.dps = 40


def law(B, Q, t, breaks=None):
    B = mp.matrix(B)
    Q = mp.matrix(Q)
    d = B.rows

    def integrand(s, i, j):
        E = mp.expm(-B * s)
        return (E * Q * E.T)[i, j]

    pts = breaks if breaks else [0, t]
    S = mp.matrix(d, d)
    for i in range(d):
        for j in range(i, d):
            v = mp.quad(lambda s: integrand(s, i, j), pts)
            S[i, j] = v
            S[j, i] = v
    return mp.expm(-B * t), S


def rust(name, M):
    rows = ", ".join(mp.nstr(M[i, j], 20) for i in range(M.rows) for j in range(M.cols))
    print(f"        // {name}\n        &[{rows}],")


cases = [
    ("zero eigenvalue: B = [[1, 1], [1, 1]] (eigenvalues 0, 2), t = 2.5",
     [[1, 1], [1, 1]], [[1, 0.3], [0.3, 0.5]], 2.5, None),
    ("Jordan block: B = [[2, 5], [0, 2]], t = 1.3",
     [[2, 5], [0, 2]], [[0.7, 0.1], [0.1, 1.2]], 1.3, None),
    ("stiff Jordan block: B = [[50, 200], [0, 50]], t = 40 (B t = 2000)",
     [[50, 200], [0, 50]], [[0.7, 0.1], [0.1, 1.2]], 40, [0, 0.01, 0.05, 0.2, 1, 40]),
    ("3x3 Jordan block, eigenvalue 0 (nilpotent B), t = 2",
     [[0, 1, 0], [0, 0, 1], [0, 0, 0]], [[1, 0, 0], [0, 1, 0], [0, 0, 1]], 2, None),
    ("unstable: B = [[-0.8, 0.4], [0.1, -0.3]], t = 3",
     [[-0.8, 0.4], [0.1, -0.3]], [[1, 0.2], [0.2, 0.6]], 3, None),
]

print("// Matrix cases: (mean map e^{-Bt}, Sigma_t), row-major.")
for name, B, Q, t, br in cases:
    E, S = law(B, Q, t, br)
    print(f"// {name}")
    rust("e^{-Bt}", E)
    rust("Sigma_t", S)

print("// Scalar OU, q = 1: variance (1 - e^{-2bt})/(2b) at t = 1")
for bt in ["1e-8", "1e-4", "0.5", "1", "700", "1000", "1e4", "-0.5", "-3"]:
    b = mp.mpf(bt)
    v = -mp.expm1(-2 * b) / (2 * b)
    print(f"        ({bt}, {mp.nstr(v, 20)}),")
