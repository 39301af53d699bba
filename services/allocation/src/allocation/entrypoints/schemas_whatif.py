"""The policy what-if's request and response bodies: up to five variants of a round's policy, and what each changes."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from allocation.domain.comparison import Comparison, VariantResult, WhatIf
from allocation.domain.whatif import Variant
from allocation.entrypoints.schemas import Name
from contracts.events.evaluation import BonusFact, Criterion, Points

Weight = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# another RoundRules field (e.g. reserve_objective): a scalar, checked against the field it names
RuleValue = (Annotated[str, Field(max_length=100)] | Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
             | Annotated[float, Field(allow_inf_nan=False)] | bool | None)
RULE_FIELDS = ("reserve_share", "institution_cap_share")
MAX_OTHER_RULES = 10


class VariantIn(BaseModel):
    """One policy to try. What it leaves out stays as recorded at the round's selection."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, RuleValue] = Field(init=False)

    name: Name
    reserve_share: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False,
                                        description="The early-career reserve's share of the round's GPUs.")
    institution_cap_share: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False,
                                                description="An institution's cap as a share of the GPUs; null: none.")
    bonus_points: dict[BonusFact, Points] = Field(default_factory=dict, max_length=3,
                                                  description="Points per bonus fact; the recorded ones otherwise.")
    rubric_weights: dict[Criterion, Weight] | None = Field(
        default=None, description="All three criteria, each 0..1, summing to 1; the rubric re-weighted from the "
                                  "reviewers' means (the recorded rubric points otherwise).")

    @model_validator(mode="after")
    def _few_other_rules(self) -> VariantIn:
        if len(self.model_extra or {}) > MAX_OTHER_RULES:
            raise ValueError(f"at most {MAX_OTHER_RULES} other rules")
        return self

    def to_variant(self) -> Variant:
        """Only the rules given count: an explicit null institution_cap_share lifts the cap."""
        rules = {k: getattr(self, k) for k in RULE_FIELDS if k in self.model_fields_set} | (self.model_extra or {})
        weights = self.rubric_weights
        return Variant(self.name, rules, {str(k): v for k, v in self.bonus_points.items()},
                       {str(k): v for k, v in weights.items()} if weights is not None else None)


class WhatIfIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variants: list[VariantIn] = Field(min_length=1, max_length=5)

    @field_validator("variants")
    @classmethod
    def _names_unique(cls, variants: list[VariantIn]) -> list[VariantIn]:
        if len({v.name for v in variants}) != len(variants):
            raise ValueError("variant names must be unique")
        return variants


class ChangeOut(BaseModel):
    application_id: UUID
    before_selected: bool
    before_basis: str
    after_selected: bool
    after_basis: str
    score_before: float
    score_after: float


class GroupOut(BaseModel):
    before: int
    after: int


class ComparisonOut(BaseModel):
    changes: list[ChangeOut] = Field(description="The applications whose status changes, in the round's input order.")
    gpus_before: int
    gpus_after: int
    gpus: dict[str, dict[str, GroupOut]] = Field(
        description="GPUs awarded per region_class (capital / non_capital / unknown), institution (only those that "
                    "change), sector and track (early_career / general), before and after.")
    objective_before: float = Field(description="Σ score x GPUs of the selected, with the scores each side used.")
    objective_after: float

    @classmethod
    def of(cls, c: Comparison) -> ComparisonOut:
        return cls(changes=[ChangeOut.model_validate(vars(x)) for x in c.changes], gpus_before=c.gpus_before,
                   gpus_after=c.gpus_after, objective_before=c.objective_before, objective_after=c.objective_after,
                   gpus={d: {g: GroupOut(before=b, after=a) for g, (b, a) in groups.items()}
                         for d, groups in c.gpus.items()})


class VariantOut(BaseModel):
    name: str
    rules: dict[str, object] = Field(description="The round rules the variant was replayed under.")
    method: str
    vs_baseline: ComparisonOut = Field(description="Against the same input replayed under the recorded policy.")
    vs_decisions: ComparisonOut = Field(description="Against the stored decisions (after placement and award).")

    @classmethod
    def of(cls, v: VariantResult) -> VariantOut:
        return cls(name=v.name, rules=dict(v.rules), method=v.method, vs_baseline=ComparisonOut.of(v.vs_baseline),
                   vs_decisions=ComparisonOut.of(v.vs_decisions))


class WhatIfOut(BaseModel):
    call_id: UUID
    candidates: int
    baseline_method: str
    baseline_vs_decisions: ComparisonOut = Field(
        description="The recorded policy's replay against the stored decisions: what placement on servers and the "
                    "re-check at award changed (the replay places nothing).")
    variants: list[VariantOut]

    @classmethod
    def of(cls, w: WhatIf) -> WhatIfOut:
        return cls(call_id=w.call_id, candidates=w.candidates, baseline_method=w.baseline_method,
                   baseline_vs_decisions=ComparisonOut.of(w.baseline_vs_decisions),
                   variants=[VariantOut.of(v) for v in w.variants])
