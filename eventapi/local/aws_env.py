"""The AWS settings of the processes a local deploy starts or configures: offline, and pointed at the local
stand-in (moto) with its dummy credentials, never at AWS or at a profile of the caller.

`OFFLINE_AWS_ENV` is the one definition of "no AWS of the caller": the synth, the post-deploy step (and `export`,
the renewer) and the demo's own client all start from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from eventapi.local.control_plane import LOCAL_CREDENTIALS

AWS_PREFIX: Final = "AWS_"
OFFLINE_AWS_ENV: Final[Mapping[str, str]] = {
    "AWS_EC2_METADATA_DISABLED": "true",  # no credentials from an instance role, no metadata lookup
    "AWS_CONFIG_FILE": os.devnull,  # no profile settings (endpoints, credential processes) of the caller
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def offline_env(environ: Mapping[str, str], **settings: str) -> dict[str, str]:
    """`environ` without any AWS_* variable of the caller, with `OFFLINE_AWS_ENV` and then `settings`."""
    env = {k: v for k, v in environ.items() if not k.startswith(AWS_PREFIX)}
    env.update(OFFLINE_AWS_ENV)
    env.update(settings)
    return env


def client_env(moto_url: str, region: str) -> dict[str, str]:
    """The AWS_* settings that point an app at the local stand-in (dummy, public credentials).

    Both region variables: boto3 reads AWS_DEFAULT_REGION, the AWS SDK for JavaScript v3 reads AWS_REGION.
    """
    return {"AWS_ENDPOINT_URL": moto_url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region, **LOCAL_CREDENTIALS}


def local_aws_env(moto_url: str, region: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a process that uses AWS through the local stand-in only (the post-deploy step, `export`,
    the renewer, the demo's client): `environ` (default: this process's) offline, plus `client_env`."""
    return offline_env(os.environ if environ is None else environ, **client_env(moto_url, region))
