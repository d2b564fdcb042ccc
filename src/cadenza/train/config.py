"""The settings every training run shares (RunConfig). Each family's Config adds its own
fields. No torch here: the command line builds `cadenza train`'s options from these classes
without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from cadenza.errors import OptionError
from cadenza.settings import flag_of, setting


@dataclass
class RunConfig:
    """What every training run sets: data, network size, the loop (read by `fit`), augmentation.
    Each family's Config adds its own fields (cadenza.families)."""

    data: str = setting(
        "",
        "built-in corpus name(s), comma-separated (bach-chorales, essen, oneills, ryans, "
        "palestrina), a folder of your files, or a data file the family reads",
    )
    n_layer: int = setting(4, "transformer layers", flag="layers")
    n_head: int = setting(4, "attention heads", flag="heads")
    n_embd: int = setting(192, "channels", flag="embd")
    dropout: float = setting(0.1, "dropout")
    batch_size: int = setting(16, "examples (or packed rows) per step")
    lr: float = setting(1e-3, "peak learning rate (AdamW, warm-up then cosine decay)")
    weight_decay: float = setting(0.1, "AdamW weight decay")
    warmup_steps: int = setting(100, "learning-rate warm-up steps")
    steps: int = setting(0, "exact number of optimizer steps (reproducible); 0 = use --minutes")
    minutes: float = setting(
        10.0,
        "training time budget, counted from the first step (reading the data comes before it, outside it; "
        "ignored with --steps)",
    )
    eval_every: int = setting(200, "validate every this many steps (and at the end)")
    checkpoint_minutes: float = setting(2.0, "write a checkpoint at least this often")
    transpose: int = setting(5, "augment by random transposition up to this many semitones")
    seed: int = setting(0, "random seed")
    bf16: bool = setting(False, "train under bfloat16 autocast (validation stays fp32)")
    patience: int = setting(0, "stop after this many validations in a row without a new best (0: never)")
    init_from: str = setting(
        "", "start from this model's weights (a folder or a model's name) wherever names and shapes match"
    )

    def __post_init__(self):
        for f in fields(self):  # a TOML file can give any type: say which setting is wrong, in one line
            value, kind = getattr(self, f.name), str(f.type)
            ok = {
                "int": isinstance(value, int) and not isinstance(value, bool),
                "bool": isinstance(value, bool),
                "float": isinstance(value, (int, float)) and not isinstance(value, bool),
                "str": isinstance(value, str),
            }.get(kind, True)
            if not ok:
                what = {"float": "a number", "int": "a whole number", "bool": "true or false"}.get(kind, "text")
                raise OptionError(f"{flag_of(f)} must be {what}, not {value!r}")
        if self.steps < 0 or (self.minutes <= 0 and self.steps == 0):
            raise OptionError("give a positive --minutes or --steps")
        by_name = {f.name: f for f in fields(self)}
        for name, low in (
            ("batch_size", 1),
            ("n_layer", 1),
            ("n_head", 1),
            ("n_embd", 1),
            ("eval_every", 1),
            ("warmup_steps", 0),
            ("transpose", 0),
            ("patience", 0),
            ("seed", 0),
        ):
            if getattr(self, name) < low:
                raise OptionError(f"{flag_of(by_name[name])} must be at least {low}, not {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise OptionError(f"--embd {self.n_embd} is not a multiple of --heads {self.n_head}")
        if not self.lr > 0 or self.weight_decay < 0 or self.checkpoint_minutes < 0:
            raise OptionError("--lr must be positive, --weight-decay and --checkpoint-minutes not negative")
        if not 0 <= self.dropout < 1:
            raise OptionError(f"--dropout must be in [0, 1), not {self.dropout}")

    @classmethod
    def from_record(cls, record: dict):
        """The config a run recorded (a checkpoint's or model.json's "train"), keeping only the
        fields this config has: a run recorded before a field was dropped still resumes. A field
        the record lacks (it was added later) takes the value runs had before it existed
        (RECORDED_BEFORE) where that differs from today's default, else the default."""
        names = {f.name for f in fields(cls)}
        before = {k: v for k, v in RECORDED_BEFORE.items() if k in names}
        return cls(**{**before, **{k: v for k, v in record.items() if k in names}})


# What a recorded run that predates a field used, where today's default differs: --rope became
# the voices family's default after the first models (learned absolute positions) were trained;
# the performer's tempo was trained by note before --tempo-per-beat became its default.
RECORDED_BEFORE = {"rope": False, "tempo_per_beat": False}


def check_network_shape(block_size: int, n_embd: int, n_head: int, rope: bool = True, hint: str = "") -> None:
    """Refuse, in one line, a window under 16 steps, or rotary positions with an odd head size
    (`hint` adds what to do about it)."""
    if block_size < 16:
        raise OptionError("--block-size must be at least 16")
    if rope and (n_embd // n_head) % 2:
        raise OptionError(f"rotary positions need an even head size: --embd / --heads is {n_embd // n_head}{hint}")


def check_data_options(valid_percent: int, max_pieces: int) -> None:
    """The data options the corpus families share: a validation share that leaves both splits
    pieces, and a piece limit that is not negative."""
    if not 1 <= valid_percent <= 50:
        raise OptionError(f"--valid-percent must be 1 to 50, not {valid_percent}")
    if max_pieces < 0:
        raise OptionError(f"--max-pieces must be 0 (all) or more, not {max_pieces}")
