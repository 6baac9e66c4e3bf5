"""The manifest's limits (spec §2) and description limits (spec §5), in one place."""

from typing import Final

NAME_FOR_HUMAN_MAX: Final = 20
NAME_FOR_MODEL_MAX: Final = 50
DESCRIPTION_FOR_HUMAN_MAX: Final = 100
DESCRIPTION_FOR_MODEL_MAX: Final = 8_000
OPERATION_DESCRIPTION_MAX: Final = 300
PARAMETER_DESCRIPTION_MAX: Final = 700
SCHEMA_VERSION: Final = "v1"
