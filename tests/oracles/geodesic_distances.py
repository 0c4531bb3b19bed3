"""Oracle values for the Fisher-Rao distances and geodesics of bayesrg's geometry
tests (core/src/geometry, models/tests/geometry.rs, tests/geometry_cli.rs).

Independent of the Rust code:
1. closed forms (docs oracles.md section 3) evaluated at 40 digits with the
   textbook formulas (arccosh, arccos), for the regression cases of issue #16;
2. the multivariate normal (mvn, 9 parameters): the closed-form geodesic of
   Calvo & Oller (1991) / Eriksen (1987): from (0, I) with velocity (x, B),
   A = [[-B, x, 0], [x^T, 0, -x^T], [0, -x, B]], exp(tA) = [[D, d, .], ...],
   Sigma(t) = D^{-1}, mu(t) = D^{-1} d; moved to (mu0, Sigma0 = L L^T) by the
   affine invariance of the Fisher metric. The script first checks that this
   curve solves mu'' = S' S^{-1} mu', S'' = S' S^{-1} S' - mu' mu'^T (Skovgaard
   1984) to 30 digits, then solves the two-point problem by Newton (mpmath
   findroot) with continuation in the end point along the chord from the chord
   velocity: nothing comes from bayesrg;
3. gamma (shape, rate) and beta (a, b): no closed form. The geodesic equation
   with Christoffel symbols from the exact metric and its exact derivatives
   (trigamma psi(1, .) and tetragamma psi(2, .)): a first solution in double
   precision by scipy's collocation solver solve_bvp from the straight line,
   then Newton on the initial velocity with the flow integrated by RK4 at 1000
   and 2000 steps with Richardson extrapolation at 30 digits (both families have
   negative curvature, so the geodesic between two points is unique).

Run: /work/venv/bin/python tests/oracles/geodesic_distances.py   (about 5 minutes)
"""
import mpmath as mp

mp.mp.dps = 40


def show(name, v):
    print(f"{name}: {mp.nstr(v, 20)}")


# ---------------------------------------------------------------- 1. closed forms
def normal_d(m1, s1, m2, s2):
    m1, s1, m2, s2 = map(mp.mpf, (m1, s1, m2, s2))
    return mp.sqrt(2) * mp.acosh(1 + ((m1 - m2) ** 2 / 2 + (s1 - s2) ** 2) / (2 * s1 * s2))


def categorical_d(p, q):
    p = [mp.mpf(x) for x in p]
    q = [mp.mpf(x) for x in q]
    p.append(1 - sum(p))
    q.append(1 - sum(q))
    return 2 * mp.acos(sum(mp.sqrt(a * b) for a, b in zip(p, q)))


print("# closed forms (40 digits)")
show("exponential 1 -> 1000", mp.log(1000))
show("exponential 1e6 -> 1e-6", mp.log(mp.mpf(10) ** 12))
show("categorical (0.001, 0.5) -> (0.3, 0.3)", categorical_d([0.001, 0.5], [0.3, 0.3]))
show("categorical (1e-6, 0.5) -> (0.3, 0.3)", categorical_d([1e-6, 0.5], [0.3, 0.3]))
show("categorical (1e-6, 0.5) -> (0.5, 1e-6)", categorical_d([1e-6, 0.5], [0.5, 1e-6]))
show("categorical6", categorical_d([1e-6, 0.2, 0.3, 1e-4, 0.1], [0.2, 1e-5, 0.1, 0.4, 0.2]))
show("normal (0,1) -> (1e5,1)", normal_d(0, 1, 1e5, 1))
show("normal (0,1e-6) -> (1e-6,1e6)", normal_d(0, 1e-6, 1e-6, 1e6))
show("normal (-3,1e-4) -> (20,30)", normal_d(-3, 1e-4, 20, 30))
show("normal near (0.3,2) -> (0.3+1e-9,2)", normal_d(0.3, 2, mp.mpf(0.3) + mp.mpf(1e-9), 2))
show("poisson 1e-8 -> 1e15", 2 * abs(mp.sqrt(mp.mpf(1e-8)) - mp.sqrt(mp.mpf(1e15))))
show("bernoulli 1e-6 -> 1-1e-6",
     2 * abs(mp.asin(mp.sqrt(mp.mpf(1e-6))) - mp.asin(mp.sqrt(1 - mp.mpf(1e-6)))))


# ---------------------------------------------------------------- 2. mvn
def sym(v, d):
    """lower triangle row by row -> symmetric matrix"""
    S = mp.matrix(d, d)
    k = 0
    for i in range(d):
        for j in range(i + 1):
            S[i, j] = v[k]
            S[j, i] = v[k]
            k += 1
    return S


def tri(S):
    d = S.rows
    return [S[i, j] for i in range(d) for j in range(i + 1)]


def mvn_geodesic(theta0, vel, t, d):
    """Eriksen / Calvo-Oller closed-form geodesic in the bayesrg mvn chart."""
    mu0 = mp.matrix(theta0[:d])
    S0 = sym(theta0[d:], d)
    L = mp.cholesky(S0)
    Li = mp.inverse(L)
    x = Li * mp.matrix(vel[:d])
    B = Li * sym(vel[d:], d) * Li.T
    n = 2 * d + 1
    A = mp.matrix(n, n)
    for i in range(d):
        for j in range(d):
            A[i, j] = -B[i, j]
            A[d + 1 + i, d + 1 + j] = B[i, j]
        A[i, d] = x[i]
        A[d, i] = x[i]
        A[d, d + 1 + i] = -x[i]
        A[d + 1 + i, d] = -x[i]
    E = mp.expm(A * t)
    D = mp.matrix(d, d)
    dd = mp.matrix(d, 1)
    for i in range(d):
        dd[i] = E[i, d]
        for j in range(d):
            D[i, j] = E[i, j]
    Sig = mp.inverse(D)
    mu = Sig * dd
    S = L * Sig * L.T
    m = mu0 + L * mu
    return [m[i] for i in range(d)] + tri(S)


def mvn_check_ode(theta0, vel, d):
    """Residual of the geodesic equations of the closed-form curve at t = 0.3."""
    t0 = mp.mpf("0.3")
    f = lambda t: mvn_geodesic(theta0, vel, t, d)
    p = f(t0)
    dp = [mp.diff(lambda t, i=i: f(t)[i], t0) for i in range(len(p))]
    ddp = [mp.diff(lambda t, i=i: f(t)[i], t0, 2) for i in range(len(p))]
    S = sym(p[d:], d)
    Sd = sym(dp[d:], d)
    Sdd = sym(ddp[d:], d)
    mud = mp.matrix(dp[:d])
    mudd = mp.matrix(ddp[:d])
    Si = mp.inverse(S)
    r1 = mudd - Sd * Si * mud
    r2 = Sdd + mud * mud.T - Sd * Si * Sd
    start = f(mp.mpf(0))
    d0 = [mp.diff(lambda t, i=i: f(t)[i], 0) for i in range(len(p))]
    return max(max(abs(v) for v in r1), max(abs(v) for v in r2),
               max(abs(a - b) for a, b in zip(start, theta0)),
               max(abs(a - b) for a, b in zip(d0, vel)))


def mvn_speed(theta0, vel, d):
    S = sym(theta0[d:], d)
    Si = mp.inverse(S)
    x = mp.matrix(vel[:d])
    B = sym(vel[d:], d)
    M = Si * B
    M2 = M * M
    return mp.sqrt((x.T * Si * x)[0] + sum(M2[i, i] for i in range(d)) / 2)


def mvn_distance(a, b, d, stages=20):
    a = [mp.mpf(v) for v in a]
    b = [mp.mpf(v) for v in b]
    n = len(a)
    v = [(bb - aa) / stages for aa, bb in zip(a, b)]
    for k in range(1, stages + 1):
        s = mp.mpf(k) / stages
        target = [aa + s * (bb - aa) for aa, bb in zip(a, b)]
        if k > 1:
            v = [vi * s / (mp.mpf(k - 1) / stages) for vi in v]
        g = lambda *vv: [p - q for p, q in zip(mvn_geodesic(a, list(vv), 1, d), target)]
        v = list(mp.findroot(g, v, tol=mp.mpf(10) ** (-32)))
    return mvn_speed(a, v, d), v


import os
SKIP_MVN = os.environ.get("SKIP_MVN")
print("# mvn, d = 3 (9 parameters)")
mp.mp.dps = 40
a3 = [0, 0, 0, 1, 0.2, 1, 0.1, 0.3, 1]
v_test = [0.3, -0.2, 0.5, 0.1, 0.05, -0.2, 0.02, 0.1, 0.3]
print("closed-form curve solves the geodesic equations: residual",
      mp.nstr(mvn_check_ode([mp.mpf(x) for x in a3], [mp.mpf(x) for x in v_test], 3), 3))
cases = [
    ("far", a3, [5, -3, 2, 4, 1, 0.5, 0, 0.1, 0.09]),
    ("farther", a3, [20, -10, 5, 9, -2.5, 2, 0.3, 0.05, 0.04]),
]
for name, a, b in ([] if SKIP_MVN else cases):
    dist, vel = mvn_distance(a, b, 3)
    show(f"mvn3 {name} distance", dist)
    print(f"mvn3 {name} velocity:", [mp.nstr(x, 17) for x in vel])


# ---------------------------------------------------------------- 3. gamma, beta
mp.mp.dps = 30


def gamma_metric(p):
    k, r = p
    g = mp.matrix([[mp.psi(1, k), -1 / r], [-1 / r, k / r ** 2]])
    dg = [mp.matrix([[mp.psi(2, k), 0], [0, 1 / r ** 2]]),
          mp.matrix([[0, 1 / r ** 2], [1 / r ** 2, -2 * k / r ** 3]])]
    return g, dg


def beta_metric(p):
    a, b = p
    t1, t2, t3 = mp.psi(1, a), mp.psi(1, b), mp.psi(1, a + b)
    u1, u2, u3 = mp.psi(2, a), mp.psi(2, b), mp.psi(2, a + b)
    g = mp.matrix([[t1 - t3, -t3], [-t3, t2 - t3]])
    dg = [mp.matrix([[u1 - u3, -u3], [-u3, -u3]]),
          mp.matrix([[-u3, -u3], [-u3, u2 - u3]])]
    return g, dg


def rhs(metric, y):
    x = y[:2]
    v = y[2:]
    g, dg = metric(x)
    gi = mp.inverse(g)
    # Gamma_{d,bc} = 1/2 (d_b g_dc + d_c g_db - d_d g_bc); acc^a = -g^{ad} Gamma_{d,bc} v^b v^c
    first = [sum(0.5 * (dg[b][dd, c] + dg[c][dd, b] - dg[dd][b, c]) * v[b] * v[c]
                 for b in range(2) for c in range(2)) for dd in range(2)]
    acc = [-(gi[a, 0] * first[0] + gi[a, 1] * first[1]) for a in range(2)]
    return [v[0], v[1], acc[0], acc[1]]


def rk4(metric, x, v, n):
    y = [mp.mpf(x[0]), mp.mpf(x[1]), mp.mpf(v[0]), mp.mpf(v[1])]
    h = mp.mpf(1) / n
    for _ in range(n):
        k1 = rhs(metric, y)
        k2 = rhs(metric, [a + h / 2 * b for a, b in zip(y, k1)])
        k3 = rhs(metric, [a + h / 2 * b for a, b in zip(y, k2)])
        k4 = rhs(metric, [a + h * b for a, b in zip(y, k3)])
        y = [a + h / 6 * (p + 2 * q + 2 * r + s) for a, p, q, r, s in zip(y, k1, k2, k3, k4)]
    return y


def endpoint(metric, x, v, n=2000):
    y1 = rk4(metric, x, v, n)
    y2 = rk4(metric, x, v, 2 * n)
    return [(16 * b - a) / 15 for a, b in zip(y1[:2], y2[:2])]


def scipy_guess(metric, a, b):
    """Initial velocity by scipy.integrate.solve_bvp in double precision."""
    import numpy as np
    from scipy.integrate import solve_bvp

    def f(t, y):
        out = np.zeros_like(y)
        for i in range(y.shape[1]):
            r = rhs(metric, [mp.mpf(float(v)) for v in y[:, i]])
            out[:, i] = [float(v) for v in r]
        return out

    def bc(ya, yb):
        return np.array([ya[0] - a[0], ya[1] - a[1], yb[0] - b[0], yb[1] - b[1]])

    t = np.linspace(0, 1, 41)
    # Start on the straight line in log coordinates (positive parameters).
    la, lb = np.log(a), np.log(b)
    x = np.exp(np.outer(la, 1 - t) + np.outer(lb, t))
    v = x * (lb - la)[:, None]
    sol = solve_bvp(f, bc, t, np.vstack([x, v]), tol=1e-8, max_nodes=20000)
    assert sol.success, sol.message
    return [sol.y[2, 0], sol.y[3, 0]]


def solve2(metric, a, b, guess, n=1000):
    v = [mp.mpf(g) for g in guess]
    for it in range(8):
        e = endpoint(metric, a, v, n)
        r = [e[0] - b[0], e[1] - b[1]]
        if max(abs(x) for x in r) < mp.mpf(10) ** -20:
            break
        h = mp.mpf(10) ** -10
        J = mp.matrix(2, 2)
        for j in range(2):
            vp = list(v)
            vp[j] += h
            ep = endpoint(metric, a, vp, n)
            J[0, j] = (ep[0] - e[0]) / h
            J[1, j] = (ep[1] - e[1]) / h
        step = mp.lu_solve(J, mp.matrix(r))
        v = [v[0] - step[0], v[1] - step[1]]
        print("  newton", it, mp.nstr(max(abs(x) for x in r), 3))
    g, _ = metric([mp.mpf(a[0]), mp.mpf(a[1])])
    vv = mp.matrix(v)
    return mp.sqrt((vv.T * g * vv)[0]), v


print("# gamma and beta (30 digits, RK4 + Richardson)")
for name, metric, a, b in [
    ("gamma (1.5, 2) -> (6, 1)", gamma_metric, [1.5, 2.0], [6.0, 1.0]),
    ("gamma (0.01, 0.01) -> (100, 1000)", gamma_metric, [0.01, 0.01], [100.0, 1000.0]),
    ("beta (0.5, 0.5) -> (20, 3)", beta_metric, [0.5, 0.5], [20.0, 3.0]),
]:
    guess = scipy_guess(metric, a, b)
    print(f"  {name}: solve_bvp velocity {guess}")
    dist, vel = solve2(metric, a, b, guess)
    show(f"{name} distance", dist)
    print(f"{name} velocity:", [mp.nstr(x, 17) for x in vel])
