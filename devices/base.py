"""The one base for every Atrium model: unknown keys are errors, not silently ignored."""

from pydantic import BaseModel, ConfigDict


class AtriumModel(BaseModel):
    """Strict base model: a typo in a payload or a file is reported with its path."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
