"""What the API says about a device's missing sequence numbers."""

from pydantic import BaseModel, Field


class SeqGapPublic(BaseModel):
    first: int = Field(description="First missing sequence number")
    last: int = Field(description="Last missing sequence number (included)")


class DeviceGaps(BaseModel):
    device_id: str
    missing: int = Field(description="How many messages are missing below the device's highest stored number")
    gaps: list[SeqGapPublic] = Field(description="The holes, oldest first")
    grace_s: float = Field(description="Holes younger than this are not reported yet: a replay may fill them")
