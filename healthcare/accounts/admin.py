from django.contrib import admin

from healthcare.accounts.models import OidcIdentity


@admin.register(OidcIdentity)
class OidcIdentityAdmin(admin.ModelAdmin):
    """Which user each provider account signs in as. Created at a first sign-in; deleting one makes
    the next sign-in of that provider account create a new user."""

    list_display = ["user", "subject", "issuer", "created_at"]
    search_fields = ["user__username", "subject"]
    list_filter = ["issuer"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]
