"""The tenant: one organisation, whose data no other tenant ever sees."""

import secrets

from django.db import models


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    webhook_secret = models.CharField(max_length=128, default=new_webhook_secret, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
