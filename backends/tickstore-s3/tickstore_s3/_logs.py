"""Keep credentials out of botocore's DEBUG logging.

botocore logs each request's headers and its canonical request at DEBUG, and with temporary
credentials those hold the session token (``X-Amz-Security-Token``). A filter on botocore's and
urllib3's loggers masks that header and any credential value a backend was given.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["protect_logs"]

_TOKEN_HEADER = re.compile(r"(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^\s'\",;&]+", re.IGNORECASE)
_secrets: set[str] = set()
_lock = threading.Lock()


class _RedactSecrets(logging.Filter):
    """Rewrites a record whose message would show a session token or a known credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_HEADER.sub(r"\1***", message)
        for secret in _secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactSecrets()


def protect_logs(secrets: list[str]) -> None:
    """Mask ``secrets`` and session tokens in every botocore, boto3 and urllib3 log record.

    A logger filter sees only its own logger's records, so the filter goes on each logger of
    those libraries that exists now: after a client is created, every module that logs is loaded.
    """
    with _lock:
        _secrets.update(secrets)
        names = [name for name in logging.Logger.manager.loggerDict if name.split(".")[0] in _LIBRARIES]
        for name in names:
            logger = logging.getLogger(name)
            if _REDACT not in logger.filters:
                logger.addFilter(_REDACT)


_LIBRARIES = {"botocore", "boto3", "urllib3", "s3transfer"}
