"""Reading deployment settings from the environment, the way Dagster shows them in the UI."""

import os

import dagster as dg


def env_or_default(name: str, default: str) -> str | dg.EnvVar:
    """`dg.EnvVar(name)` when the variable is set (the UI then shows where the value came from), else `default`.

    Plain `dg.EnvVar` fails at run time when the variable is unset; every setting here has a sensible default so
    that the project runs offline with no configuration at all.
    """
    return dg.EnvVar(name) if os.environ.get(name) else default
