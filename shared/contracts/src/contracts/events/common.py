"""Vocabulary shared by several events."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from contracts.bounds import SingleLine

Program = Literal["P1", "P2", "P3"]
Track = Literal["general", "early_career"]
ReclaimReason = Literal["low_utilization", "plan_shortfall", "off_purpose", "operator", "withdrawn"]
GpuModel = Annotated[str, Field(min_length=1, max_length=64, examples=["H100", "H200", "B200"]), SingleLine]
# NVIDIA's UUID of one GPU, as nvidia-smi reports it and the DCGM exporter labels its samples (`UUID`)
GPU_UUID_PATTERN = r"^GPU-[0-9a-fA-F-]{8,64}$"
GpuUuid = Annotated[str, Field(min_length=12, max_length=68, pattern=GPU_UUID_PATTERN,
                               examples=["GPU-5d5e7a9c-1b2f-4c3d-9e8f-0123456789ab"]), SingleLine]

# Korea's 17 first-level regions; the capital region is Seoul, Incheon and Gyeonggi.
Region = Literal["Seoul", "Busan", "Daegu", "Incheon", "Gwangju", "Daejeon", "Ulsan", "Sejong", "Gyeonggi",
                 "Gangwon", "Chungbuk", "Chungnam", "Jeonbuk", "Jeonnam", "Gyeongbuk", "Gyeongnam", "Jeju"]
CAPITAL_REGION: frozenset[str] = frozenset({"Seoul", "Incheon", "Gyeonggi"})
CompanySize = Literal["large", "mid", "small"]
# the applicant's sector, as intake records it
Sector = Literal["industry", "academia", "research_institute", "public"]
# A Korean business registration number (사업자등록번호): 10 digits, no dashes
BUSINESS_REGISTRATION_NUMBER_PATTERN = r"^[0-9]{10}$"
BusinessRegistrationNumber = Annotated[str, Field(pattern=BUSINESS_REGISTRATION_NUMBER_PATTERN,
                                                  examples=["1234567891"]), SingleLine]
# A part of a whole in basis points: 1 is 0.01 %, 10000 the whole
WHOLE_BP = 10_000
