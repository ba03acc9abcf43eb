"""BHYT check benchmark: client overhead per check, and time-to-decision when the gateway hangs.

Runs the real client against the BHXH gateway SIMULATOR on 127.0.0.1.

1. Client overhead per check, excluding server time (target ≤ 5 ms):
   wall time per check minus the simulator's own handling time, and the client
   thread's CPU time per check. Alternative in the same run: a naive client (new
   connection and new token for every check).
2. Time-to-decision while the gateway hangs, with the configured defaults
   (timeout 5 s, budget 6 s): the first patient waits at most the budget, the next
   ones at most 50 ms while the breaker is open. Alternative: the same client
   without a breaker (every patient waits the budget).

Usage: python benchmarks/bhyt_check.py [--checks N] [--patients N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time

import requests

from kiosk.config.model import BhxhConfig
from kiosk.services.bhxh import BhxhClient, BhxhInsurance, CircuitBreaker
from kiosk.services.bhxh.protocol import CHECK_PATH, TOKEN_PATH, check_body, password_md5
from kiosk.services.bhxh.simulator import BhxhGatewaySimulator

CONFIG = BhxhConfig(url="simulator", username="01824_BV", password="simulator-password",
                    operator_name="Trần Thị Lan", operator_cccd="001185000123")
ASK = ("001185012345", "Nguyễn Thị Hồng Nhung", dt.date(1985, 3, 14))


def per_check(sim: BhxhGatewaySimulator, run: object, n: int) -> tuple[float, float, float]:
    """(wall ms, wall minus server ms, client-thread CPU ms) per check, medians of 5 rounds."""
    walls, overheads, cpus = [], [], []
    for _ in range(5):
        server0 = sim.server_time_s
        cpu0, t0 = time.thread_time(), time.perf_counter()
        for _ in range(n):
            run()  # type: ignore[operator]
        wall = time.perf_counter() - t0
        cpu = time.thread_time() - cpu0
        server = sim.server_time_s - server0
        walls.append(wall / n * 1000)
        overheads.append((wall - server) / n * 1000)
        cpus.append(cpu / n * 1000)
    return statistics.median(walls), statistics.median(overheads), statistics.median(cpus)


def naive_check(base_url: str) -> None:
    """What a straightforward client does: fresh connection and token every time."""
    md5 = password_md5(CONFIG.password)
    token = requests.post(base_url + TOKEN_PATH, data={"username": CONFIG.username,
                                                       "password": md5}, timeout=5).json()
    params = {"token": token["APIKey"]["access_token"], "id_token": token["APIKey"]["id_token"],
              "username": CONFIG.username, "password": md5}
    body = check_body(*ASK, CONFIG.operator_name, CONFIG.operator_cccd)
    answer = requests.post(base_url + CHECK_PATH, params=params, json=body, timeout=5).json()
    assert answer["maKetQua"] == "000"


def overhead(checks: int) -> dict[str, float]:
    with BhxhGatewaySimulator() as sim:
        client = BhxhClient.from_config(CONFIG, sim.base_url)
        insurance = BhxhInsurance(client, facility_code="01824", budget_s=CONFIG.budget_s)

        def ours() -> None:
            assert insurance.check_key(*ASK).code == "000"

        for _ in range(20):
            ours()  # warm: connection, token, imports
        wall, over, cpu = per_check(sim, ours, checks)
        n_wall, n_over, n_cpu = per_check(sim, lambda: naive_check(sim.base_url),
                                          max(checks // 4, 10))
    print(f"client overhead per check (excluding server time), {checks} checks x 5 rounds:")
    print(f"  kiosk client : wall {wall:6.2f} ms, minus server {over:6.2f} ms, "
          f"client CPU {cpu:6.2f} ms   (target <= 5 ms)")
    print(f"  naive client : wall {n_wall:6.2f} ms, minus server {n_over:6.2f} ms, "
          f"client CPU {n_cpu:6.2f} ms   (new connection + token per check)")
    print(f"  ratio naive/kiosk (minus server): {n_over / over:5.1f}x")
    return {"overhead_ms": over, "cpu_ms": cpu, "naive_overhead_ms": n_over}


def hang(patients: int) -> dict[str, float]:
    with BhxhGatewaySimulator(hang_s=60) as sim:
        sim.inject("hang")
        results = {}
        for label, breaker in (("with breaker", CircuitBreaker()),
                               ("no breaker", CircuitBreaker(failure_threshold=10**6))):
            client = BhxhClient.from_config(CONFIG, sim.base_url, breaker=breaker)
            insurance = BhxhInsurance(client, facility_code="01824", budget_s=CONFIG.budget_s)
            times = []
            count = patients if label == "with breaker" else 2
            for _ in range(count):
                t0 = time.perf_counter()
                result = insurance.check_key(*ASK)
                times.append(time.perf_counter() - t0)
                assert result.outcome == "unavailable"
            client.close()
            results[label] = times
    first, rest = results["with breaker"][0], results["with breaker"][1:]
    print(f"\ntime-to-decision while the gateway hangs (timeout {CONFIG.timeout_s} s, "
          f"budget {CONFIG.budget_s} s):")
    print(f"  with breaker : first patient {first:6.3f} s (target <= {CONFIG.budget_s} s); "
          f"next {len(rest)} patients max {max(rest) * 1000:7.3f} ms (target <= 50 ms)")
    nb = results["no breaker"]
    print(f"  no breaker   : every patient waits: {', '.join(f'{t:.3f} s' for t in nb)}")
    print(f"  ratio (2nd patient, no breaker / with breaker): {nb[1] / max(rest):,.0f}x")
    return {"first_s": first, "next_max_ms": max(rest) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--patients", type=int, default=5)
    args = parser.parse_args()
    o = overhead(args.checks)
    h = hang(max(args.patients, 2))
    ok = o["overhead_ms"] <= 5 and h["first_s"] <= CONFIG.budget_s and h["next_max_ms"] <= 50
    print(f"\n{'PASS' if ok else 'FAIL'}: targets "
          f"{'met' if ok else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
