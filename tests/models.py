"""Models with hand-written cvxpy counterparts, shared by the compiler and layer tests.

Each case returns (model source, parameter values, the reference optimal value, reference
variable values (where unique), reference duals); the reference is an independently written
cvxpy model of the same problem, solved with Clarabel at tight tolerances.
"""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import numpy as np

EXAMPLES = Path(__file__).parents[1] / "examples"
CASES = {}


def case(function):
    CASES[function.__name__] = function
    return function


def solved(problem: cp.Problem) -> float:
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL, problem.status
    return problem.value


# ---- the shipped examples -------------------------------------------------------------------------


@case
def portfolio(rng):
    n = 20
    params = {"mu": rng.normal(size=n), "F": rng.normal(size=(n, n)) / 4, "w0": np.full(n, 1 / n), "gamma": 0.7}
    w = cp.Variable(n)
    budget = cp.sum(w) == 1
    value = solved(
        cp.Problem(
            cp.Minimize(params["gamma"] * cp.sum_squares(params["F"] @ w) - params["mu"] @ w),
            [budget, w >= 0, cp.norm1(w - params["w0"]) <= 0.5],
        )
    )
    return (EXAMPLES / "portfolio.opt").read_text(), params, value, {"w": w.value}, {"budget": budget.dual_value}


@case
def mpc(rng):
    nx, nu, T = 4, 2, 10
    A = np.eye(nx) + 0.1 * rng.normal(size=(nx, nx))
    B = rng.normal(size=(nx, nu))
    Qf, R = rng.normal(size=(nx, nx)), rng.normal(size=(nu, nu))
    params = {
        "A": A,
        "B": B,
        "x_init": rng.normal(size=nx),
        "Q": Qf @ Qf.T + np.eye(nx),
        "R": R @ R.T + np.eye(nu),
        "u_max": 0.8,
    }
    x, u = cp.Variable((nx, T + 1)), cp.Variable((nu, T))
    dynamics = [x[:, t + 1] == A @ x[:, t] + B @ u[:, t] for t in range(T)]
    constraints = [x[:, 0] == params["x_init"], *dynamics] + [cp.norm_inf(u[:, t]) <= 0.8 for t in range(T)]
    cost = sum(cp.quad_form(x[:, t], params["Q"]) for t in range(1, T + 1)) + sum(
        cp.quad_form(u[:, t], params["R"]) for t in range(T)
    )
    value = solved(cp.Problem(cp.Minimize(cost), constraints))
    duals = {"dynamics": np.stack([d.dual_value for d in dynamics])}
    return (EXAMPLES / "mpc.opt").read_text(), params, value, {"x": x.value, "u": u.value}, duals


@case
def sudoku(rng):
    n, m = 64, 40
    params = {"p": rng.normal(size=n), "A": rng.normal(size=(m, n)), "z0": np.full(n, 0.25)}
    z = cp.Variable(n)
    value = solved(
        cp.Problem(
            cp.Minimize(0.05 * cp.sum_squares(z) - params["p"] @ z),
            [params["A"] @ z == params["A"] @ params["z0"], z >= 0],
        )
    )
    return (EXAMPLES / "sudoku.opt").read_text(), params, value, {"z": z.value}, {}


@case
def lasso(rng):
    m, n = 50, 20
    params = {"X": rng.normal(size=(m, n)), "y": rng.normal(size=m), "lam": 0.1}
    beta = cp.Variable(n)
    value = solved(
        cp.Problem(cp.Minimize(0.5 / m * cp.sum_squares(params["X"] @ beta - params["y"]) + 0.1 * cp.norm1(beta)))
    )
    return (EXAMPLES / "lasso.opt").read_text(), params, value, {"beta": beta.value}, {}


@case
def svm(rng):
    m, d = 40, 5
    X = rng.normal(size=(m, d))
    y = np.sign(X @ rng.normal(size=d) + 0.3 * rng.normal(size=m))
    params = {"X": X, "y": y, "C": 1.0}
    w, b = cp.Variable(d), cp.Variable()
    value = solved(cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + cp.sum(cp.pos(1 - cp.multiply(y, X @ w + b))))))
    return (EXAMPLES / "svm.opt").read_text(), params, value, {"w": w.value}, {}


@case
def simplex_projection(rng):
    y = rng.normal(size=10)
    x = cp.Variable(10, nonneg=True)
    simplex = cp.sum(x) == 1
    value = solved(cp.Problem(cp.Minimize(cp.sum_squares(x - y)), [simplex]))
    return (
        (EXAMPLES / "simplex_projection.opt").read_text(),
        {"y": y},
        value,
        {"x": x.value},
        {"simplex": simplex.dual_value},
    )


@case
def tv_denoising(rng):
    n = 100
    y = np.repeat(rng.normal(size=5) * 10, 20) + rng.normal(size=n)
    x = cp.Variable(n)
    value = solved(cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x - y) + 5.0 * cp.norm1(cp.diff(x)))))
    return (EXAMPLES / "tv_denoising.opt").read_text(), {"y": y, "lam": 5.0}, value, {"x": x.value}, {}


@case
def transport(rng):
    s, k = 4, 6
    supply = rng.uniform(1, 2, size=s)
    demand = rng.uniform(0.2, 0.5, size=k)
    params = {"cost": rng.uniform(size=(s, k)), "supply": supply, "demand": demand, "congestion": 0.01}
    flow = cp.Variable((s, k), nonneg=True)
    shipped, received = cp.sum(flow, axis=1) <= supply, cp.sum(flow, axis=0) == demand
    value = solved(
        cp.Problem(
            cp.Minimize(cp.sum(cp.multiply(params["cost"], flow)) + 0.01 * cp.sum_squares(flow)), [shipped, received]
        )
    )
    return (
        (EXAMPLES / "transport.opt").read_text(),
        params,
        value,
        {"flow": flow.value},
        {"shipped": shipped.dual_value, "received": received.dual_value},
    )


@case
def max_utility(rng):
    n, r, scenarios = 8, 3, 5
    params = {
        "returns": rng.normal(size=(scenarios, n)),
        "use": rng.uniform(size=(r, n)),
        "capacity": np.ones(r),
        "upper": np.ones(n),
        "kappa": 0.1,
    }
    a = cp.Variable(n)
    value = solved(
        cp.Problem(
            cp.Maximize(cp.min(params["returns"] @ a) - 0.1 * cp.sum_squares(a)),
            [params["use"] @ a <= 1, 0 <= a, a <= 1],
        )
    )
    return (EXAMPLES / "max_utility.opt").read_text(), params, value, {"a": a.value}, {}


@case
def huber_regression(rng):
    m, n = 60, 8
    X = rng.normal(size=(m, n))
    y = X @ rng.normal(size=n) + rng.standard_t(2, size=m)
    params = {"X": X, "y": y, "M": 1.5, "weights": rng.uniform(size=n)}
    beta = cp.Variable(n)
    value = solved(
        cp.Problem(
            cp.Minimize(cp.sum(cp.huber(X @ beta - y, 1.5)) + 0.1 * cp.sum_squares(cp.diag(params["weights"]) @ beta)),
            [-10 <= beta, beta <= 10, cp.sum(beta[::2]) >= -1],
        )
    )
    return (EXAMPLES / "huber_regression.opt").read_text(), params, value, {"beta": beta.value}, {}


@case
def inventory(rng):
    T = 12
    demand = rng.uniform(2, 8, size=T)
    params = {"demand": demand, "s0": 1.0, "order_cost": 1.0, "hold_cost": 0.1, "backlog_cost": 2.0, "capacity": 20.0}
    order, stock = cp.Variable(T, nonneg=True), cp.Variable(T + 1)
    balance = [stock[t + 1] == stock[t] + order[t] - demand[t] for t in range(T)]
    level = stock[1:]
    cost = (
        cp.sum(order)
        + 0.1 * cp.sum(cp.pos(level))
        + 2 * cp.sum(cp.neg(level))
        + 0.01 * cp.sum(cp.square(order[1:] - order[:-1]))
    )
    value = solved(
        cp.Problem(cp.Minimize(cost), [stock[0] == 1.0, *balance, order <= 20, cp.max(order) - cp.min(order) <= 10])
    )
    return (
        (EXAMPLES / "inventory.opt").read_text(),
        params,
        value,
        {},
        {"balance": np.array([b.dual_value for b in balance])},
    )


@case
def metric_projection(rng):
    n, k = 6, 3
    factor = rng.normal(size=(n, n))
    params = {
        "y": rng.normal(size=n) * 2,
        "S": np.eye(n) + 0.1 * (lambda a: a + a.T)(rng.normal(size=(n, n))),
        "P": factor @ factor.T / n + 0.1 * np.eye(n),
        "L": rng.normal(size=(n, n)) / 3,
        "c": rng.uniform(-0.5, 0.5, size=(k, n)),
        "d": np.ones(k),
    }
    x = cp.Variable(n)
    constraints = [
        params["c"] @ x <= params["d"],
        cp.vstack([x[0:3], x[3:6]]) <= 1,
        cp.hstack([x, -x]) <= 2,
        cp.maximum(cp.maximum(x, -x), 0.5 * x) <= 1.5,
        cp.minimum(x, 0) >= -1,
        np.diag(params["S"]) @ x <= 10,
    ]
    value = solved(
        cp.Problem(
            cp.Minimize(cp.quad_form(x - params["y"], params["P"]) + 0.1 * cp.sum_squares(params["L"].T @ x)),
            constraints,
        )
    )
    return (EXAMPLES / "metric_projection.opt").read_text(), params, value, {"x": x.value}, {}


# ---- further models: every atom, constraint form, loops, slices, matrix variables --------------------


@case
def atoms_elementwise(rng):
    source = """
dimension n = 6
parameter a[n]
parameter c[n] nonneg
variable x[n]
minimize c @ abs(x - a) + sum(maximum(x, 2 * a, -1)) - sum(minimum(x, a)) + sum(pos(x - 1)) + sum(neg(x + 1)) + sum_squares(x) / 4
"""
    a, c = rng.normal(size=6), rng.uniform(size=6)
    x = cp.Variable(6)
    cost = (
        c @ cp.abs(x - a)
        + cp.sum(cp.maximum(x, 2 * a, -1))
        - cp.sum(cp.minimum(x, a))
        + cp.sum(cp.pos(x - 1))
        + cp.sum(cp.neg(x + 1))
        + cp.sum_squares(x) / 4
    )
    return source, {"a": a, "c": c}, solved(cp.Problem(cp.Minimize(cost))), {"x": x.value}, {}


@case
def norms_and_extremes(rng):
    source = """
dimension n = 5
parameter A[n, n]
parameter b[n]
variable x[n]
maximize min(A @ x - b) - norm_inf(x) - 0.5 * norm1(x[1:]) - max(x[0:2])
subject to
    sum_box: -2 <= sum(x) <= 2
    norm1(x) <= 4
"""
    A, b = rng.normal(size=(5, 5)), rng.normal(size=5)
    x = cp.Variable(5)
    box_low, box_high = -2 <= cp.sum(x), cp.sum(x) <= 2
    value = solved(
        cp.Problem(
            cp.Maximize(cp.min(A @ x - b) - cp.norm_inf(x) - 0.5 * cp.norm1(x[1:]) - cp.max(x[0:2])),
            [box_low, box_high, cp.norm1(x) <= 4],
        )
    )
    return source, {"A": A, "b": b}, value, {}, {}


@case
def quadratic_forms(rng):
    source = """
dimension n = 4
parameter F[n, n]
parameter P[n, n] psd
parameter d[n] nonneg
parameter w[n] nonneg
parameter target[n]
variable x[n]
minimize quad_form(x - target, F.T @ F) + quad_form(x, P) + quad_form(x, diag(d)) + w @ square(x) + (x[0] - 1) ** 2 + 3 * sum(huber(x)) + huber(x[1], 0.5)
"""
    F, d, w, target = rng.normal(size=(4, 4)), rng.uniform(size=4), rng.uniform(size=4), rng.normal(size=4) * 3
    factor = rng.normal(size=(4, 4))
    P = factor @ factor.T
    x = cp.Variable(4)
    cost = (
        cp.quad_form(x - target, F.T @ F)
        + cp.quad_form(x, P)
        + cp.quad_form(x, np.diag(d))
        + w @ cp.square(x)
        + cp.square(x[0] - 1)
        + 3 * cp.sum(cp.huber(x))
        + cp.huber(x[1], 0.5)
    )
    value = solved(cp.Problem(cp.Minimize(cost)))
    return source, {"F": F, "P": P, "d": d, "w": w, "target": target}, value, {"x": x.value}, {}


@case
def squared_hinge(rng):
    source = """
dimension m = 30
dimension d = 4
parameter X[m, d]
parameter y[m]
variable w[d]
minimize sum_squares(pos(1 - y * (X @ w))) + 0.1 * sum_squares(w)
"""
    X = rng.normal(size=(30, 4))
    y = np.sign(rng.normal(size=30))
    w = cp.Variable(4)
    value = solved(cp.Problem(cp.Minimize(cp.sum_squares(cp.pos(1 - cp.multiply(y, X @ w))) + 0.1 * cp.sum_squares(w))))
    return source, {"X": X, "y": y}, value, {"w": w.value}, {}


@case
def matrix_variable(rng):
    source = """
dimension m = 3
dimension n = 4
parameter C[m, n]
parameter r[m] nonneg
parameter s[n]
variable X[m, n]
minimize sum_squares(X - C) + sum(abs(X.T @ r)) + sum_squares(diag(X[:, 0:3]))
subject to
    rows: sum(X, axis=1) == r
    columns: sum(X, axis=0) <= s + 1
    X[::2, ::-1] >= -1
    X[-1, 1:] <= 2
    vstack(X[0], X[1] - X[2]) <= 3
    hstack(X[:, 0], X[:, 1]) >= -2
"""
    C, r, s = rng.normal(size=(3, 4)), rng.uniform(size=3), rng.uniform(size=4)
    X = cp.Variable((3, 4))
    rows, columns = cp.sum(X, axis=1) == r, cp.sum(X, axis=0) <= s + 1
    constraints = [
        rows,
        columns,
        X[::2, ::-1] >= -1,
        X[-1, 1:] <= 2,
        cp.vstack([X[0], X[1] - X[2]]) <= 3,
        cp.hstack([X[:, 0], X[:, 1]]) >= -2,
    ]
    value = solved(
        cp.Problem(
            cp.Minimize(cp.sum_squares(X - C) + cp.sum(cp.abs(X.T @ r)) + cp.sum_squares(cp.diag(X[:, 0:3]))),
            constraints,
        )
    )
    return (
        source,
        {"C": C, "r": r, "s": s},
        value,
        {"X": X.value},
        {"rows": rows.dual_value, "columns": columns.dual_value},
    )


@case
def loops_triangular(rng):
    source = """
dimension n = 6
parameter c[n]
parameter cap[n] nonneg
variable x[n]
minimize sum_squares(x - c)
subject to
    for t in range(1, n):
        growing: sum(x[j] for j in range(t)) <= cap[t] + t
        for j in range(t, n):
            x[j] >= x[t - 1] - 1
    for t in range(n - 1, 0, -2):
        x[t] <= 2 * t
"""
    c, cap = rng.normal(size=6) * 3, rng.uniform(size=6)
    x = cp.Variable(6)
    growing = [cp.sum(x[:t]) <= cap[t] + t for t in range(1, 6)]
    constraints = (
        growing
        + [x[j] >= x[t - 1] - 1 for t in range(1, 6) for j in range(t, 6)]
        + [x[t] <= 2 * t for t in range(5, 0, -2)]
    )
    value = solved(cp.Problem(cp.Minimize(cp.sum_squares(x - c)), constraints))
    return source, {"c": c, "cap": cap}, value, {"x": x.value}, {"growing": np.array([g.dual_value for g in growing])}


@case
def loops_with_data(rng):
    source = """
dimension T = 8
dimension k = 3
parameter ref[k, T]
parameter weight[T] nonneg
parameter Q[k, k] psd
parameter slope nonneg = 0.5
variable x[k, T]
minimize sum(weight[t] * quad_form(x[:, t] - ref[:, t], Q) for t in range(T)) + sum(t * sum(x[:, t]) for t in range(T)) / T
subject to
    for t in range(1, T):
        let step = x[:, t] - x[:, t - 1]
        smooth: -slope <= step <= slope
        norm_inf(step) <= slope * (1 + t / T)
"""
    ref, weight = rng.normal(size=(3, 8)), rng.uniform(0.5, 1.5, size=8)
    factor = rng.normal(size=(3, 3))
    Q = factor @ factor.T + np.eye(3)
    x = cp.Variable((3, 8))
    smooth_low = [-0.5 <= x[:, t] - x[:, t - 1] for t in range(1, 8)]
    smooth_high = [x[:, t] - x[:, t - 1] <= 0.5 for t in range(1, 8)]
    others = [cp.norm_inf(x[:, t] - x[:, t - 1]) <= 0.5 * (1 + t / 8) for t in range(1, 8)]
    cost = (
        sum(weight[t] * cp.quad_form(x[:, t] - ref[:, t], Q) for t in range(8))
        + sum(t * cp.sum(x[:, t]) for t in range(8)) / 8
    )
    value = solved(cp.Problem(cp.Minimize(cost), smooth_low + smooth_high + others))
    duals = {
        "smooth": np.stack(
            [np.stack([c.dual_value for c in smooth_low]), np.stack([c.dual_value for c in smooth_high])]
        )
    }
    return source, {"ref": ref, "weight": weight, "Q": Q}, value, {"x": x.value}, duals


@case
def division_and_parameters(rng):
    source = """
dimension n = 5
parameter a[n]
parameter scale nonneg
parameter G[n, n]
variable x[n] nonpos
minimize sum_squares(x / scale - a) + (G @ G.T @ x) @ a / (1 + scale)
subject to
    equal: 2 * x[0] == x[1] == x[2] / 2 - 0.1
"""
    a, scale, G = rng.normal(size=5), 1.7, rng.normal(size=(5, 5))
    x = cp.Variable(5, nonpos=True)
    value = solved(
        cp.Problem(
            cp.Minimize(cp.sum_squares(x / scale - a) + (G @ G.T @ x) @ a / (1 + scale)),
            [2 * x[0] == x[1], x[1] == x[2] / 2 - 0.1],
        )
    )
    return source, {"a": a, "scale": scale, "G": G}, value, {"x": x.value}, {}


@case
def feasibility(rng):
    source = """
dimension n = 4
parameter A[2, n]
parameter b[2]
variable x[n]
subject to
    A @ x == b
    -1 <= x <= 1
"""
    A = rng.normal(size=(2, 4))
    b = A @ rng.uniform(-0.5, 0.5, size=4)
    return source, {"A": A, "b": b}, 0.0, {}, {}


@case
def maximize_concave_quadratic(rng):
    source = """
dimension n = 5
parameter c[n]
parameter lo[n] nonpos
variable x[n]
maximize -sum_squares(x - c) + min(x) - 2 * sum(abs(x))
subject to
    x >= lo
    sum(x) <= 1
"""
    c, lo = rng.normal(size=5) * 2, -rng.uniform(size=5)
    x = cp.Variable(5)
    value = solved(
        cp.Problem(cp.Maximize(-cp.sum_squares(x - c) + cp.min(x) - 2 * cp.sum(cp.abs(x))), [x >= lo, cp.sum(x) <= 1])
    )
    return source, {"c": c, "lo": lo}, value, {"x": x.value}, {}


@case
def lets_and_reversed_slices(rng):
    source = """
dimension n = 6
parameter y[n]
variable x[n]
let r = x - y
let back = x[::-1]
minimize sum_squares(r) + sum(abs(back[1:] - back[:-1]))
subject to
    x[-1] == x[0]
    x[1:5:2] >= 0
"""
    y = rng.normal(size=6)
    x = cp.Variable(6)
    back = x[::-1]
    value = solved(
        cp.Problem(
            cp.Minimize(cp.sum_squares(x - y) + cp.sum(cp.abs(back[1:] - back[:-1]))), [x[5] == x[0], x[1:5:2] >= 0]
        )
    )
    return source, {"y": y}, value, {"x": x.value}, {}


@case
def constraint_forms(rng):
    source = """
dimension n = 4
parameter a[n]
parameter M[2, n]
parameter top nonneg
variable x[n]
variable y[2]
minimize sum_squares(x - a) + sum_squares(y - 1)
subject to
    linked: y == M @ x
    band: -top <= x[0] - x[1] <= top
    ordered: x[1:] >= x[:-1] - 1
    3 >= sum(x) >= -3
"""
    a, M, top = rng.normal(size=4) * 2, rng.normal(size=(2, 4)), 0.3
    x, y = cp.Variable(4), cp.Variable(2)
    low, high = -top <= x[0] - x[1], x[0] - x[1] <= top
    ordered = x[1:] >= x[:-1] - 1
    constraints = [y == M @ x, low, high, ordered, cp.sum(x) <= 3, cp.sum(x) >= -3]
    value = solved(cp.Problem(cp.Minimize(cp.sum_squares(x - a) + cp.sum_squares(y - 1)), constraints))
    duals = {"band": np.array([low.dual_value, high.dual_value]), "ordered": ordered.dual_value}
    return source, {"a": a, "M": M, "top": top}, value, {"x": x.value, "y": y.value}, duals
