"""`StudyConfig`: the validated YAML file of one mixture-optimization study.

Every error of a file is reported at once, one ``FILE: key.path: message`` line each
(`StudyConfigError`). Relative paths (``workdir``, ``domain_files``, ``train.model`` written as
``./...``) are read from the config file's folder, so a study runs from any folder.

Sections: ``name``, ``domains`` (registry names or inline domain definitions), ``search``
(design, surrogate, batch size, parallelism, trial count, stopping rule), ``train`` (the
`TrainJob` template of every trial), ``eval`` (benchmarks and objective(s)), ``launcher``
(``local`` | ``slurm`` | ``function``) and ``tracking`` (MLflow).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mixopt.designs import INITIAL_DESIGNS
from mixopt.errors import MixoptError
from rlvr.config_files import ConfigFileError, key_path, read_yaml, validation_error_lines
from rlvr.config_types import (
    NonEmptyStr,
    NonNegativeInt,
    NonNegativeReal,
    PositiveInt,
    PositiveReal,
    Real,
)
from rlvr.domains.spec import DomainName, DomainSpec
from rlvr.job import GRPOSettings, TrainJob
from studies.store_location import default_tracking_uri

SCHEMA_VERSION = 1
_CONFIG = ConfigDict(frozen=True, extra="forbid")
DEFAULT_EXPERIMENT = "mixopt-studies"
# Study names become MLflow tags, folder names and parts of run names.
StudyName = Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]


class StudyConfigError(ConfigFileError, MixoptError):
    """A study file with errors; ``lines`` holds one ``FILE: key.path: message`` each."""


class InitialDesign(BaseModel):
    model_config = _CONFIG

    kind: Literal[INITIAL_DESIGNS] = Field(  # type: ignore[valid-type]
        default="centroid+sobol",
        description="Initial design: centroid+sobol (default, measured best in docs/bench), "
        "sobol, dirichlet, reference_seed (MoDoMoDo's 11 points), exclude_one, "
        "vertices+centroid.",
    )
    n: PositiveInt = Field(
        default=4, description="Points of the space-filling designs (fixed designs ignore it)."
    )


class SurrogateSettings(BaseModel):
    model_config = _CONFIG

    name: NonEmptyStr = Field(default="gp", description="Registered surrogate (gp, scheffe, ...).")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword options of the surrogate (e.g. kernel)."
    )

    @model_validator(mode="after")
    def _known(self) -> SurrogateSettings:
        """The name and options, checked now rather than after the initial design."""
        from mixopt.surrogates import options

        problems = options.check(self.name, self.options)
        if problems:
            raise ValueError("; ".join(f"{key}: {message}" for key, message in problems))
        return self


class StoppingRule(BaseModel):
    """Stop once the best expected improvement stays below a threshold for some rounds."""

    model_config = _CONFIG

    ei_below: PositiveReal = Field(
        description="Expected improvement (objective units) under which a round counts as idle."
    )
    rounds: PositiveInt = Field(default=2, description="Consecutive idle rounds that stop.")


# A checkpoint's MLflow step is its fraction of the budget in thousandths (`studies.checkpoints`).
CHECKPOINT_STEPS = 1000


class FidelitySettings(BaseModel):
    """Checkpoint fidelity: every trial is evaluated at these fractions of its budget."""

    model_config = _CONFIG

    checkpoints: tuple[Real, ...] = Field(
        min_length=2, description="Increasing fractions of the training budget in (0, 1] at "
        "which a trial is evaluated, ending with 1.0 (the full run), e.g. [0.25, 0.5, 1.0]; "
        "at most thousandths (a checkpoint's MLflow step is its fraction x 1000).")
    kernel: Literal["ar1", "linear-truncated", "product"] = Field(
        default="ar1", description="Kernel of the multi-fidelity GP fitted to every "
        "checkpoint (mixopt.surrogates.multi_fidelity).")

    @field_validator("checkpoints")
    @classmethod
    def _fractions(cls, checkpoints: tuple[float, ...]) -> tuple[float, ...]:
        problems = []
        if any(not 0 < f <= 1 for f in checkpoints):
            problems.append("every fraction must lie in (0, 1]")
        if any(b <= a for a, b in itertools.pairwise(checkpoints)):
            problems.append("fractions must increase")
        if checkpoints and checkpoints[-1] != 1.0:
            problems.append("the last checkpoint must be 1.0 (the full budget)")
        steps = [f * CHECKPOINT_STEPS for f in checkpoints]
        if any(abs(s - round(s)) > 1e-9 for s in steps):
            problems.append("fractions are given in thousandths at most (e.g. 0.125)")
        if problems:
            raise ValueError("; ".join(problems) + f", got {list(checkpoints)}")
        return checkpoints


# Keys of `train` a proxy may override (`ProxyLevel.train`); `grpo` and `extra` are merged
# key by key into the study's, the others replaced. The seed stays the study's (comparable
# trials).
PROXY_TRAIN_KEYS = ("model", "budget", "max_steps", "save_steps", "grpo", "extra")


class ProxyLevel(BaseModel):
    """A cheaper stand-in for the target trial: the study's train job with some overrides."""

    model_config = _CONFIG

    name: Annotated[str, Field(strict=True, pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")] = Field(
        description="The proxy's name (MLflow tag `mixopt.fidelity`, `study status`); not "
        "`target`.")
    cost: Real = Field(
        description="Its cost relative to a target trial, in (0, 1) (e.g. 0.05: twenty proxy "
        "trials cost one target trial); also its fidelity in the multi-fidelity GP.")
    train: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the study's `train` section for this "
        "proxy's trials (model, budget, max_steps, save_steps, grpo, extra; grpo and extra "
        "merged key by key). Required unless the launcher is `function`, whose target gets "
        "the keyword `proxy=` instead.")

    @field_validator("cost")
    @classmethod
    def _cost(cls, cost: float) -> float:
        if not 0.0 < cost < 1.0:
            raise ValueError(f"must lie in (0, 1) (a target trial costs 1), got {cost}")
        return cost

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if name == "target":
            raise ValueError("`target` names the study's own trials; choose another name")
        return name

    @field_validator("train")
    @classmethod
    def _keys(cls, train: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(train) - set(PROXY_TRAIN_KEYS))
        if unknown:
            raise ValueError(f"unknown or fixed train key(s) {unknown}; a proxy may override "
                             f"{', '.join(PROXY_TRAIN_KEYS)}")
        for key in ("grpo", "extra"):
            if key in train and not isinstance(train[key], dict):
                raise ValueError(f"{key}: expected a mapping of keys to override")
        return train


class ProxySettings(BaseModel):
    """Proxy fidelity: trials of a cheaper proxy mixed with target trials, fitted together
    by a multi-fidelity GP; proposals weigh what a trial tells about the target by its cost."""

    model_config = _CONFIG

    levels: tuple[ProxyLevel, ...] = Field(
        description="The proxies: one for now (the ar1 model predicts observed levels only, "
        "and the initial design goes to the cheapest: a second proxy would never be run).")
    kernel: Literal["ar1", "linear-truncated", "product"] = Field(
        default="ar1", description="Kernel of the multi-fidelity GP over proxy and target "
        "trials (mixopt.surrogates.multi_fidelity).")
    min_target_runs: NonNegativeInt = Field(
        default=2, description="Target trials run (at the best predicted mixtures) before "
        "the acquisition may choose proxies again after the initial design: the model learns "
        "how the proxy relates to the target from them (ar1 fits a discrepancy from 2).")

    @field_validator("levels")
    @classmethod
    def _unique(cls, levels: tuple[ProxyLevel, ...]) -> tuple[ProxyLevel, ...]:
        names = [p.name for p in levels]
        costs = [p.cost for p in levels]
        problems = []
        if not levels:
            problems.append("give exactly one proxy for now, got 0")
        elif len(levels) > 1:
            problems.append(f"give exactly one proxy for now, got {len(levels)} (a second "
                            "proxy would never be run: the initial design goes to the cheapest "
                            "and the ar1 model predicts observed levels only)")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"proxy name(s) listed twice: {dupes}")
        if len(set(costs)) < len(costs):
            problems.append("two proxies with one cost (a proxy's cost is its fidelity)")
        if problems:
            raise ValueError("; ".join(problems))
        return levels

    def level(self, name: str) -> ProxyLevel:
        """The proxy called `name`.

        Raises:
            KeyError: no such proxy.
        """
        for p in self.levels:
            if p.name == name:
                return p
        raise KeyError(name)


class _RuleSettings(BaseModel):
    model_config = _CONFIG

    min_progression: Real = Field(
        default=0.0, description="Never stop a trial before this fraction of its budget.")
    max_progression: Real | None = Field(
        default=None, description="Never stop a trial after this fraction (None: any time).")

    def build(self, maximize: bool) -> Any:
        """The `mixopt.early_stopping` rule of these settings.

        Raises:
            MixoptError: a setting the rule refuses (all problems at once).
        """
        raise NotImplementedError

    @model_validator(mode="after")
    def _rule_accepts(self) -> _RuleSettings:
        try:
            self.build(maximize=True)
        except MixoptError as err:
            raise ValueError(str(err)) from None
        return self


class PercentileStopping(_RuleSettings):
    """Ax's percentile rule: stop a trial in the bottom `percentile` % at its checkpoint."""

    rule: Literal["percentile"]
    percentile: Real = Field(
        default=50.0, description="In [0, 100]: the bottom share (%) of trials at a "
        "checkpoint that is stopped.")
    min_curves: NonNegativeInt = Field(
        default=5, description="Completed trials needed before any trial is stopped (also "
        "the least number of trials compared at a checkpoint).")

    def build(self, maximize: bool) -> Any:
        from mixopt.early_stopping import PercentileRule

        return PercentileRule(percentile=self.percentile, min_progression=self.min_progression,
                              max_progression=self.max_progression,
                              min_curves=self.min_curves, maximize=maximize)


class PredictiveStopping(_RuleSettings):
    """Stop a trial whose predicted full-budget value is below the incumbent's with
    probability >= 1 - `alpha` (a GP over mixture and fraction fitted to every checkpoint)."""

    rule: Literal["predictive"]
    alpha: Real = Field(
        default=0.05, description="In (0, 1): the accepted chance of stopping a trial that "
        "would have beaten the incumbent.")
    min_curves: NonNegativeInt = Field(
        default=2, description="Completed trials needed before any trial is stopped (>= 1).")

    def build(self, maximize: bool) -> Any:
        from mixopt.early_stopping import PredictiveRule

        return PredictiveRule(alpha=self.alpha, min_progression=self.min_progression,
                              max_progression=self.max_progression,
                              min_curves=self.min_curves, maximize=maximize)


EarlyStopping = Annotated[PercentileStopping | PredictiveStopping, Field(discriminator="rule")]


class SearchSettings(BaseModel):
    model_config = _CONFIG

    initial_design: InitialDesign = Field(default_factory=InitialDesign)
    surrogate: SurrogateSettings = Field(default_factory=SurrogateSettings)
    acquisition: Literal["qlognei"] = Field(
        default="qlognei",
        description="Acquisition for one objective (qLogNEI); two objectives use qLogNEHVI.",
    )
    batch_size: PositiveInt = Field(
        default=4, description="Mixtures proposed per surrogate refit (q)."
    )
    parallelism: PositiveInt = Field(default=1, description="Trials running at once, at most.")
    max_trials: PositiveInt = Field(
        default=12, description="Trials of the study (mixtures); with `proxies`, the study's "
        "budget in target-run equivalents (a trial counts its cost).")
    max_retries: NonNegativeInt = Field(
        default=1, description="New attempts of a failed trial before it is abandoned."
    )
    trial_timeout_s: PositiveReal | None = Field(
        default=None, description="A trial running longer is cancelled and marked failed."
    )
    stopping: StoppingRule | None = Field(default=None, description="Optional early stop.")
    confirm: bool = Field(
        default=False,
        description="After the loop, train the recommended mixture once more (a confirmation "
        "trial) to measure it.",
    )
    bounds: dict[DomainName, tuple[Real, Real]] = Field(
        default_factory=dict, description="Optional per-domain weight bounds [lower, upper]."
    )
    seed: NonNegativeInt = Field(default=0, description="Seed of designs and proposals.")
    noise_sd: NonNegativeReal | None = Field(
        default=None,
        description="Known sd of the objective between training runs of one mixture (seed "
        "noise), in objective units; default: inferred, never below what replicates show.",
    )
    fidelity: FidelitySettings | None = Field(
        default=None, description="Optional: evaluate every trial at fractions of its budget "
        "(checkpoint observations, fitted by a multi-fidelity GP).")
    early_stopping: EarlyStopping | None = Field(
        default=None, description="Optional: stop hopeless trials at a checkpoint (needs "
        "`fidelity`): {rule: percentile | predictive, ...}.")
    proxies: ProxySettings | None = Field(
        default=None, description="Optional: a cheaper proxy whose trials are mixed with "
        "target trials ({levels: [{name, cost, train}], kernel}); the recommendation is "
        "for the target.")


class Objective(BaseModel):
    """A metric of the evaluation, or a weighted sum of metrics, to maximize or minimize."""

    model_config = _CONFIG

    metric: NonEmptyStr | None = Field(
        default=None, description="Metric name (e.g. out_score, in_score, a benchmark name)."
    )
    weights: dict[NonEmptyStr, Real] | None = Field(
        default=None, description="Metric name -> weight: the objective is the weighted sum."
    )
    name: NonEmptyStr | None = Field(
        default=None, description="Name shown and logged; default: the metric, or `objective`."
    )
    direction: Literal["maximize", "minimize"] = "maximize"

    @model_validator(mode="after")
    def _one_form(self) -> Objective:
        if (self.metric is None) == (self.weights is None):
            raise ValueError("give exactly one of `metric` or `weights`")
        if self.weights is not None and not self.weights:
            raise ValueError("`weights` needs at least one metric")
        return self

    @property
    def label(self) -> str:
        return self.name or self.metric or "objective"

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def value(self, metrics: dict[str, float]) -> float:
        """The objective from a trial's metrics.

        Raises:
            KeyError: a metric it needs is missing (the message names it and what exists).
            ValueError: a needed metric is not finite.
        """
        parts = {self.metric: 1.0} if self.metric is not None else dict(self.weights or {})
        missing = sorted(set(parts) - set(metrics))
        if missing:
            raise KeyError(
                f"metric(s) {missing} missing from the trial's results; it has "
                f"{sorted(metrics) or 'none'}"
            )
        total = math.fsum(w * float(metrics[m]) for m, w in parts.items())
        if not math.isfinite(total):
            raise ValueError(f"objective {self.label!r} is not finite ({total})")
        return total


class EvalSettings(BaseModel):
    model_config = _CONFIG

    benchmarks: tuple[NonEmptyStr, ...] = Field(
        default=(), description="Benchmarks of `mixopt eval` (domain test splits, lmms tasks)."
    )
    objective: Objective = Field(
        default_factory=lambda: Objective(metric="out_score"),
        description="The objective the study optimizes.",
    )
    secondary_objective: Objective | None = Field(
        default=None, description="A second objective: proposals then use qLogNEHVI."
    )
    limit: PositiveInt | None = Field(default=None, description="Test records per benchmark.")
    batch_size: PositiveInt = Field(default=8, description="Prompts per generate call.")
    max_new_tokens: PositiveInt = Field(default=1024, description="Completion length cap.")
    backend: Literal["auto", "hf", "vllm"] = "auto"
    extra_args: tuple[str, ...] = Field(
        default=(), description="Further `mixopt eval` arguments, passed as they are."
    )


class TrainTemplate(BaseModel):
    """The `TrainJob` of every trial, without what the study sets per trial (domains and
    weights, output folder, tracking)."""

    model_config = _CONFIG

    model: NonEmptyStr = Field(description="Hub id or local folder of the base model.")
    budget: PositiveInt = Field(description="Training prompts of every trial.")
    seed: NonNegativeInt = Field(
        default=0, description="Training seed, the same in every trial (comparable trials)."
    )
    max_steps: PositiveInt | None = None
    save_steps: PositiveInt = 100
    grpo: GRPOSettings = Field(default_factory=GRPOSettings)
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Further TrainJob keys (generation, lora, images, sampling_mode).",
    )


class LocalLauncher(BaseModel):
    model_config = _CONFIG

    kind: Literal["local"] = "local"
    gpus: Literal["auto"] | tuple[NonNegativeInt, ...] = Field(
        default="auto", description="GPU ids to share among trials; auto: all visible ones."
    )
    gpus_per_trial: NonNegativeInt = Field(
        default=1, description="GPUs of one trial (0: CPU); > 1 launches through accelerate."
    )
    mixopt_command: tuple[NonEmptyStr, ...] | None = Field(
        default=None,
        description="How to call mixopt in a trial; default: this Python with -m studies.cli.",
    )
    env: dict[NonEmptyStr, str] = Field(default_factory=dict, description="Extra environment.")


class SlurmLauncher(BaseModel):
    model_config = _CONFIG

    kind: Literal["slurm"] = "slurm"
    partition: NonEmptyStr | None = None
    gpus_per_node: NonNegativeInt = 1
    cpus_per_task: PositiveInt = 8
    mem_gb: PositiveReal = 64
    time_min: PositiveInt = 24 * 60
    account: NonEmptyStr | None = None
    extra: dict[NonEmptyStr, Any] = Field(
        default_factory=dict,
        description="More sbatch options (submitit's slurm_additional_parameters).",
    )
    mixopt_command: tuple[NonEmptyStr, ...] | None = None
    executor: Literal["slurm", "local"] = Field(
        default="slurm", description="`local`: submitit's local executor (tests, one machine)."
    )


class FunctionLauncher(BaseModel):
    model_config = _CONFIG

    kind: Literal["function"] = "function"
    target: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] = Field(
        description="`module:function` taking {domain: weight} and seed=, returning metrics."
    )


Launcher = Annotated[
    LocalLauncher | SlurmLauncher | FunctionLauncher, Field(discriminator="kind")
]


class TrackingSettings(BaseModel):
    model_config = _CONFIG

    uri: NonEmptyStr | None = Field(
        default=None, description="MLflow tracking URI; default: `<workdir>/mlflow.db`, "
        "shared by the studies of the workdir."
    )
    experiment: NonEmptyStr = Field(
        default=DEFAULT_EXPERIMENT, description="MLflow experiment (one per study family)."
    )


class StudyConfig(BaseModel):
    """One study. See the module docstring and studies/examples/ for complete files."""

    model_config = _CONFIG

    schema_version: Literal[1] = SCHEMA_VERSION
    name: StudyName
    description: str = ""
    domains: tuple[DomainName | DomainSpec, ...] = Field(
        min_length=2, description="Registry names, or inline domain definitions."
    )
    domain_files: tuple[Path, ...] = Field(
        default=(), description="YAML files of user domains (the `mixopt domains` format)."
    )
    search: SearchSettings = Field(default_factory=SearchSettings)
    train: TrainTemplate | None = Field(
        default=None, description="Required unless the launcher is `function`."
    )
    eval: EvalSettings = Field(default_factory=EvalSettings)
    launcher: Launcher = Field(default_factory=LocalLauncher)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    workdir: Path = Field(
        default=Path("runs"),
        description="Folder of the study's files; `<workdir>/<name>/` holds its trials and "
        "artifacts, `<workdir>/mlflow.db` the MLflow store of the workdir's studies.",
    )

    @property
    def domain_names(self) -> tuple[str, ...]:
        return tuple(d if isinstance(d, str) else d.name for d in self.domains)

    @property
    def inline_domains(self) -> tuple[DomainSpec, ...]:
        return tuple(d for d in self.domains if isinstance(d, DomainSpec))

    @property
    def study_dir(self) -> Path:
        return self.workdir / self.name

    @property
    def tracking_uri(self) -> str:
        """``tracking.uri``, else the workdir's shared sqlite store (a study that has its own
        store from an earlier version keeps it: `studies.store_location`)."""
        if self.tracking.uri is not None:
            return self.tracking.uri
        return default_tracking_uri(self.workdir, self.name)

    @property
    def objectives(self) -> tuple[Objective, ...]:
        second = self.eval.secondary_objective
        return (self.eval.objective,) if second is None else (self.eval.objective, second)

    @field_validator("domains")
    @classmethod
    def _unique(cls, domains: tuple[str | DomainSpec, ...]) -> tuple[str | DomainSpec, ...]:
        names = [d if isinstance(d, str) else d.name for d in domains]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"domain(s) listed twice: {dupes}")
        return domains

    @model_validator(mode="after")
    def _consistent(self) -> StudyConfig:
        problems = []
        if self.launcher.kind != "function":
            if self.train is None:
                problems.append("`train` is required with the local and slurm launchers")
            if not self.eval.benchmarks:
                problems.append("`eval.benchmarks` is required with the local and slurm launchers")
        if self.train is not None:
            procs, launcher = self.train.grpo.num_processes, self.launcher
            if launcher.kind == "local" and launcher.gpus_per_trial not in (0, procs):
                problems.append(f"train.grpo.num_processes ({procs}) must equal "
                                f"launcher.gpus_per_trial ({launcher.gpus_per_trial})")
            if launcher.kind == "slurm" and 0 < launcher.gpus_per_node < procs:
                problems.append(f"train.grpo.num_processes ({procs}) exceeds "
                                f"launcher.gpus_per_node ({launcher.gpus_per_node})")
        unknown = sorted(set(self.search.bounds) - set(self.domain_names))
        if unknown:
            problems.append(f"search.bounds names unknown domain(s) {unknown}")
        for name, (lo, hi) in self.search.bounds.items():
            if not 0.0 <= lo <= hi <= 1.0:
                problems.append(f"search.bounds.{name}: need 0 <= lower <= upper <= 1")
        problems.extend(self._surrogate_problems())
        problems.extend(self._fidelity_problems())
        problems.extend(self._proxy_problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _surrogate_problems(self) -> list[str]:
        """What the surrogate cannot do with the rest of the config."""
        from mixopt.surrogates import options

        surrogate = self.search.surrogate
        problems = []
        if self.eval.secondary_objective is not None and surrogate.name in options.OPTIONS \
                and surrogate.name not in options.BOTORCH_SURROGATES:
            problems.append(f"search.surrogate.name: {surrogate.name!r} cannot propose for two "
                            "objectives (qLogNEHVI needs a BoTorch model: "
                            f"{', '.join(options.BOTORCH_SURROGATES)})")
        if self.search.noise_sd is not None and "noise_var" in surrogate.options:
            problems.append("search.noise_sd: give the noise once, here or as "
                            "search.surrogate.options.noise_var")
        return problems

    def _fidelity_problems(self) -> list[str]:
        """What checkpoint fidelity and early stopping cannot do with the rest of the config."""
        search, problems = self.search, []
        if search.early_stopping is not None and search.fidelity is None:
            problems.append("search.early_stopping needs search.fidelity (the checkpoints at "
                            "which the rule decides)")
        if search.fidelity is None:
            return problems
        if self.launcher.kind != "function" and self.train is not None \
                and self.train.extra.get("lora") is not None:
            problems.append("search.fidelity: checkpoint evaluations of LoRA trials are not "
                            "supported yet (a checkpoint folder holds the adapters only, which "
                            "`mixopt eval` does not load); remove train.extra.lora")
        if self.train is not None and "checkpoint_hook" in self.train.extra:
            problems.append("train.extra.checkpoint_hook: search.fidelity sets each trial's "
                            "checkpoint hook (its checkpoint evaluations); remove it")
        if self.eval.secondary_objective is not None:
            problems.append("search.fidelity: the multi-fidelity GP takes one objective "
                            "(remove eval.secondary_objective)")
        if search.stopping is not None:
            problems.append("search.stopping: the expected-improvement rule does not work "
                            "with search.fidelity yet (use search.early_stopping for trials)")
        return problems

    def _proxy_problems(self) -> list[str]:
        """What proxy fidelity cannot do with the rest of the config."""
        proxies, problems = self.search.proxies, []
        if proxies is None:
            return problems
        if self.search.fidelity is not None:
            problems.append("search.proxies: not with search.fidelity (checkpoint fidelity) "
                            "yet; use one of them")
        if self.eval.secondary_objective is not None:
            problems.append("search.proxies: the multi-fidelity GP takes one objective "
                            "(remove eval.secondary_objective)")
        if self.search.stopping is not None:
            problems.append("search.stopping: the expected-improvement rule does not work "
                            "with search.proxies yet")
        for i, level in enumerate(proxies.levels):
            key = f"search.proxies.levels[{i}].train"
            if self.launcher.kind == "function" or self.train is None:
                continue
            if not level.train:
                problems.append(f"{key}: a proxy must change the train job (model, budget, "
                                "max_steps, ...)")
                continue
            try:
                self.proxy_train(level.name)
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                problems.append(f"{key}.{where}: {first['msg']}")
        return problems

    def proxy_train(self, proxy: str) -> TrainTemplate:
        """The `train` section of the proxy's trials: the study's with its overrides.

        Raises:
            MixoptError: no `train` section or no such proxy.
            ValidationError: overrides the template refuses.
        """
        if self.train is None:
            raise MixoptError(f"study {self.name!r} has no `train` section")
        try:
            level = self.search.proxies.level(proxy) if self.search.proxies else None
        except KeyError:
            level = None
        if level is None:
            raise MixoptError(f"study {self.name!r} has no proxy {proxy!r}")
        data = self.train.model_dump()
        for key, value in level.train.items():
            data[key] = {**data[key], **value} if key in ("grpo", "extra") else value
        return TrainTemplate.model_validate(data)

    def proxy_cost(self, proxy: str) -> float | None:
        """The relative cost of a trial of `proxy` ("" : the target, 1.0); None for a name
        the study does not declare."""
        if not proxy:
            return 1.0
        try:
            return float(self.search.proxies.level(proxy).cost) if self.search.proxies \
                else None
        except KeyError:
            return None

    def train_job(
        self, weights: dict[str, float], *, output_dir: Path, run_id: str | None,
        domain_files: tuple[Path, ...] = (), checkpoint_hook: Mapping[str, Any] | None = None,
        proxy: str = "",
    ) -> TrainJob:
        """The `TrainJob` of one trial (validated); `checkpoint_hook` is its
        ``checkpoint_hook`` (`rlvr.job.CheckpointHookSettings` fields), if any; a `proxy`
        trial's (its name; "" the target) has the proxy's overrides (`proxy_train`).

        Raises:
            MixoptError: no `train` section, or no such proxy.
        """
        if self.train is None:
            raise MixoptError(f"study {self.name!r} has no `train` section")
        t = self.proxy_train(proxy) if proxy else self.train
        data: dict[str, Any] = {
            **t.extra,
            "model": t.model, "budget": t.budget, "seed": t.seed, "save_steps": t.save_steps,
            "max_steps": t.max_steps, "grpo": t.grpo.model_dump(),
            "domains": dict(weights), "domain_files": [str(p) for p in domain_files],
            "output_dir": str(output_dir),
            "tracking": {"mlflow_tracking_uri": self.tracking_uri, "run_id": run_id,
                         "experiment_name": self.tracking.experiment},
        }
        if checkpoint_hook is not None:
            data["checkpoint_hook"] = dict(checkpoint_hook)
        return TrainJob.model_validate(data)


def load_study_config(path: Path | str, *, workdir: Path | None = None) -> StudyConfig:
    """Read and validate a study file.

    Args:
        path: the YAML file.
        workdir: overrides the file's ``workdir``.

    Raises:
        StudyConfigError: every error of the file at once, one ``FILE: key.path: message`` line
            each (also for its domain files and a `train` template that no TrainJob accepts).
    """
    path = Path(path)
    try:
        data = read_yaml(path)
    except ConfigFileError as error:
        raise StudyConfigError(error.lines) from None
    if not isinstance(data, dict):
        raise StudyConfigError(
            [f"{path}: {key_path(())}: expected a mapping of study settings, "
             f"got {type(data).__name__}"]
        )
    data = _with_paths_from(data, path.absolute().parent)
    if workdir is not None:
        data["workdir"] = str(workdir.absolute())
    try:
        config = StudyConfig.model_validate(data)
    except ValidationError as error:
        raise StudyConfigError(validation_error_lines(path, error, data)) from None
    lines = _check_domains(path, config)
    if not lines and config.launcher.kind != "function":
        lines = _check_train(path, config)
    if lines:
        raise StudyConfigError(lines)
    return config


def _check_domains(path: Path, config: StudyConfig) -> list[str]:
    """Domain names must be known to the trainer's registry (unless trials are functions)."""
    if config.launcher.kind == "function":
        return []
    from rlvr.domains.registry import default_registry

    registry = default_registry()
    try:
        registry.add_files(config.domain_files)
    except ConfigFileError as error:
        return list(error.lines)
    lines = []
    for i, domain in enumerate(config.domains):
        if isinstance(domain, str) and domain not in registry:
            lines.append(
                f"{path}: domains[{i}]: unknown domain {domain!r}; known: "
                f"{', '.join(registry.names())} (or define it inline or in `domain_files`)"
            )
        elif isinstance(domain, str) and registry.get(domain).evaluation == "out_of_domain":
            lines.append(
                f"{path}: domains[{i}]: {domain!r} is a held-out (out-of-domain) task: "
                "evaluate it (eval.benchmarks), do not train on it"
            )
    return lines


def _check_train(path: Path, config: StudyConfig) -> list[str]:
    uniform = {name: 1.0 / len(config.domain_names) for name in config.domain_names}
    try:
        config.train_job(uniform, output_dir=config.study_dir / "check", run_id=None,
                         domain_files=config.domain_files)
    except ValidationError as error:
        return [
            line.replace(f"{path}: ", f"{path}: train (as a TrainJob): ", 1)
            for line in validation_error_lines(path, error, {})
        ]
    proxies = config.search.proxies
    for i, level in enumerate(() if proxies is None else proxies.levels):
        try:
            config.train_job(uniform, output_dir=config.study_dir / "check", run_id=None,
                             domain_files=config.domain_files, proxy=level.name)
        except ValidationError as error:
            return [
                line.replace(f"{path}: ", f"{path}: search.proxies.levels.{i}.train (as a "
                             "TrainJob): ", 1)
                for line in validation_error_lines(path, error, {})
            ]
    return []


def _with_paths_from(data: dict[str, Any], base: Path) -> dict[str, Any]:
    data = dict(data)
    workdir = data.get("workdir", "runs")
    if isinstance(workdir, str) and workdir:
        data["workdir"] = str(_absolute(workdir, base))
    files = data.get("domain_files")
    if isinstance(files, list):
        data["domain_files"] = [str(_absolute(f, base)) if isinstance(f, str) and f else f
                                for f in files]
    train = data.get("train")
    if isinstance(train, dict) and isinstance(train.get("model"), str):
        model = train["model"]
        if model.startswith(("./", "../")):
            data["train"] = {**train, "model": str(_absolute(model, base))}
    if "search" in data:
        data["search"] = _proxy_paths_from(data["search"], base)
    return data


def _proxy_paths_from(search: Any, base: Path) -> Any:
    """``search.proxies.levels[i].train.model`` written as ``./...``, from the file's folder."""
    proxies = search.get("proxies") if isinstance(search, dict) else None
    levels = proxies.get("levels") if isinstance(proxies, dict) else None
    if not isinstance(levels, list):
        return search
    out = []
    for level in levels:
        train = level.get("train") if isinstance(level, dict) else None
        model = train.get("model") if isinstance(train, dict) else None
        if isinstance(model, str) and model.startswith(("./", "../")):
            level = {**level, "train": {**train, "model": str(_absolute(model, base))}}
        out.append(level)
    return {**search, "proxies": {**proxies, "levels": out}}


def _absolute(path: str, base: Path) -> Path:
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else (base / expanded).resolve()
