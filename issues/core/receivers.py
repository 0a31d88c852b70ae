"""Receivers of issues.core: a deleted attachment's file leaves the disk with its row."""

from django.db import transaction
from django.db.models.signals import post_delete


def remove_the_file_once_committed(sender, instance, **kwargs):
    """Whatever deleted the row (the attachment itself, its issue, test case, requirement, result, run or
    project, by cascade), its file goes once the delete is committed; a rolled-back delete keeps both."""
    stored = instance.file
    if stored:
        transaction.on_commit(lambda: stored.storage.delete(stored.name))


def connect():
    from issues.core.models import ArtefactAttachment, Attachment

    for model in (Attachment, ArtefactAttachment):
        post_delete.connect(remove_the_file_once_committed, sender=model, dispatch_uid=f"files-of-{model.__name__}")
