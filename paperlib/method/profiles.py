"""Run profiles, defined in one place: ``smoke`` (CI, minutes), ``quick`` (a 2-core CPU laptop, a
three-hour budget; estimates in docs/measurements.md) and ``paper`` (the paper's settings, for a
GPU). A profile holds every plan too: notebook 07's comparison, notebook 10's traces and
energy-bound sweep, notebook 09's defence values by registered name (docs/decisions/layout.md §6).
:func:`resolve_profile` turns a name into one.

Every notebook and CLI takes a profile name; ``PAPERLIB_PROFILE`` sets the default (``quick``).
Figures and tables carry the profile's name.

A profile gives training recipes by model *family* (the ``family`` of a registered model, see
:data:`paperlib.method.models.MODELS`), may override them per model, and has a profile-wide default, so
that a newly registered model trains without editing this file (:meth:`Profile.recipe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from ..infra import config
from . import constants as C
from .evaluation_split import REPORT_FRACTION, min_test_images
from .models import architecture
from .strategies import check_ir_widths


@dataclass(frozen=True)
class TrainRecipe:
    """How one model is trained (SGD with Nesterov momentum, a one-cycle or cosine learning rate,
    random-crop and flip augmentation; docs/decisions/reporting.md §12)."""

    epochs: int
    lr: float = 0.1
    batch_size: int = 128
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    train_images: int | None = None  # None: the whole training split
    test_images: int | None = None  # None: the whole test split
    schedule: str = "onecycle"  # "onecycle" (peak ``lr``) or "cosine" (from ``lr`` to 0)
    augment: bool = True  # random crop and horizontal flip of the training batches

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainRecipe.schedule={self.schedule!r} is unknown; choose one of "
                             f"{', '.join(SCHEDULES)}")
        if self.epochs < 1:
            raise ValueError(f"TrainRecipe.epochs={self.epochs}: train at least one epoch")


SCHEDULES = ("onecycle", "cosine")
# fields added to TrainRecipe after checkpoints recorded recipes: at these values they are left out
# of a checkpoint's request, so that the checkpoints written before stay valid (reporting.md §12)
RECIPE_FIELDS_SINCE_CURVES = {"schedule": "onecycle", "augment": True}


@dataclass(frozen=True)
class SearchSettings:
    """Algorithm 1's settings and how ε and P are estimated during the search."""

    iterations: int = C.ITERATIONS
    population: int = C.POPULATION
    sample: int = C.SAMPLE
    p_mutate_partition: float = C.P_MUTATE_PARTITION
    p_mutate_layer: float = C.P_MUTATE_LAYER
    lambda_energy: float = C.LAMBDA_ENERGY
    lambda_accuracy: float = C.LAMBDA_ACCURACY
    accuracy_bound: float = C.ACCURACY_LOSS_BOUND
    estimator: str = "finetune"  # ε estimator used inside the search
    reference_estimator: str = "finetune"  # re-scores the final best strategy
    finetune_batches: int = 20  # for the "finetune-batches" estimator
    validation_images: int = 1000  # fixed validation subset of the cheap estimators
    privacy_images: int = 64  # evaluation images for P inside the search
    # The share of the test images held out as the *report* split: the search scores P and ε on
    # the rest (the search split), every table reports on these (docs/decisions/paper-method.md §9)
    report_fraction: float = REPORT_FRACTION
    # Whether E in the energy punishment includes the transmission energy E_T (Eq. 9). The paper's
    # Tables 4 and 5 are compute only: without E_T our energy model gives Table 5's 0.7269 and
    # 1.6776 mJ to four decimals, with E_T it does not (docs/decisions/paper-method.md §3).
    include_transmission: bool = False
    # The package's default search (docs/decisions/paper-method.md §8): "baselines" seeds the
    # population with the uniform baselines, gives layers exposed by a mutation of p their
    # neighbour's bits and repairs an infeasible child in up to ``repair_steps`` steps; "random" is
    # Algorithm 1 exactly as the paper gives it (random population, MUTATE as written, no repair).
    init: str = "baselines"
    repair_steps: int = 1
    selection: str = "fitness"  # "feasibility": feasible beats infeasible, then least violation


@dataclass(frozen=True)
class AttackSettings:
    """What the attack notebooks (06, 08) study: which images, models and points are attacked, the
    within-point study and the training-progress checkpoints; and, in ``attacks``, each registered
    attack's own budgets as plain values by attack name, turned into the attack's settings type
    (``attacks.base.build``; docs/decisions/layout.md §6, docs/decisions/attacks.md §8)."""

    test_images: int = 256  # evaluated test images (notebook 06)
    points: int | None = None  # partition points attacked per model (spread evenly); None: all
    # notebook 08: the three attacks on the same test images
    images: int = 64  # test images every attack inverts in notebook 08
    models: tuple[str, ...] | None = None  # models of notebook 08; None: every registered model
    sweep_points: int | None = 5  # points per model in notebook 08's sweep (spread); None: all
    # notebook 08: does P rank quantization policies at a fixed point as the attacks do?
    policies: int = 32  # random quantization policies per fixed point
    policy_models: tuple[str, ...] = ("cifar10cnn",)  # models of the within-point study
    max_policy_points: int | None = None  # fixed points per model in that study; None: all
    bootstrap: int = 2000  # bootstrap resamples of the Spearman correlation
    policy_images: int | None = None  # test images of the within-point study; None: ``images``
    policy_workers: int = 1  # processes (one thread each) the study's policies are spread over
    # privacy vs training progress (docs/decisions/attacks.md §13): the intermediate checkpoints,
    # as fractions of each model's recipe (rounded to epochs; 0 and the last epoch always shown)
    progress_fractions: tuple[float, ...] = (0.25, 0.5)
    # the models notebook 08 measures at every training stage; None: all of notebook 08's models
    progress_models: tuple[str, ...] | None = None
    # each attack's budgets by registered name then field of its settings type (rmle:
    # RMLESettings, inverse-network: InverseNetworkSettings, shadow: ShadowSettings); an attack
    # not named here runs at its settings type's defaults (He et al.'s, where they give one)
    attacks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def with_attack(self, name: str, **values: Any) -> "AttackSettings":
        """A copy whose ``attacks[name]`` has ``values`` on top of this one's."""
        own = {**self.attacks.get(name, {}), **values}
        return replace(self, attacks={**self.attacks, name: own})


# AttackSettings' fields before each attack owned its settings (docs/decisions/layout.md §6):
# old name -> (attack names, field of their settings); ``batch_size`` served two attacks
MOVED_ATTACK_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "train_images": (("inverse-network",), "query_images"),
    "epochs": (("inverse-network",), "epochs"),
    "lr": (("inverse-network",), "lr"),
    "batch_size": (("inverse-network", "shadow"), "batch_size"),
    "rmle_iterations": (("rmle",), "iterations"),
    "rmle_lr": (("rmle",), "lr"),
    "rmle_tv": (("rmle",), "tv"),
    "rmle_l2": (("rmle",), "l2"),
    "shadow_images": (("shadow",), "labelled_images"),
    "shadow_epochs": (("shadow",), "epochs"),
    "shadow_lr": (("shadow",), "lr"),
    "shadow_rmle_iterations": (("shadow",), "rmle_iterations"),
    "shadow_rmle_lr": (("shadow",), "rmle_lr"),
    "shadow_rmle_tv": (("shadow",), "rmle_tv"),
    "shadow_rmle_l2": (("shadow",), "rmle_l2"),
}


def _moved_to(old: str) -> str:
    names, key = MOVED_ATTACK_FIELDS[old]
    homes = " and ".join(f'AttackSettings.attacks["{n}"]["{key}"]' for n in names)
    return f"AttackSettings.{old} moved to each attack's own settings: use {homes}"


def refuse_moved_fields(cls: type, moved: Mapping[str, Any], message: Callable[[str], str]) -> type:
    """Make the dataclass ``cls`` refuse the field names in ``moved`` (fields it no longer has)
    when given (``cls(...)``, ``dataclasses.replace``: a ``TypeError``) or read (an
    ``AttributeError``), with ``message(name)`` saying where the value lives now, instead of an
    unexpected-keyword or missing-attribute error (docs/decisions/layout.md §6)."""
    init = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        old = [k for k in kwargs if k in moved]
        if old:
            raise TypeError("; ".join(message(k) for k in old))
        init(self, *args, **kwargs)

    def __getattr__(self: Any, name: str) -> Any:  # only for names that are not fields
        if name in moved:
            raise AttributeError(message(name))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    __init__.__doc__, __init__.__wrapped__ = init.__doc__, init  # type: ignore[attr-defined]
    cls.__init__, cls.__getattr__ = __init__, __getattr__  # type: ignore[method-assign]
    return cls


refuse_moved_fields(AttackSettings, MOVED_ATTACK_FIELDS, _moved_to)


@dataclass(frozen=True)
class DefenceSettings:
    """Notebook 09's settings: where and how the defences are evaluated, the values they are
    swept at, each defence's own settings as plain values (``defences``; the type is the
    defence's, registered with it) and Zhang et al.'s RL search (docs/decisions/defences.md §6)."""

    models: tuple[str, ...] | None = ("cifar10cnn", "resnet18")  # notebook 09; None: every model
    points: int = 3  # partition points per model where the defences are applied (spread; the
    # searched strategy's among them; docs/decisions/defences.md §13)
    # True: every configuration of every sweep at every point; False: the whole sweep at the sweep
    # point (the searched strategy's), each defence at its middle setting at the other points
    full_grid: bool = True
    images: int = 64  # test images every attack inverts (the RL reward's decoder: search-split ones)
    # search-split images of the RL reward's top-1, all of the split when it holds fewer (rows:
    # the report split; docs/decisions/defences.md §8)
    accuracy_images: int = 1000
    attacks: tuple[str, ...] | None = None  # None: every registered attack
    # each attack's plain values on top of AttackSettings.attacks for notebook 09's rows (all of
    # them, reference rows included), by registered attack name then field; {}: notebook 08's
    attack_budgets: dict[str, dict[str, Any]] = field(default_factory=dict)
    energy_bound: float = C.ENERGY_BOUND_MJ  # E_b of the table of best points
    accuracy_loss_bound: float = C.ACCURACY_LOSS_BOUND  # ε_b of that table
    # the values each registered defence is tried at, by registered name then by the defence's
    # argument; a defence not named here is tried at the values of its registration (``sweep=``)
    # (docs/decisions/layout.md §6)
    sweeps: dict[str, dict[str, tuple[Any, ...]]] = field(default_factory=dict)
    # plain values of each registered defence's own settings type (its training budgets), by
    # registered name then field, e.g. {"datamix": {"epochs": 2}}; a field not named keeps the
    # type's default (defences.base.settings_for; docs/decisions/layout.md §6)
    defences: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Zhang et al.'s RL search (a search method, not a defence: its settings stay here)
    rl_models: tuple[str, ...] | None = None  # models that get an RL row in notebook 09; None: all of ``models``
    rl_episodes: int = 100  # Zhang et al.'s N (Alg. 2)
    rl_samples: int = 4  # M strategies per episode
    rl_lr: float = 1e-2  # Adam on the LSTM policies
    rl_baseline_decay: float = 0.9  # exponential moving average of the rewards (Eq. 17)
    rl_hidden: int = 32  # LSTM hidden size per direction
    rl_decoder_images: int | None = 512  # the reactive adversary's query images inside the RL reward
    rl_decoder_epochs: int = 2  # its decoder's epochs there (the final row uses the full attacks)


# the defences' budgets that were DefenceSettings fields, by old name: where they are now
# (DefenceSettings.defences[defence][field]; docs/decisions/layout.md §6)
MOVED_DEFENCE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "datamix_epochs": (("datamix", "epochs"),),
    "datamix_images": (("datamix", "images"),),
    "datamix_lr": (("datamix", "lr"),),
    "batch_size": (("datamix", "batch_size"), ("proactive", "batch_size")),
    "adv_rounds": (("proactive", "rounds"),),
    "adv_decoder_epochs": (("proactive", "decoder_epochs"),),
    "adv_epochs": (("proactive", "epochs"),),
    "adv_images": (("proactive", "images"),),
    "adv_lr": (("proactive", "lr"),),
}


def moved_defence_field(name: str) -> str:
    """The message for an old ``DefenceSettings`` field: where its value lives now."""
    homes = " and ".join(f"DefenceSettings.defences[{d!r}][{f!r}]"
                         for d, f in MOVED_DEFENCE_FIELDS[name])
    return (f"DefenceSettings.{name} moved to the defence's own settings: set {homes} "
            "(docs/decisions/layout.md §6)")


refuse_moved_fields(DefenceSettings, MOVED_DEFENCE_FIELDS, moved_defence_field)


@dataclass(frozen=True)
class ComparisonPlan:
    """How much of the search comparison a profile runs when notebook 07 leaves it to the profile."""

    models: tuple[str, ...] | None = None  # None: the profile's search models
    budget: int | None = None  # None: the genetic search's own number of evaluations
    # the whole-front comparison (paperlib.search.fronts, docs/decisions/scale.md §4): E_b values of
    # the swept genetic search (mJ), distinct strategies per seed for the sweep (all its bounds
    # together) and for NSGA-II alike (None: as many as the sweep's full runs hold), NSGA-II's
    # population and the seeds (the verdict compares the methods seed by seed: at least 5)
    front_bounds: tuple[float, ...] = (0.1, 0.2, 0.35, 0.5, 1.0)
    front_budget: int | None = None
    front_pop_size: int = 20
    front_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class NetworkPlan:
    """Which catalogue traces a profile replays in notebook 10 (None: all present) and for how long
    (None: one full pass of each); fixed-rate links, on which nothing changes over time, run
    ``synthetic_duration_ms`` unless ``duration_ms`` is set."""

    traces: tuple[str, ...] | None = None
    duration_ms: float | None = None
    synthetic_duration_ms: float = 120_000.0
    # absolute accuracy floors (top-1 in [0, 1]); None: spread over each model's measured range
    # (docs/decisions/network.md §2)
    floors: tuple[float, ...] | None = None
    # plain settings per scheduler name, turned into each scheduler's own settings type
    # (network.schedulers.settings_for; docs/decisions/network.md §15)
    schedulers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the IR of the static strategy and of the most private stored search also sent at these
    # narrower widths, as menu entries of the dynamic partition (paperlib.network.ir_width;
    # docs/decisions/network.md §18); (): none
    ir_widths: tuple[int, ...] = (6, 4, 2)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ir_widths", check_ir_widths(self.ir_widths, "NetworkPlan.ir_widths"))


@dataclass(frozen=True)
class SweepPlan:
    """Energy bounds (mJ) the search runs at for notebook 10's dynamic partition, and search
    overrides for every bound but the paper's (docs/decisions/network.md §9)."""

    bounds: tuple[float, ...] = (0.15, 0.2, 0.25, C.ENERGY_BOUND_MJ, 0.5, 0.75, 1.0)
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgreementPlan:
    """Notebook 04's estimator-agreement study (docs/decisions/paper-method.md §9): per searched
    model, ``strategies`` strategies (a seeded draw stratified over partition points and bit
    widths) scored by the search's ε estimator on the search split and by the reported ε on the
    report split. ``minimum``: fewer strategies are refused; a table on fewer than
    ``constants.MIN_AGREEMENT_STRATEGIES`` is no validation and says so. ``models``: the searched
    models it runs on (None: all). ``finetune_batches``: the finetune the reported ε gets in this
    study (None: the report measurement's own, Table 4's; a number: that many batches of the
    ``finetune-batches`` estimator, a cheaper stand-in the table names)."""

    strategies: int = C.MIN_AGREEMENT_STRATEGIES
    minimum: int = C.MIN_AGREEMENT_STRATEGIES
    models: tuple[str, ...] | None = None
    finetune_batches: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.minimum, bool) or not isinstance(self.minimum, int) or self.minimum < 1:
            raise ValueError(f"AgreementPlan.minimum={self.minimum!r}: give a whole number >= 1")
        if isinstance(self.strategies, bool) or not isinstance(self.strategies, int) \
                or self.strategies < self.minimum:
            raise ValueError(f"AgreementPlan.strategies={self.strategies!r} is below its minimum "
                             f"{self.minimum}: score at least {self.minimum} strategies per model "
                             f"(or lower AgreementPlan.minimum, which makes the table no validation "
                             f"below {C.MIN_AGREEMENT_STRATEGIES})")
        if self.finetune_batches is not None and (isinstance(self.finetune_batches, bool) or not
                                                  isinstance(self.finetune_batches, int)
                                                  or self.finetune_batches < 1):
            raise ValueError(f"AgreementPlan.finetune_batches={self.finetune_batches!r}: give a "
                             "whole number >= 1, or None for the report measurement's own finetune")

    @property
    def validates(self) -> bool:
        """Whether its table counts as a validation (at least MIN_AGREEMENT_STRATEGIES strategies)."""
        return self.strategies >= C.MIN_AGREEMENT_STRATEGIES


@dataclass(frozen=True)
class Profile:
    name: str
    train: dict[str, TrainRecipe]  # per-model recipes: override the family's and the default
    search: SearchSettings
    attack: AttackSettings
    privacy_images: int  # evaluation images for the privacy notebooks
    dataset: str | None = None  # overrides every model's paper data set when set
    search_models: tuple[str, ...] = ("resnet18", "resnet50", "mobilenet")
    # the seeds of every reported search: `make searches`, Tables 2 and 4, Fig. 10 and 12 and
    # notebook 07's comparison (docs/decisions/paper-method.md §10: at least 5 for a reported
    # result, ``paperlib.search.seeds.MIN_SEEDS``; fewer are marked "not a reported result")
    search_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    description: str = ""
    # per-model changes to ``search`` (e.g. a smaller validation subset for a model whose forward
    # pass is costly); read them through :meth:`search_for`
    search_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    defence: DefenceSettings = DefenceSettings()  # notebook 09 and the RL search
    train_by_family: dict[str, TrainRecipe] = field(default_factory=dict)  # by ``family``
    train_default: TrainRecipe | None = None  # any other model
    # the plans of notebooks 07 and 10 (docs/decisions/layout.md §6): part of the profile, so that
    # a profile is defined in one place
    comparison: ComparisonPlan = ComparisonPlan()
    network: NetworkPlan = NetworkPlan()
    energy_sweep: SweepPlan = SweepPlan()
    agreement: AgreementPlan = AgreementPlan()  # notebook 04's estimator-agreement study
    # registered models this profile neither trains (`make models`) nor studies, each with the
    # reason; a notebook asked for one leaves it out and prints the reason (reporting.md §15)
    left_out: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for model in self.left_out:
            try:
                architecture(model)
            except ValueError as exc:  # names the registered models
                raise ValueError(f"Profile.left_out of profile {self.name!r}: {exc}") from None

    def studied(self, models: Iterable[str]) -> tuple[str, ...]:
        """``models`` less the ones this profile leaves out (:attr:`left_out`), in order."""
        return tuple(m for m in models if m not in self.left_out)

    def left_out_note(self, models: Iterable[str]) -> str:
        """One line per model of ``models`` this profile leaves out, with the reason ("" if none)."""
        return "\n".join(f"{m}: left out of the {self.name} profile: {self.left_out[m]}"
                         for m in models if m in self.left_out)

    def search_for(self, model: str) -> SearchSettings:
        """The search settings of ``model`` in this profile: ``search`` with its overrides."""
        return replace(self.search, **self.search_overrides.get(model, {}))

    def dataset_for(self, model: str) -> str:
        """The data set a model is trained and evaluated on in this profile."""
        return self.dataset or architecture(model).dataset

    def recipe(self, model: str) -> TrainRecipe:
        """The training recipe of ``model``: its own (``train``), else its family's
        (``train_by_family``), else the profile's default (``train_default``)."""
        if model in self.train:
            return self.train[model]

        family = architecture(model).family
        recipe = self.train_by_family.get(family, self.train_default)
        if recipe is None:
            raise ValueError(f"profile {self.name!r} has no training recipe for {model!r} "
                             f"(family {family!r}) and no default one")
        return recipe


# Profile.baseline_seeds (notebook 07's seeds) became search_seeds in issue 22
refuse_moved_fields(Profile, {"baseline_seeds": "search_seeds"}, lambda name: (
    "Profile.baseline_seeds is now Profile.search_seeds (the seeds of every reported search, "
    "notebook 07's included; docs/decisions/paper-method.md §10): use search_seeds"))


# notebook 08's models outside the paper profile (ResNet50's attacks are for a GPU)
ATTACK_MODELS = ("cifar10cnn", "vgg11", "resnet18", "mobilenet")

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="CI: seconds per step, tiny subsets; numbers mean nothing.",
        train={},
        train_default=TrainRecipe(epochs=1, lr=0.05, batch_size=64, train_images=256,
                                  test_images=256),
        # He et al.'s network learns nothing in one epoch on 256 images; 2 x 1024 images (seconds)
        # lift it above chance, which the query-free attack needs (docs/decisions/attacks.md §1)
        train_by_family={"cifar10cnn": TrainRecipe(epochs=2, lr=0.02, batch_size=64,
                                                   train_images=1024, test_images=256)},
        search=SearchSettings(iterations=12, population=6, sample=3, estimator="sensitivity",
                              reference_estimator="finetune-batches", finetune_batches=2,
                              validation_images=32, privacy_images=8),
        search_overrides={"resnet50": {"validation_images": 16}},
        # notebook 08 in smoke: two models, two points each, a few iterations (seconds per attack)
        attack=AttackSettings(test_images=16, points=3, images=4, models=("cifar10cnn", "resnet18"),
                              sweep_points=2, policies=5, max_policy_points=1, bootstrap=200,
                              # notebook 08's training stages in CI: cifar10cnn untrained and
                              # trained (no intermediate checkpoint to train)
                              progress_models=("cifar10cnn",), progress_fractions=(),
                              attacks={"rmle": {"iterations": 10, "lr": 0.05},
                                       "inverse-network": {"query_images": 64, "epochs": 1,
                                                           "batch_size": 32},
                                       "shadow": {"labelled_images": 64, "epochs": 1,
                                                  "batch_size": 32, "rmle_iterations": 10}}),
        privacy_images=8,
        dataset="cifar10",
        # two seeds keep CI's notebooks fast; every table and figure they make says "2 seeds < 5:
        # not a reported result" (docs/decisions/paper-method.md §10)
        search_seeds=(0, 1),
        # notebook 09 in CI: two points (the sweep at the shallow one), two strengths of noise and
        # dropout, one k; the trainings stop after one epoch or round ("not converged"), the
        # proactive one on 64 images
        defence=DefenceSettings(models=("cifar10cnn",), points=2, full_grid=False, images=4,
                                accuracy_images=128,
                                sweeps={"noise": {"kind": ("gaussian",), "strength": (0.5, 2.0)},
                                        "dropout": {"rate": (0.25, 0.75)}, "datamix": {"k": (2,)}},
                                defences={"datamix": {"epochs": 1, "images": 128},
                                          "proactive": {"rounds": 1, "images": 64}},
                                rl_episodes=2, rl_samples=2, rl_decoder_images=32,
                                rl_decoder_epochs=1),
        comparison=ComparisonPlan(models=("resnet18",),  # CI: one model keeps it near a minute
                                  front_bounds=(0.35, 1.0), front_budget=30, front_pop_size=4,
                                  front_seeds=(0, 1)),
        network=NetworkPlan(("Verizon-LTE-short", "TMobile-UMTS-driving"), 60_000.0),
        energy_sweep=SweepPlan((0.2, C.ENERGY_BOUND_MJ, 0.75)),
        # notebook 04's estimator agreement: a check that it runs (seconds), no validation
        agreement=AgreementPlan(strategies=6, minimum=6, models=("resnet18",), finetune_batches=1),
    ),
    "quick": Profile(
        name="quick",
        description=("2 CPU cores, about 2.9 h end to end, estimated (3.4 h measured on one "
                     "machine before ResNet50 was left out, docs/measurements.md); CIFAR-10 for "
                     "every model."),
        train_by_family={
            # a careful practitioner's recipe on small data (docs/decisions/reporting.md §12):
            # augmentation, label smoothing 0.1, one-cycle rate, weight decay 5e-4
            "vgg": TrainRecipe(epochs=10, lr=0.05, label_smoothing=0.1),
            "resnet": TrainRecipe(epochs=6, lr=0.1, label_smoothing=0.1),
            "mobilenet": TrainRecipe(epochs=12, lr=0.1, label_smoothing=0.1),
            # He et al.'s network: no batch norm, so a gentler peak rate (docs/decisions/attacks.md §1)
            "cifar10cnn": TrainRecipe(epochs=10, lr=0.02, label_smoothing=0.1),
        },
        # ResNet50's recipe (~4x ResNet18's cost per image) serves an explicit `paperlib train`:
        # quick leaves the model out (``left_out`` below)
        train={"resnet50": TrainRecipe(epochs=3, lr=0.05, label_smoothing=0.1)},
        left_out={"resnet50": ("its 3 CPU epochs take 21 min of the 3-hour budget and reach "
                               "about 30 % top-1, the least trained of the models (the others "
                               "54-70 %); the paper profile trains and studies it "
                               "(docs/decisions/reporting.md §15)")},
        train_default=TrainRecipe(epochs=6, lr=0.05, label_smoothing=0.1),
        search=SearchSettings(iterations=300, estimator="sensitivity",
                              reference_estimator="finetune-batches", finetune_batches=20,
                              validation_images=500, privacy_images=32),
        # ResNet50 (~4x ResNet18's cost per image, 3 CPU epochs of training) is searched in the
        # paper profile only: its quick search would add ~25 min on 2 cores for a weak model
        search_models=("resnet18", "mobilenet"),
        # 1000 images x 4 epochs: notebook 06 (~90 decoders, every partition point) in ~15 min
        # notebook 08: 4 models x 3 points (+ He et al.'s), 6 test images, 100 rMLE iterations
        # (docs/decisions/attacks.md §8 estimates its time)
        attack=AttackSettings(test_images=128, images=6, models=ATTACK_MODELS, sweep_points=3,
                              policies=32, policy_images=64, policy_workers=2,
                              attacks={"rmle": {"iterations": 100, "lr": 0.05},
                                       "inverse-network": {"query_images": 1000, "epochs": 4,
                                                           "batch_size": 32},
                                       "shadow": {"labelled_images": 256, "epochs": 3,
                                                  "batch_size": 32, "rmle_iterations": 100}}),
        privacy_images=64,
        dataset="cifar10",
        # notebook 09 in about 30 min on a loaded 2-core VM (docs/decisions/defences.md §6, §13;
        # about 10 min more since the proactive budget of §15):
        # three defence points (the searched strategy's among them), three strengths per defence
        # at the sweep point and the middle one at the others, Gaussian noise only; DataMix and
        # the proactive retraining until a plateau within 6 epochs / 6 rounds of 512 images, its
        # decoder at the inverse network's rate (defences.md §15); the learned attacks on half
        # (decoder) and a third (shadow) of notebook 08's training; RL on cifar10cnn only
        defence=DefenceSettings(points=3, full_grid=False, images=6, accuracy_images=500,
                                attack_budgets={"inverse-network": {"query_images": 500},
                                                "shadow": {"labelled_images": 128, "epochs": 2}},
                                sweeps={"noise": {"kind": ("gaussian",), "strength": (0.5, 1.0, 2.0)},
                                        "dropout": {"rate": (0.25, 0.5, 0.75)},
                                        "datamix": {"k": (2, 3, 4)},
                                        # λ = 0: the same retraining without the privacy
                                        # term, its control (defences.md §15)
                                        "proactive": {"lam": (0.0, 1.0, 2.0)}},
                                defences={"datamix": {"epochs": 6, "images": 256},
                                          "proactive": {"rounds": 6, "images": 512}},
                                rl_models=("cifar10cnn",), rl_episodes=6, rl_samples=4,
                                rl_decoder_images=128, rl_decoder_epochs=2),
        # notebook 07 (decision ours): every evaluation scores P on the quantized edge (~1-4 s on a
        # 2-core CPU for 32 images), so every method x five seeds (search_seeds) x three models at
        # the genetic search's full budget would take hours: ResNet18 (the paper's Fig. 12 model)
        # at the first 60 evaluations of every method (the genetic search's trace is the prefix of
        # its full run, which `make searches` ran for every seed); the front: 5 seeds, 300 distinct strategies per seed for the E_b sweep (three
        # genetic searches of ~110 each, E_b = 0.35 the comparison's own run extended) and as many
        # for NSGA-II (population 20, ~15 generations): ~2,800 new evaluations, ~0.9 s each on
        # 2 free cores, about 40 min (docs/decisions/scale.md §4 gives the measurement)
        comparison=ComparisonPlan(models=("resnet18",), budget=60, front_bounds=(0.2, 0.35, 1.0),
                                  front_budget=300, front_pop_size=20, front_seeds=(0, 1, 2, 3, 4)),
        # notebook 10: one bound above the paper's (a bound below it yields shallower strategies
        # with larger IRs, which the dynamic partition never prefers), 100 iterations: its budget
        energy_sweep=SweepPlan((C.ENERGY_BOUND_MJ, 0.75), {"iterations": 100}),
        # notebook 04's estimator agreement on both searched models: 50 strategies each, the
        # reported ε after a 3-batch finetune (Table 4's: 20), to stay near 20 min on 2 cores
        # (docs/decisions/paper-method.md §9 gives the measured cost)
        agreement=AgreementPlan(strategies=50, finetune_batches=3),
    ),
    "paper": Profile(
        name="paper",
        description="The paper's settings (1000 iterations, one-epoch finetuning); needs a GPU.",
        train={},
        train_by_family={"vgg": TrainRecipe(epochs=100, lr=0.05),
                         "cifar10cnn": TrainRecipe(epochs=100, lr=0.02)},
        train_default=TrainRecipe(epochs=200, lr=0.1),
        search=SearchSettings(estimator="finetune", reference_estimator="finetune",
                              validation_images=10000, privacy_images=256),
        # He et al.'s budgets (5000 rMLE iterations at 1e-2; 500 against the shadow at 0.1): the
        # attacks' own defaults; every training image for the attackers, 30 decoder epochs
        attack=AttackSettings(test_images=1000, images=256, sweep_points=None,
                              policy_models=("cifar10cnn", "resnet18", "mobilenet"),
                              attacks={"inverse-network": {"epochs": 30}}),
        privacy_images=512,
        defence=DefenceSettings(models=None, points=5, images=256, accuracy_images=10000,
                                rl_decoder_images=None, rl_decoder_epochs=10),
    ),
}

DEFAULT_PROFILE = config.DEFAULT_PROFILE


def resolve_profile(profile: str | Profile | None = None) -> Profile:
    """``profile`` itself when it is a :class:`Profile`, else the profile of that name
    (:func:`get_profile`: None means ``$PAPERLIB_PROFILE``, else ``quick``). Every entry point
    takes its profile through this function."""
    if isinstance(profile, Profile):
        return profile
    if profile is not None and not isinstance(profile, str):
        raise TypeError(f"profile must be a profile name, a Profile or None, got {profile!r}")
    return get_profile(profile)


def get_profile(name: str | None = None) -> Profile:
    """The named profile, else ``$PAPERLIB_PROFILE``, else ``quick``."""
    name = config.profile_name(name)
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)} "
            "(set it with --profile, PROFILE=... for make, or PAPERLIB_PROFILE)"
        ) from None


def _scaled_attacks(attacks: dict[str, dict[str, Any]], images: int) -> dict[str, dict[str, Any]]:
    """``AttackSettings.attacks`` as :func:`scaled` shrinks it: the shipped attacks to one epoch
    and a few iterations on ``images`` of their own images, their other values kept (an attack
    registered from outside keeps all of its values)."""
    small = {"rmle": {"iterations": 5},
             "inverse-network": {"query_images": images, "epochs": 1},
             "shadow": {"labelled_images": images, "epochs": 1, "rmle_iterations": 5}}
    return {**attacks, **{name: {**attacks.get(name, {}), **values}
                          for name, values in small.items()}}


def scaled(profile: Profile, *, epochs: int = 1, images: int = 64, iterations: int = 2,
           population: int = 3, sample: int = 2) -> Profile:
    """``profile`` with only its sizes scaled down (docs/decisions/scale.md §5): every training
    recipe to ``epochs`` epochs on ``images`` train and test images, the search to ``iterations``
    iterations of a population ``population`` (sample ``sample``) and subsets of at most
    ``images`` images (the test images never below the fewest whose report split holds the 100
    images every reported number needs, docs/decisions/paper-method.md §9), the attacks to one
    epoch on tiny subsets. Everything else (data set, ε
    estimators, searched models, hyper-parameters) stays the profile's, so a CPU run of the
    result walks the same code paths as the full profile; notebook 04's estimator agreement
    scores at most 4 strategies per model (no validation). The name gets ``-scaled``, so that its
    outputs are never taken for the full profile's."""
    if min(epochs, images, iterations, population, sample) < 1 or sample > population:
        raise ValueError("scaled(): epochs, images, iterations, population and sample must be "
                         f">= 1 and sample <= population, got {epochs}, {images}, {iterations}, "
                         f"{population}, {sample}")

    test_images = max(images, min_test_images(profile.search.report_fraction))

    def recipe(r: TrainRecipe) -> TrainRecipe:
        return replace(r, epochs=min(r.epochs, epochs),
                       train_images=min(r.train_images or images, images),
                       test_images=min(r.test_images or test_images, test_images))

    def search(s: SearchSettings) -> SearchSettings:
        return replace(s, iterations=min(s.iterations, iterations),
                       population=min(s.population, population), sample=min(s.sample, sample),
                       finetune_batches=min(s.finetune_batches, 2),
                       validation_images=min(s.validation_images, images),
                       privacy_images=min(s.privacy_images, 8))

    small = min(images, 16)
    return replace(
        profile, name=f"{profile.name}-scaled",
        train={m: recipe(r) for m, r in profile.train.items()},
        train_by_family={f: recipe(r) for f, r in profile.train_by_family.items()},
        train_default=None if profile.train_default is None else recipe(profile.train_default),
        search=search(profile.search),
        search_overrides={m: {k: (min(v, images) if k.endswith("_images") else v)
                              for k, v in o.items()} for m, o in profile.search_overrides.items()},
        attack=replace(profile.attack, test_images=small,
                       points=min(profile.attack.points or 2, 2), images=4, policies=2,
                       bootstrap=20, attacks=_scaled_attacks(profile.attack.attacks, small)),
        privacy_images=min(profile.privacy_images, 8),
        agreement=replace(profile.agreement, strategies=min(profile.agreement.strategies, 4),
                          minimum=min(profile.agreement.minimum, 4)),
        description=f"{profile.description} (sizes scaled down for a CPU test)")


__all__ = ["Profile", "TrainRecipe", "SearchSettings", "AttackSettings", "DefenceSettings",
           "MOVED_ATTACK_FIELDS", "MOVED_DEFENCE_FIELDS",
           "AgreementPlan", "ComparisonPlan", "NetworkPlan", "SweepPlan", "PROFILES", "get_profile", "resolve_profile",
           "scaled"]
