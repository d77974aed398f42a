"""The settings of alerts that need no open page: the rules, the webhooks each firing is POSTed
to, and their bounds (docs/together.md, "Alerts").

One area of the one settings table: :class:`framecast.config.settings.Settings` is made of
these declarations and its siblings'. The rules themselves are read by
:mod:`framecast.live.alerts` when the server is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from framecast.config.options import option

__all__ = ["AlertSettings"]


@dataclass(frozen=True)
class AlertSettings:
    """Alert rules, webhooks, the webhooks' time and backlog, the alerts kept."""

    alerts: tuple[str, ...] = field(
        default=(),
        metadata=option(
            help="Alert rules KEY>NUMBER or KEY<NUMBER, optionally STREAM:KEY>NUMBER; KEY a "
            "numeric metadata key or frame.min, frame.max, frame.mean, frame.saturated. "
            "Evaluated on every frame; each crossing is POSTed to the webhooks, shown in the "
            "open viewers and listed at <stream>/api/alerts. Repeatable: --alert RULE.",
            group="alerts",
            short="--alert",
            expects="comma-separated rules such as temperature>25 or cam1:frame.max<100",
            env="ALERT",  # like --alert; FRAMECAST_ALERTS, the earlier name, is read too
            env_aliases=("ALERTS",),
        ),
    )
    alert_webhooks: tuple[str, ...] = field(
        default=(),
        metadata=option(
            help="URLs (http:// or https://) each alert is POSTed to as JSON. Repeatable: "
            "--alert-webhook URL.",
            group="alerts",
            short="--alert-webhook",
            expects="comma-separated http:// or https:// URLs",
        ),
    )
    alert_webhook_timeout: float = field(
        default=5.0,
        metadata=option(
            help="Seconds one POST of an alert to a webhook may take; a failed or slow POST "
            "is tried again twice, after 1 s and 2 s.",
            group="alerts",
            above=0,
        ),
    )
    max_alert_backlog: int = field(
        default=100,
        metadata=option(
            help="Alerts waiting for one webhook at most; more are dropped (counted, logged).",
            group="alerts",
            at_least=1,
        ),
    )
    max_alerts_kept: int = field(
        default=100,
        metadata=option(
            help="Alerts listed per stream at <stream>/api/alerts (the newest).",
            group="alerts",
            at_least=1,
        ),
    )
