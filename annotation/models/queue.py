"""The annotation queue's data: who is working on which open criterion right now.

A ``Claim`` is a lease: the annotator who opens an open criterion (or is sent to it by
"Annotate next", Enter or Skip) holds it until ``expires_at``, which every action of theirs
on it moves on by ``ELIGO_CLAIM_MINUTES``. While it holds, "Annotate next" sends nobody else
there. One claim per criterion, enforced by the database (the one-to-one), which is what
makes two concurrent "next" requests end on different criteria.
"""
from django.conf import settings
from django.db import models

from .corpus import Project, Sentence

__all__ = ["Claim"]


class Claim(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="claims")
    sentence = models.OneToOneField(Sentence, on_delete=models.CASCADE, related_name="claim")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["claimed_at", "id"]
        indexes = [models.Index(fields=["project", "user"], name="claim_project_user_idx"),
                   models.Index(fields=["project", "expires_at"], name="claim_project_expiry_idx")]

    def __str__(self):
        return f"{self.user} holds sentence {self.sentence_id} until {self.expires_at:%H:%M}"
