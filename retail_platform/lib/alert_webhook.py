"""Posting an alert to a Slack-compatible incoming webhook (``{"text": ...}``).

The URL is a secret (whoever has a Slack webhook URL can post to the channel): it is read
from the environment when an alert is sent, and never printed, logged or put in an error
message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from retail_platform.settings import settings

TIMEOUT_SECONDS = 10.0  # a sensor tick must not hang on a slow webhook
MAX_TEXT_CHARS = 3500  # Slack shows about this much of a message before "show more"


class AlertNotSent(RuntimeError):
    """The webhook did not take the alert. The message never includes the URL."""


def webhook_url() -> str | None:
    """The webhook URL, or None when alerting is off (the variable unset or blank)."""
    return settings().alert_webhook_url


def webserver_url() -> str:
    """Where the Dagster UI is, for links in alerts (no trailing slash)."""
    return settings().webserver_url


def run_link(run_id: str) -> str:
    return f"{webserver_url()}/runs/{run_id}"


def post_alert(url: str, text: str, timeout: float = TIMEOUT_SECONDS) -> None:
    """POST ``{"text": text}`` as JSON; raise ``AlertNotSent`` (without the URL) unless the
    webhook answers 2xx within ``timeout``."""
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 20] + "\n… (truncated)"
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # `from None` everywhere: a chained urllib error could carry the URL into a traceback.
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise AlertNotSent(f"the alert webhook answered HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise AlertNotSent(f"cannot reach the alert webhook: {error.reason}") from None
    except TimeoutError:
        raise AlertNotSent(f"the alert webhook did not answer within {timeout:g} s") from None
    except (OSError, ValueError) as error:  # a malformed URL, a reset connection
        raise AlertNotSent(f"cannot post to the alert webhook: {type(error).__name__}") from None
    if not 200 <= status < 300:
        raise AlertNotSent(f"the alert webhook answered HTTP {status}")
