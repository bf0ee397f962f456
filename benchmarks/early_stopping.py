"""Early stopping on the learning-curve oracles: regret against GPU cost (issue 14, part 2-3).

Usage: ``nice -n 10 python benchmarks/early_stopping.py [--families all] [--seeds 3]
[--budget 12] [--pool 256] [--jobs 2] [--json PATH]``.

A simulated study, one trial at a time, on `mixopt.bench.learning_curves` oracles: every trial
is one training run of a mixture, evaluated at the checkpoints 0.25, 0.5 and 1.0 of its budget
(one noisy curve per run: a run offset shared by its checkpoints plus noise per checkpoint). A
trial stopped after the checkpoint at 0.5 has cost 0.5 full-run equivalents of GPU steps; the
study goes on until `--budget` full-run equivalents are spent. After every observation the
search policy's recommendation is scored by its normalized full-budget regret
``(max F - F(x)) / range F`` over the whole simplex.

Strategies (the one search policy, `mixopt.policy.SearchPolicy`, proposing rows of one
candidate pool of `--pool` Sobol mixtures per instance, the same for every strategy):

    full         today's policy: every trial runs its full budget; the GP sees full runs only.
    percentile   + Ax's percentile rule (`PercentileRule`: the bottom `--percentile` % at a
                 checkpoint, once `--min-curves` trials completed) at 0.25 and 0.5; the GP
                 sees full runs only and a stopped mixture is not proposed again.
    predictive   + our predictive rule (`PredictiveRule`, a curve GP over mixture and fraction,
                 stop when the full-budget value is below the incumbent's with probability
                 >= 1 - `--alpha`), and every checkpoint is an observation of the policy
                 (``PolicySettings.multi_fidelity``, observations at fidelity 0.25 and 0.5).
    full-simplex `full` proposing and recommending anywhere on the simplex (a study's path
                 today; no pool), for reference.
    predictive-cost  `predictive` with every pool mixture also offered at each checkpoint
                 fraction, at that cost: the cost-weighted acquisition may ask for a run to
                 0.25 or 0.5 only (it ends there), or a full run (the rule may stop it).
    oracle-stop  `predictive` with the oracle's rule (`OracleStopRule`: stop at a checkpoint iff
                 the trial's true full-budget value is below the best completed trial's): no
                 rule stops better with this policy, an upper bound.
    oracle-stop-full  `percentile` with the oracle's rule (the GP sees full runs only).
    oracle-free  `oracle-stop-full` whose stopped trials cost nothing: the cost is the number
                 of full runs, and every full run beats the incumbent (a second bound).

Prints a table of median regret (and the seeds' interquartile range) at costs 1..budget and
writes everything, per instance too, to `--json`. Issue 14's target: `predictive` at 6
full-run equivalents reaches the median regret of `full` after 12 full runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context

import numpy as np

from mixopt import simplex
from mixopt.bench.learning_curves import (
    DEFAULT_CHECKPOINTS,
    LEARNING_CURVE_FAMILIES,
    LearningCurveOracle,
    OracleStopRule,
    make_learning_curves,
)
from mixopt.early_stopping import PercentileRule, PredictiveRule, StopDecision, TrialCurve
from mixopt.policy import History, Observation, PolicySettings, SearchPolicy
from mixopt.pool import CandidatePool

STRATEGIES = ("full", "percentile", "predictive", "full-simplex", "predictive-cost",
              "oracle-stop", "oracle-stop-full", "oracle-free")
COST_STEP = 0.25  # the regret is recorded on this grid of costs (full-run equivalents)


@dataclass(frozen=True)
class Settings:
    """One benchmark's settings (all strategies share them)."""

    budget: float = 12.0
    pool: int = 256
    checkpoints: tuple[float, ...] = DEFAULT_CHECKPOINTS
    kernel: str = "ar1"
    alpha: float = 0.05
    predictive_min_curves: int = 2
    min_progression: float = 0.0
    percentile: float = 50.0
    min_curves: int = 5
    rule_model: str = "curve-gp"


def cost_grid(budget: float) -> list[float]:
    """``COST_STEP, 2 COST_STEP, .. budget`` (full-run equivalents)."""
    return [k * COST_STEP for k in range(1, round(budget / COST_STEP) + 1)]


def _regret_on_grid(events: list[tuple[float, float]], budget: float) -> list[float | None]:
    """Regret of the latest recommendation made with at most cost `c` spent, for every `c`
    of `cost_grid` (None before the first recommendation)."""
    out: list[float | None] = []
    for c in cost_grid(budget):
        made = [r for spent, r in events if spent <= c + 1e-9]
        out.append(made[-1] if made else None)
    return out


def run_study(strategy: str, family: str, seed: int, settings: Settings) -> dict:
    """One simulated study; its events ``(cost spent, regret)`` and trials."""
    curves = make_learning_curves(family, seed=seed)
    space = curves.space
    pool = CandidatePool(simplex.sample(settings.pool, space, np.random.default_rng([seed, 11]),
                                        method="sobol"))
    multi = strategy in ("predictive", "predictive-cost", "oracle-stop")
    free = strategy == "oracle-free"  # a stopped trial costs nothing
    on_pool = None if strategy == "full-simplex" else pool
    cost_aware = strategy == "predictive-cost"
    policy = SearchPolicy(PolicySettings(space=space, seed=seed,
                                         multi_fidelity=settings.kernel if multi else None))
    rule = None
    if strategy.startswith("oracle-"):  # before `multi`: oracle-stop is multi-fidelity too
        rule = OracleStopRule(curves)
    elif strategy == "percentile":
        rule = PercentileRule(percentile=settings.percentile, min_curves=settings.min_curves)
    elif multi:
        rule = PredictiveRule(alpha=settings.alpha, min_curves=settings.predictive_min_curves,
                              min_progression=settings.min_progression, seed=seed,
                              model=_rule_model(settings))
    noise = np.random.default_rng([seed, 7919])
    observations: list[Observation] = []
    trials: list[TrialCurve] = []
    abandoned: list[np.ndarray] = []
    events: list[tuple[float, float]] = []
    best_done: list[tuple[float, float]] = []  # (cost, true regret of the best completed trial)
    log: list[dict] = []
    spent = 0.0
    started = time.perf_counter()
    while spent < settings.budget - 1e-9:
        history = History(tuple(observations),
                          abandoned=np.vstack(abandoned) if abandoned else None)
        if cost_aware:
            on_pool = _with_checkpoints(pool, settings.checkpoints, observations)
        ask = policy.ask(history, 1, pool=on_pool)
        if not ask.proposals and free:  # every pool row is run or stopped: done
            break
        if not ask.proposals:
            raise RuntimeError(f"{strategy}: the policy proposed nothing ({ask.notes})")
        x, upto = ask.proposals[0].x, ask.proposals[0].fidelity
        run = _observe(curves, x, settings.checkpoints, noise)
        fractions: list[float] = []
        values: list[float] = []
        stopped = None
        previous = 0.0
        for t, v in zip(settings.checkpoints, run, strict=True):
            spent += t - previous
            previous = t
            fractions.append(t)
            values.append(v)
            if multi or t >= 1.0:
                observations.append(Observation(x, (v,), fidelity=t, cost=t))
                history = History(tuple(observations),
                                  abandoned=np.vstack(abandoned) if abandoned else None)
                rec = policy.recommend(history, pool=on_pool)
                if rec is not None:
                    events.append((spent, curves.regret(
                        rec.mixture.to_vector(space.domains)[None, :])))
            if rule is not None and t < 1.0:
                decision = rule.decide(TrialCurve(x, tuple(fractions), tuple(values)), trials)
                if decision.stop:
                    stopped = decision
                    if free:
                        spent -= previous
                    break
            if t >= upto - 1e-9 and t < 1.0:  # a run asked only up to this checkpoint
                stopped = _Asked(f"asked for a run to {upto:g} of the budget")
                break
        trials.append(TrialCurve(x, tuple(fractions), tuple(values),
                                 completed=stopped is None))
        regret = curves.regret(x[None, :])
        ruled = isinstance(stopped, StopDecision)
        # A wrong stop: the stopped mixture would have ended above every completed one.
        wrong = ruled and regret < min(
            (t["regret"] for t in log if t["stopped_at"] is None), default=np.inf)
        if stopped is None:
            best_done.append((spent, min(regret, best_done[-1][1]) if best_done else regret))
        if ruled:  # a run asked only to a checkpoint may be proposed again, further
            abandoned.append(x)
        log.append({"x": x.round(4).tolist(), "stopped_at": previous if stopped else None,
                    "asked_to": upto, "rule_stop": ruled,
                    "regret": regret, "wrong_stop": bool(wrong),
                    "reason": stopped.reason if stopped else None})
    return {
        "strategy": strategy, "family": family, "seed": seed,
        "regret_at_cost": _regret_on_grid(events, settings.budget),
        "best_completed_regret_at_cost": _regret_on_grid(best_done, settings.budget),
        "events": [[round(c, 4), r] for c, r in events],
        "trials": log, "full_runs": sum(t.completed for t in trials),
        "stopped": sum(t["rule_stop"] for t in log),
        "partial_runs": sum(t["stopped_at"] is not None and not t["rule_stop"] for t in log),
        "wrong_stops": sum(t["wrong_stop"] for t in log),
        "pool_best_regret": float(min(curves.regret(p[None, :]) for p in pool.X)),
        "wall_s": time.perf_counter() - started,
    }


def _with_checkpoints(pool: CandidatePool, checkpoints: tuple[float, ...],
                     observations: list[Observation]) -> CandidatePool:
    """Every mixture of `pool` at the first checkpoint, at each checkpoint observed so far
    and at the full budget, each row costing its fraction (the ar1 model predicts observed
    levels and the target only)."""
    levels = sorted({checkpoints[0], 1.0, *(o.fidelity for o in observations)})
    n = len(pool.X)
    return CandidatePool(np.tile(pool.X, (len(levels), 1)), fidelity=np.repeat(levels, n),
                         cost=np.repeat(levels, n))


@dataclass(frozen=True)
class _Asked:
    """A run that ended at the fraction the policy asked for (not a rule's stop)."""

    reason: str


def _rule_model(settings: Settings):
    """The predictive rule's curve model: its default `CurveGP`, or the policy's own
    multi-fidelity GP (so that the rule and the acquisition judge with one model)."""
    if settings.rule_model == "curve-gp":
        return None
    from mixopt.surrogates.multi_fidelity import MultiFidelityGP

    return lambda space, seed: MultiFidelityGP(space, seed, kernel=settings.kernel)


def _observe(curves: LearningCurveOracle, x: np.ndarray, checkpoints: tuple[float, ...],
             rng: np.random.Generator) -> list[float]:
    return [float(v) for v in curves.observe_run(x, checkpoints, rng)]


def _task(args: tuple[str, str, int, Settings]) -> dict:
    import torch

    torch.set_num_threads(1)  # tiny GPs gain nothing from threads on shared cores
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GPyTorch jitter warnings say nothing about regret
        return run_study(*args)


def summarize(runs: list[dict], settings: Settings) -> dict:
    """Per strategy: median and quartiles over instances of the regret at each grid cost."""
    out: dict = {"cost": cost_grid(settings.budget)}
    for strategy in STRATEGIES:
        rows = [r["regret_at_cost"] for r in runs if r["strategy"] == strategy]
        if not rows:
            continue
        R = np.array([[np.nan if v is None else v for v in row] for row in rows])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # all-None columns before the first result
            out[strategy] = {
                "median": np.nanmedian(R, axis=0).tolist(),
                "q25": np.nanpercentile(R, 25, axis=0).tolist(),
                "q75": np.nanpercentile(R, 75, axis=0).tolist(),
                "instances": len(rows),
                "best_completed_median": _median_of(
                    [r.get("best_completed_regret_at_cost") for r in runs
                     if r["strategy"] == strategy]),
                "full_runs_median": float(np.median([r["full_runs"] for r in runs
                                                     if r["strategy"] == strategy])),
                "stopped_median": float(np.median([r["stopped"] for r in runs
                                                   if r["strategy"] == strategy])),
                "stopped_total": int(sum(r["stopped"] for r in runs
                                         if r["strategy"] == strategy)),
                "wrong_stops_total": int(sum(r.get("wrong_stops", 0) for r in runs
                                             if r["strategy"] == strategy)),
            }
    return out


def _median_of(rows: list) -> list | None:
    """Median over instances per grid cost (None where no instance has a value)."""
    if not rows or any(row is None for row in rows):
        return None
    R = np.array([[np.nan if v is None else v for v in row] for row in rows])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [None if np.isnan(m) else float(m) for m in np.nanmedian(R, axis=0)]


def _at(summary: dict, strategy: str, cost: float) -> float | None:
    if strategy not in summary or cost not in summary["cost"]:
        return None
    return summary[strategy]["median"][summary["cost"].index(cost)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="all",
                        help=f"comma-separated, of {', '.join(LEARNING_CURVE_FAMILIES)}")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--strategies", default=",".join(STRATEGIES[:3]))
    parser.add_argument("--budget", type=float, default=12.0)
    parser.add_argument("--pool", type=int, default=256, help="candidate mixtures")
    parser.add_argument("--kernel", default="ar1", help="multi-fidelity kernel (predictive)")
    parser.add_argument("--alpha", type=float, default=0.05, help="predictive rule")
    parser.add_argument("--min-progression", type=float, default=0.0,
                        help="predictive rule: stop no earlier than this fraction")
    parser.add_argument("--rule-model", choices=("curve-gp", "mf-gp"), default="curve-gp",
                        help="the predictive rule's model")
    parser.add_argument("--percentile", type=float, default=50.0, help="percentile rule")
    parser.add_argument("--min-curves", type=int, default=5, help="percentile rule")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", default=None, help="write everything here")
    args = parser.parse_args()
    families = LEARNING_CURVE_FAMILIES if args.families == "all" \
        else tuple(args.families.split(","))
    strategies = tuple(s for s in args.strategies.split(",") if s)
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        parser.error(f"unknown strategies {unknown}; known: {', '.join(STRATEGIES)}")
    settings = Settings(budget=args.budget, pool=args.pool, kernel=args.kernel,
                        alpha=args.alpha, percentile=args.percentile,
                        rule_model=args.rule_model, min_progression=args.min_progression,
                        min_curves=args.min_curves)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    tasks = [(s, f, seed, settings) for f in families for seed in seeds for s in strategies]
    started = time.perf_counter()
    cpu0 = time.process_time()
    runs: list[dict] = []
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as ex:
        futures = [ex.submit(_task, t) for t in tasks]
        for future in as_completed(futures):
            r = future.result()
            runs.append(r)
            at6 = r["regret_at_cost"][min(round(6 / COST_STEP), len(r["regret_at_cost"])) - 1]
            print(f"{r['strategy']:>10} {r['family']:>12} seed {r['seed']}: regret at "
                  f"6 {at6}, at {settings.budget:g} "
                  f"{r['regret_at_cost'][-1]:.4f}; {r['full_runs']} full, {r['stopped']} "
                  f"stopped, {r['wall_s']:.0f} s", flush=True)
    wall = time.perf_counter() - started
    order = {t[:3]: i for i, t in enumerate(tasks)}
    runs.sort(key=lambda r: order[(r["strategy"], r["family"], r["seed"])])
    summary = summarize(runs, settings)
    reference = _at(summary, "full", 12.0)
    reached = _at(summary, "predictive", 6.0)
    print(f"\nmedian regret (q25-q75) over {len(families)} families x {args.seeds} seeds")
    print("cost  " + "  ".join(f"{s:>22}" for s in strategies if s in summary))
    for i, c in enumerate(summary["cost"]):
        if c != int(c):
            continue
        cells = [f"{summary[s]['median'][i]:.4f} ({summary[s]['q25'][i]:.3f}-"
                 f"{summary[s]['q75'][i]:.3f})" for s in strategies if s in summary]
        print(f"{c:4g}  " + "  ".join(f"{cell:>22}" for cell in cells))
    target = None if reference is None or reached is None else bool(reached <= reference)
    print(f"\ntarget (predictive at 6 <= full at 12): {reached} vs {reference}: "
          f"{'met' if target else 'not met' if target is not None else 'n/a'}; "
          f"wall {wall:.0f} s")
    for s in strategies:
        if s.startswith("oracle-") and _at(summary, s, 6.0) is not None:
            print(f"{s} at 6: {_at(summary, s, 6.0):.4f} (bound; full at 12: {reference})")
    if args.json:
        payload = {
            "benchmark": "early_stopping", "settings": asdict(settings),
            "families": list(families), "seeds": list(seeds), "strategies": list(strategies),
            "summary": summary, "target": {"full_at_12": reference, "predictive_at_6": reached,
                                           "met": target},
            "wall_s": wall, "cpu_s_main": time.process_time() - cpu0, "jobs": args.jobs,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            "runs": runs,
        }
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=1)


if __name__ == "__main__":
    main()
