"""The hardened xrsched client: :class:`RemoteScheduler` and its multicall batching.

Typical use::

    from xrsched.client import RemoteScheduler

    scheduler = RemoteScheduler("https://sched.example:8082", ca="ca.pem")  # token from XRSCHED_TOKEN
    reply = scheduler.get_work(worker="w-1", host="build-7")
    if reply["task_id"] is not None:
        ...
"""

from xrsched.client.batch import BatchEntry, Call, MultiCallBatch, send_many
from xrsched.client.endpoint import ClientStats, TransportSettings
from xrsched.client.errors import (
    AuthenticationFailed,
    BadRequest,
    ClientError,
    Conflict,
    EncodeError,
    Forbidden,
    InternalError,
    MalformedResponse,
    NoSchedulerAvailable,
    NoSuchMethod,
    NotFound,
    RateLimited,
    ResponseTooLarge,
    SchedulerFault,
    TransportError,
    Unavailable,
)
from xrsched.client.proxy import SchedulerProxy
from xrsched.client.remote import (
    SCHEDULER_METHODS,
    RemoteScheduler,
    TokenError,
    resolve_token,
)
from xrsched.client.retrying import RetryPolicy
from xrsched.client.transport import SchedulerTransport

__all__ = [
    "SCHEDULER_METHODS",
    "AuthenticationFailed",
    "BadRequest",
    "BatchEntry",
    "Call",
    "ClientError",
    "ClientStats",
    "Conflict",
    "EncodeError",
    "Forbidden",
    "InternalError",
    "MalformedResponse",
    "MultiCallBatch",
    "NoSchedulerAvailable",
    "NoSuchMethod",
    "NotFound",
    "RateLimited",
    "RemoteScheduler",
    "ResponseTooLarge",
    "RetryPolicy",
    "SchedulerFault",
    "SchedulerProxy",
    "SchedulerTransport",
    "TokenError",
    "TransportError",
    "TransportSettings",
    "Unavailable",
    "resolve_token",
    "send_many",
]
