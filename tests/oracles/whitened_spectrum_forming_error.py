# Eigenvalues of I = A^T S^-1 A (linear_gaussian) in mpmath (60 digits) on the same doubles the
# Rust test uses: A = I or A = [[1, 2], [3, -1]], S = [[1, 1-r], [1-r, 1]] (r = 1e-3, 1e-6, 1e-9, 1e-12),
# and A = diag(1e100, 1e-100), S = I (exact: 1e200, 1e-200). Tryout 5, A6 (after
# /work/tryout5/repro/a6_spectrum_bounds.py). The oracle of core/src/geometry/sloppiness.rs
# `whitened_spectrum_bounds_include_the_forming_error`.
# Run: /work/venv/bin/python tests/oracles/whitened_spectrum_forming_error.py
import mpmath as mp
mp.mp.dps = 60
def eig(A, S):
    I = mp.matrix(A).T * mp.inverse(mp.matrix(S)) * mp.matrix(A)
    return sorted([mp.re(x) for x in mp.eig(I)[0]], reverse=True)
for A in ([[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [3.0, -1.0]]):
    for r in (1e-3, 1e-6, 1e-9, 1e-12):
        c = 1.0 - r  # the double the test builds
        print(A, f"r={r:g}", [mp.nstr(x, 20) for x in eig(A, [[1.0, c], [c, 1.0]])])
print("graded", [mp.nstr(x, 20) for x in eig([[1e100, 0.0], [0.0, 1e-100]], [[1.0, 0.0], [0.0, 1.0]])])
