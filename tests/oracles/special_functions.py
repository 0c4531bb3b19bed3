"""Reference values of the special-function differences in core/src/special.rs.

Run:  /work/venv/bin/python tests/oracles/special_functions.py
Prints Rust array literals (argument(s), value) computed with mpmath at 50
significant digits; the tests in core/src/special.rs paste them.

Functions:
  log1pmx(x)            = ln(1 + x) - x
  xlog1pxmx(x)          = (1 + x) ln(1 + x) - x
  ln_gamma_bregman(k,h) = lnG(k + h) - lnG(k) - h psi(k)
  digamma_diff(a, h)    = psi(a + h) - psi(a)
  trigamma_diff(a, h)   = psi'(a) - psi'(a + h)
  polygamma(n, x)       = psi^(n)(x), n = 0..3
  ln_gamma(x)
"""
import mpmath as mp

mp.mp.dps = 50


def f(v):
    return repr(float(v))


def table(name, rows):
    print(f"// {name}")
    print("[")
    for r in rows:
        print("    (" + ", ".join(f(v) for v in r) + "),")
    print("]")


xs = [1e-12, -1e-12, 1e-6, -3e-5, 0.25, -0.3, 0.49, -0.49, 0.51, -0.51, 3.0, 1e6, -0.999999]
table("log1pmx", [(x, mp.log1p(mp.mpf(x)) - x) for x in xs])
table("xlog1pxmx", [(x, (1 + mp.mpf(x)) * mp.log1p(mp.mpf(x)) - x) for x in xs] + [(-1.0, 1.0)])  # limit at -1

kh = [
    (1e-3, 1e-9), (1e-3, 5e-4), (1e-3, -5e-4), (0.5, 1e-9), (1.4616321449683623, 1e-5),
    (2.5, 3.0), (12.5, -3.0), (2000.0, 0.2), (2000.0, -1e-4), (1e6, 1.0), (1e6, 1e-3),
    (1e-3, 1e6), (1e6, -999999.5), (7.0, 1e-14),
]
table("ln_gamma_bregman", [(k, h, mp.loggamma(mp.mpf(k) + h) - mp.loggamma(k) - h * mp.digamma(k)) for k, h in kh])

ah = [
    (1e6, 1e-3), (1e-3, 1e-8), (200.0, 300.0), (0.5, 1e-12), (3.0, -1.5), (1e-3, 1e6),
    (1e6, 1e6), (11.0, 2e-7), (1e-3, -5e-4),
]
table("digamma_diff", [(a, h, mp.digamma(mp.mpf(a) + h) - mp.digamma(a)) for a, h in ah])
table("trigamma_diff", [(a, h, mp.polygamma(1, a) - mp.polygamma(1, mp.mpf(a) + h)) for a, h in ah])

px = [1e-3, 0.3, 1.4616321449683623, 7.5, 11.0, 1e3, 1e6]
for n in range(4):
    table(f"polygamma {n}", [(x, mp.polygamma(n, x)) for x in px])
table("ln_gamma", [(x, mp.loggamma(x)) for x in px + [2000.0, 1e-300]])
lb = lambda a, b: mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(mp.mpf(a) + b)
table("ln_beta", [(a, b, lb(a, b)) for a, b in [(0.3, 7.0), (1e6, 1e-3), (1e6, 1e6), (1e-3, 1e-3), (200.0, 300.0), (2.0, 3.5), (0.2, 0.2), (12.0, 9.5)]])
