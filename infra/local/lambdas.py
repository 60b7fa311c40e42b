"""The Chalice app's step Lambdas on moto: every `@app.lambda_function` registered with the
in-process Lambda bridge (infra.local.moto_patches) under the name it has when deployed,
and the settings publishing reads to point state machines at them."""

from __future__ import annotations

import os

from infra.local import moto_patches
from infra.local.sfn_runner import ACCOUNT_ID, REGION, LocalSfn

LOCAL_STAGE = "local"


def function_prefix(stage: str = LOCAL_STAGE) -> str:
    """Chalice names a deployed function `<app>-<stage>-<name>`."""
    return f"crmflow-{stage}-"


def register_app_functions(stage: str = LOCAL_STAGE) -> list[str]:
    """Route every step Lambda of functions/app.py to its Python handler; set the function
    ARN template and the state machines' role for publishing. Returns the function names."""
    from functions import app as entry
    from functions.publish import FUNCTION_ARN_ENV, STATES_ROLE_ENV

    prefix = function_prefix(stage)
    names = []
    for function in entry.app.pure_lambda_functions:
        # The module attribute is what Lambda calls: Chalice's wrapper around the function.
        moto_patches.register(prefix + function.name, getattr(entry, function.name))
        names.append(prefix + function.name)
    os.environ[FUNCTION_ARN_ENV] = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{prefix}{{handler}}"
    )
    os.environ[STATES_ROLE_ENV] = LocalSfn().role_arn
    return names


def unregister_app_functions(stage: str = LOCAL_STAGE) -> None:
    from functions import app as entry

    for function in entry.app.pure_lambda_functions:
        moto_patches.unregister(function_prefix(stage) + function.name)
