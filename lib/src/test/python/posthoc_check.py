"""numpy side of ai.emaspark.ema.PostHocSolverTest: the post-hoc EMA coefficients computed another way.

    posthoc_check.py CASE_DIR

CASE_DIR/case.json: "stored" (a list of [gamma, t]) and "target" ([gamma, t]). The profiles
p(tau) = (gamma+1) tau^gamma / t^(gamma+1) on [0, t] are integrated numerically (Gauss-Legendre on
[0, min(t_a, t_b)]) instead of in closed form, the normal equations solved with numpy's lstsq,
and gamma is also found from sigma_rel as the largest real root of the cubic
(g+2)^2 (g+3) sigma^2 = g+1 with numpy.roots. Writes result.json: coefficients, condition, gammas.
"""

import json
import sys
from pathlib import Path

import numpy as np


def profile(gamma, t, tau):
    return (gamma + 1) * tau**gamma / t ** (gamma + 1)


def dot(a, b, nodes, weights):
    upper = min(a[1], b[1])
    tau = 0.5 * upper * (nodes + 1)
    return 0.5 * upper * np.sum(weights * profile(a[0], a[1], tau) * profile(b[0], b[1], tau))


def gamma_of(sigma):
    s2 = sigma**-2
    roots = np.roots([1.0, 7.0, 16.0 - s2, 12.0 - s2])
    return float(max(r.real for r in roots if abs(r.imag) < 1e-9))


def main():
    case_dir = Path(sys.argv[1])
    case = json.loads((case_dir / "case.json").read_text())
    nodes, weights = np.polynomial.legendre.leggauss(400)
    stored = [tuple(p) for p in case["stored"]]
    target = tuple(case["target"])
    a = np.array([[dot(p, q, nodes, weights) for q in stored] for p in stored])
    b = np.array([dot(p, target, nodes, weights) for p in stored])
    x, *_ = np.linalg.lstsq(a, b, rcond=None)
    result = {
        "coefficients": x.tolist(),
        "condition": float(np.linalg.cond(a)),
        "gammas": [gamma_of(s) for s in case["sigma_rels"]],
    }
    (case_dir / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
