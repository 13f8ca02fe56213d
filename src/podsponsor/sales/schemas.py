from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, EmailStr, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from podsponsor.auth.subject import Subject

Stage = Literal["lead", "qualified", "proposal", "negotiation", "won", "lost"]
BrandSafety = Literal["strict", "moderate", "permissive"]
MAX_VALUE_CENTS = 10**15  # a trillion dollars: far beyond any deal, well inside BIGINT

# ISO 3166-1 alpha-2, officially assigned codes.
_COUNTRY_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO
    JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR
    MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
    RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV
    TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_COUNTRY_CODES.split())


# The default of a patch field that cannot be emptied: typed Any so the field's type can stay without None.
KEEP: Any = None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _countries(codes: list[str] | None) -> list[str] | None:
    if codes is None:
        return None
    upper = [c.strip().upper() for c in codes]
    unknown = [c for c in upper if c not in COUNTRIES]
    if unknown:
        raise ValueError(f"not ISO 3166-1 alpha-2 country codes: {', '.join(unknown[:10])}")
    return list(dict.fromkeys(upper))


def _topics(topics: list[str] | None) -> list[str] | None:
    if topics is None:
        return None
    cleaned = [t.strip() for t in topics]
    if any(not t or len(t) > 100 for t in cleaned):
        raise ValueError("each topic has 1 to 100 characters")
    return list(dict.fromkeys(cleaned))


class SponsorFields(Strict):
    @field_validator("target_geo", mode="after", check_fields=False)
    @classmethod
    def _geo(cls, value: list[str] | None) -> list[str] | None:
        return _countries(value)

    @field_validator("target_topics", mode="after", check_fields=False)
    @classmethod
    def _topics(cls, value: list[str] | None) -> list[str] | None:
        return _topics(value)


class SponsorIn(SponsorFields):
    name: str = Field(min_length=1, max_length=300)
    industry: str = Field(min_length=1, max_length=100)
    website_url: AnyHttpUrl | None = None
    contact_email: EmailStr | None = None
    target_geo: list[str] = Field(default_factory=list, max_length=250, description="ISO 3166-1 alpha-2 codes")
    target_demo: dict[str, Any] = Field(default_factory=dict, max_length=50, description="e.g. age bands, gender")
    target_topics: list[str] = Field(default_factory=list, max_length=50)
    brand_safety: BrandSafety = "moderate"
    notes: str = Field("", max_length=20000, description="internal: never shown to advertiser users")


class SponsorPatch(SponsorFields):
    """Fields left out keep their value. A field typed without `None` cannot be emptied, so null is refused."""

    name: str = Field(KEEP, min_length=1, max_length=300)
    industry: str = Field(KEEP, min_length=1, max_length=100)
    website_url: AnyHttpUrl | None = None
    contact_email: EmailStr | None = None
    target_geo: list[str] = Field(KEEP, max_length=250)
    target_demo: dict[str, Any] = Field(KEEP, max_length=50)
    target_topics: list[str] = Field(KEEP, max_length=50)
    brand_safety: BrandSafety = Field(KEEP)
    notes: str = Field(KEEP, max_length=20000)


class SponsorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    industry: str
    website_url: str | None
    contact_email: str | None
    target_geo: list[str]
    target_demo: dict[str, Any]
    target_topics: list[str]
    brand_safety: str
    notes: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any, subject: Subject) -> SponsorOut:
        out = cls.model_validate(row)
        return out.model_copy(update={"notes": ""}) if subject.is_advertiser else out


class CampaignFields(Strict):
    @field_validator("currency", mode="after", check_fields=False)
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None

    @field_validator("probability", mode="after", check_fields=False)
    @classmethod
    def _probability(cls, value: float | None) -> float | None:
        # The column keeps three decimals; rounding here makes the response match what is stored.
        return round(value, 3) if value is not None else None


class CampaignIn(CampaignFields):
    sponsor_id: uuid.UUID
    seller_id: uuid.UUID | None = Field(None, description="a user of this workspace who owns the deal")
    name: str = Field(min_length=1, max_length=300)
    stage: Stage = "lead"
    value_cents: int = Field(0, ge=0, le=MAX_VALUE_CENTS)
    currency: str = Field("USD", pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. USD")
    probability: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    expected_close: date | None = None
    notes: str = Field("", max_length=20000, description="internal: never shown to advertiser users")


class CampaignPatch(CampaignFields):
    """Fields left out keep their value. A field typed without `None` cannot be emptied, so null is refused."""

    sponsor_id: uuid.UUID = Field(KEEP)
    seller_id: uuid.UUID | None = None
    name: str = Field(KEEP, min_length=1, max_length=300)
    value_cents: int = Field(KEEP, ge=0, le=MAX_VALUE_CENTS)
    currency: str = Field(KEEP, pattern=r"^[A-Za-z]{3}$")
    probability: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    expected_close: date | None = None
    notes: str = Field(KEEP, max_length=20000)
    # Not a field a client may set: present only so that sending it gets an error that says where stages move.
    stage: SkipJsonSchema[Any] = Field(None, exclude=True)

    @field_validator("stage", mode="before")
    @classmethod
    def _stage_not_patchable(cls, value: Any) -> Any:
        raise ValueError("the stage cannot be changed with PATCH; a deal moves between stages through its own endpoint")


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sponsor_id: uuid.UUID
    seller_id: uuid.UUID | None
    name: str
    stage: str
    stage_changed_at: datetime
    value_cents: int
    currency: str
    probability: float | None
    expected_close: date | None
    notes: str
    created_at: datetime
    updated_at: datetime

    @field_validator("probability", mode="before")
    @classmethod
    def _as_float(cls, value: Decimal | float | None) -> float | None:
        return float(value) if value is not None else None

    @classmethod
    def of(cls, row: Any, subject: Subject) -> CampaignOut:
        out = cls.model_validate(row)
        return out.model_copy(update={"notes": ""}) if subject.is_advertiser else out


def plain(data: BaseModel, *, exclude_unset: bool = False) -> dict[str, Any]:
    """Input as column values: URLs and e-mail addresses become strings."""
    values = data.model_dump(exclude_unset=exclude_unset)
    return {k: str(v) if isinstance(v, AnyHttpUrl) else v for k, v in values.items()}
