"""The paper's constants, in one place (Guo, Lin & Song 2023; ``docs/decisions/paper-method.md``).

Every number the paper gives lives here and nowhere else, except its energy table (Table 3), which
is data (``paperlib/method/hardware_tables/table3.toml``, read by :mod:`paperlib.method.hardware`): the bit
ranges, the genetic-search settings (Algorithm 1, Eq. 10-12) and the targets it reports
(Tables 2, 4, 5), which are kept for side-by-side comparison only.
"""

from __future__ import annotations

# --- Quantization (Sect. "Experiment"; paper-method.md §2) ---------------------------------------
WEIGHT_BITS: tuple[int, ...] = (2, 4, 6, 8)  # R_w
ACTIVATION_BITS: tuple[int, ...] = (8,)  # R_a
FULL_PRECISION: int = 32  # "not quantized"
POLICY_BITS: tuple[int, ...] = (2, 4, 6, 8, FULL_PRECISION)  # every bit width a policy may name

# --- Energy (Eq. 7-9, Table 3; paper-method.md §3) -----------------------------------------------
# E_MAC|k and E_mem|k (Table 3) are data: paperlib/method/hardware_tables/table3.toml (paperlib.method.hardware)
E_TRAN_PJ_PER_BIT: float = 100.0  # E_tran, 1 Mbps link
ENERGY_BOUND_MJ: float = 0.35  # E_b of Tables 4 and 5

# --- Search (Algorithm 1, Eq. 10-12; paper-method.md §5) -----------------------------------------
POPULATION: int = 20  # N
SAMPLE: int = 10  # S
ITERATIONS: int = 1000  # T
P_MUTATE_PARTITION: float = 0.5
P_MUTATE_LAYER: float = 0.3
LAMBDA_ENERGY: float = 0.1  # λ1
LAMBDA_ACCURACY: float = 0.1  # λ2
ACCURACY_LOSS_BOUND: float = 0.03  # ε_b: "the loss stays < 3 %"
FINETUNE_LR: float = 1e-3
FINETUNE_MOMENTUM: float = 0.9
# strategies per model the estimator-agreement table needs to count as a validation of the
# search's ε estimator (ours, docs/decisions/paper-method.md §9)
MIN_AGREEMENT_STRATEGIES: int = 50

# --- What the paper reports (paper-method.md §6): targets to put beside ours, never inputs -------
PAPER_TABLE4 = [  # model, method, offloaded blocks, offloaded conv layers, privacy, top-1
    ("resnet18", "full precision", 1, 2, 0.8045, 0.7679),
    ("resnet18", "8-bit uniform", 5, 12, 0.8877, 0.7679),
    ("resnet18", "searched", 7, 17, 0.9595, 0.7302),
    ("resnet50", "full precision", 1, 4, 0.8493, 0.7812),
    ("resnet50", "8-bit uniform", 4, 14, 0.8542, 0.7807),
    ("resnet50", "searched", 6, 20, 0.9454, 0.7642),
    ("mobilenet", "full precision", 13, 24, 0.9826, 0.6516),
    ("mobilenet", "8-bit uniform", 14, 26, 1.0427, 0.6462),
    ("mobilenet", "searched", 14, 26, 1.1102, 0.6207),
]
PAPER_TABLE5 = [  # model, method, blocks, conv layers, energy (mJ), privacy
    ("resnet18", "8-bit conv/fc", 8, 20, 0.7269, 1.0068),
    ("resnet18", "searched", 7, 18, 0.3427, 0.9595),
    ("resnet50", "8-bit conv/fc", 16, 53, 1.6776, 0.9583),
    ("resnet50", "searched", 6, 21, 0.3402, 0.9454),
]
PAPER_TABLE2_HOURS = {"mobilenet": 2.0, "resnet18": 3.4, "resnet50": 12.0}  # 1000 iterations, 1 GPU
PAPER_TOP1 = {"resnet18": 0.7679, "resnet50": 0.7812, "mobilenet": 0.6516, "vgg11": 0.90}
# Fig. 11 (Guo et al. 2023, "Experiment results"): the searched strategy's edge-energy saving
# against 8-bit uniform at the same partition point, given in the text rounded to tens of percent
PAPER_FIG11_SAVING = {"resnet18": 0.40, "resnet50": 0.30, "mobilenet": 0.20}
PAPER_CONVERGED_WITHIN: int = 600  # Fig. 10: the search settles within 600 of T = 1000 iterations
PAPER_FIG12_P: int = 7  # Fig. 12: ResNet18's searched partition point (blocks on the edge)
PAPER_FIG12_IR_SHRINK: int = 8  # Fig. 12: that IR has 1/8 of the first block's elements
