"""The runners from Python (issue 14): bayesrg.bayes / flow / sde / run.

Each result is compared bit for bit with the command line's CSV files for the
same spec and seed (`bayesrg KIND cfg.toml --out DIR`; the CSV numbers are the
shortest decimals that read back to the same double), and with a closed form:
- bayes: the normal-mean flow (33) from a normal prior is the conjugate
  posterior, precision 1/s0² + T/σ², mean (m0/s0² + Tμ*/σ²)/precision
  (oracles.md §7), and T·Var → I⁻¹ = σ² (the late-time law, eq. 35);
- flow: the normal family's Fisher metric is diag(1/σ², 2/σ²) (eq. 29), so the
  eigenvalues, widths √(τ/λ) and n_eff = Σλ/(λ+τ) are closed forms;
- sde: the Ornstein–Uhlenbeck law, mean y0·e^{−bt}, variance s²(1 − e^{−2bt})/(2b),
  within 5 Monte Carlo standard errors.
"""
import csv
import math

import numpy as np
import pytest

import bayesrg


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)


def to_toml(spec):
    """A spec dict as TOML (scalars and arrays first, then tables and arrays
    of tables), enough for the runners' configs."""
    lines, tables = [], []
    for k, v in spec.items():
        if isinstance(v, dict):
            tables.append(f"\n[{k}]")
            tables += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                tables.append(f"\n[[{k}]]")
                tables += [f"{kk} = {_toml_value(vv)}" for kk, vv in x.items()]
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines + tables) + "\n"


def read_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], np.array([[float(x) for x in r] for r in rows[1:]], dtype=np.float64)


def same_bits(py, cli):
    """Every finite value the same double. The result document writes NaN and
    ±∞ as null (read as NaN here), the CSV writes them out: a NaN on the
    Python side must be a non-finite value in the CSV (var_35 at T = 0 is +∞)."""
    a = np.asarray(py, dtype=np.float64)
    b = np.asarray(cli, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    ok = (np.isnan(a) & ~np.isfinite(b)) | (a.view(np.uint64) == b.view(np.uint64))
    assert np.all(ok), np.argwhere(~ok)
    assert np.isfinite(a).sum() > 0


def run_cli(cli, tmp_path, kind, spec):
    cfg = tmp_path / f"{kind}.toml"
    cfg.write_text(to_toml(spec))
    out = tmp_path / f"{kind}-out"
    r = cli(kind, str(cfg), "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


# The normal mean with σ held at 1.5, prior N(0.3, 2²).
SIGMA, M0, S0, MU_STAR = 1.5, 0.3, 2.0, 0.5
BAYES = {
    "theta_star": [MU_STAR, SIGMA],
    "free": ["mu"],
    "t": [0.0, 1.0, 10.0, 100.0, 1000.0],
    "particles": 2000,
    "n_data": 64,
    "seed": 11,
    "late_tolerance": 0.01,
    "model": {"type": "normal"},
    "prior": [{"dist": "normal", "mean": M0, "sd": S0}],
    "grid": [{"lo": -14.0, "hi": 14.0, "n": 1400}],
}


def conjugate(t):
    prec = 1 / S0**2 + t / SIGMA**2
    return (M0 / S0**2 + t * MU_STAR / SIGMA**2) / prec, 1 / prec


def test_bayes_matches_the_command_line_bit_for_bit(cli, tmp_path):
    r = bayesrg.bayes(BAYES)
    out = run_cli(cli, tmp_path, "bayes", BAYES)
    head, table = read_csv(out / "flow.csv")
    frame = r.records_frame()
    assert list(frame.columns) == head
    same_bits(frame.to_numpy(), table)
    head, table = read_csv(out / "data.csv")
    same_bits(r.data_frame().to_numpy(dtype=np.float64), table)
    assert r.passed, r.checks_frame()


def test_bayes_against_the_conjugate_flow_and_the_late_time_law():
    r = bayesrg.bayes(BAYES)
    t, mean, var = r.t, r.record("mean")[:, 0], r.record("cov")[:, 0, 0]
    m, v = np.array([conjugate(x) for x in t]).T
    # The grid quadrature of (34) on 1200 cells: far below 1e-8 relative.
    np.testing.assert_allclose(mean, m, rtol=0, atol=1e-8 * np.sqrt(v).max())
    np.testing.assert_allclose(var, v, rtol=1e-8)
    # Eq. (35): T·Var → I(μ*)⁻¹ = σ², here exactly σ²/(1 + σ²/(s0²T)).
    assert r.fisher[0, 0] == pytest.approx(1 / SIGMA**2, rel=1e-12)
    late = t[-1] * var[-1]
    assert abs(late - SIGMA**2) / SIGMA**2 <= SIGMA**2 / (S0**2 * t[-1]) * 1.0001
    assert r.record("var_35")[-1, 0] == pytest.approx(SIGMA**2 / t[-1], rel=1e-12)


FLOW = {
    "mu": [0.0, 1.0],
    "tau": [0.001, 0.01, 0.03, 0.1],
    "samples": 500,
    "seed": 3,
    "model": {"type": "normal"},
    "y_grid": {"lo": -12.0, "hi": 12.0, "n": 600},
}


def test_flow_matches_the_command_line_bit_for_bit(cli, tmp_path):
    r = bayesrg.flow(FLOW)
    out = run_cli(cli, tmp_path, "flow", FLOW)
    head, table = read_csv(out / "observables.csv")
    mine = np.column_stack(
        [r.tau, r.row("mu")]
        + [r.row(k) for k in ("kl", "entropy", "n_eff", "map_fisher_speed", "rejected_fraction",
                              "kl_data", "entropy_data", "energy_distance",
                              "energy_distance_floor", "moment_z")]
        + [r.row("fisher_eigenvalues"), r.row("widths")]
    )
    same_bits(mine, table)
    head, table = read_csv(out / "predictive.csv")
    same_bits(np.column_stack([r.y, r.p0, r.predictive.T]), table)


def test_flow_against_the_normal_fisher_metric():
    r = bayesrg.flow(FLOW)
    sigma = FLOW["mu"][1]
    lam = np.array([2 / sigma**2, 1 / sigma**2])  # stiffest first
    tau = r.tau
    np.testing.assert_allclose(r.row("fisher_eigenvalues"), np.tile(lam, (len(tau), 1)), rtol=1e-12)
    np.testing.assert_allclose(r.row("widths"), np.sqrt(tau[:, None] / lam), rtol=1e-12)
    np.testing.assert_allclose(r.row("n_eff"), (lam / (lam + tau[:, None])).sum(axis=1), rtol=1e-12)
    # The predictive (39) is a density: its quadrature holds the mass.
    h = r.y[1] - r.y[0]
    np.testing.assert_allclose(r.predictive.sum(axis=1) * h, 1.0, atol=1e-3)


B, S, Y0 = 1.5, 0.8, 2.0
SDE = {
    "seed": 5,
    "paths": 4000,
    "dt": 0.01,
    "save_at": [0.5, 2.0],
    "y0": [Y0],
    "stepper": "sra1",
    "drift": {"type": "ou", "b": [[B]], "centre": [0.0]},
    "diffusion": {"type": "k_inv", "matrix": [[S * S]]},
}


def test_sde_matches_the_command_line_and_the_ou_law(cli, tmp_path):
    r = bayesrg.sde(SDE)
    out = run_cli(cli, tmp_path, "sde", SDE)
    head, table = read_csv(out / "moments.csv")
    same_bits(np.column_stack([r.t, r.mean, r.exact_mean, r.cov[:, 0, 0], r.exact_cov[:, 0, 0]]), table)
    # The OU law, independently of the library's own exact law. The noise is
    # dW·√(K⁻¹) with K⁻¹ = s²: variance s²(1 − e^{−2bt})/(2b).
    t = r.t
    m = Y0 * np.exp(-B * t)
    v = S * S * (1 - np.exp(-2 * B * t)) / (2 * B)
    n = SDE["paths"]
    assert r.states.shape == (2, n, 1)
    assert np.all(np.abs(r.mean[:, 0] - m) <= 5 * np.sqrt(v / n))
    assert np.all(np.abs(r.cov[:, 0, 0] - v) <= 5 * v * math.sqrt(2 / (n - 1)))


def test_a_bad_spec_raises_input_error_naming_the_field():
    bad = dict(BAYES, grid=[{"lo": "minus nine", "hi": 9.0, "n": 100}])
    with pytest.raises(bayesrg.InputError, match=r"grid\[0\]\.lo"):
        bayesrg.bayes(bad)
    with pytest.raises(bayesrg.InputError, match="late_tolerance"):
        bayesrg.bayes(dict(BAYES, late_tolerance=-1.0))
    with pytest.raises(bayesrg.InputError, match="tau"):
        bayesrg.flow(dict(FLOW, tau=[0.1, 0.01]))
    with pytest.raises(bayesrg.InputError, match="unknown field `sample`"):
        bayesrg.flow(dict(FLOW, sample=10))
    with pytest.raises(bayesrg.InputError, match="unknown command"):
        bayesrg.run("fly", FLOW)
    with pytest.raises(bayesrg.InputError, match="finite"):
        bayesrg.flow(dict(FLOW, tau=[float("nan")]))


def test_numpy_values_in_a_spec_keep_their_bits():
    spec = dict(FLOW, tau=np.array(FLOW["tau"]), mu=np.array(FLOW["mu"]))
    same_bits(bayesrg.flow(spec).predictive, bayesrg.flow(FLOW).predictive)
