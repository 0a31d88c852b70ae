"""Writes on sources, project integrations, tokens and the audit log."""

from .models import AuditEvent


def record_audit(action, *, actor=None, source=None, project=None, target="", success=True, message="",
                 details=None) -> AuditEvent:
    """Append one audit row. Callers pass field names and outcomes, never secret values."""
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        source=source,
        source_name=source.name if source else "",
        project=project,
        project_key=project.key if project else "",
        target=target[:300],
        success=success,
        message=message[:500],
        details=details or {},
    )
