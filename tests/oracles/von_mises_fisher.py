"""Closed-form Fisher metric of the von Mises family p(y | mu, kappa) =
exp(kappa cos(y - mu)) / (2 pi I0(kappa)), parameters (mu, kappa):

    I = diag(kappa A(kappa), 1 - A(kappa)/kappa - A(kappa)^2),  A = I1/I0,

evaluated with mpmath at 50 digits, for python/tests/test_python_models.py.
Run: /work/venv/bin/python tests/oracles/von_mises_fisher.py
"""
import mpmath as mp

mp.mp.dps = 50
for k in ["0.01", "0.1", "1", "10", "100", "1000"]:
    kappa = mp.mpf(k)
    a = mp.besseli(1, kappa) / mp.besseli(0, kappa)
    i_mu = kappa * a
    i_kappa = 1 - a / kappa - a * a
    print(f"    ({k}, {mp.nstr(a, 17)}, {mp.nstr(i_mu, 17)}, {mp.nstr(i_kappa, 17)}),")
