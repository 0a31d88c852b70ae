from django import forms

from .models import SignInProvider


class SignInProviderForm(forms.ModelForm):
    """The secret is write-only: never shown; left empty on an edit, the stored one stays."""

    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown. Leave empty to keep the stored secret.",
    )

    class Meta:
        model = SignInProvider
        fields = ["backend", "enabled", "client_id", "client_secret", "server_url", "tenant_id", "allow_new_users"]

    def clean_client_secret(self):
        secret = self.cleaned_data.get("client_secret")
        if secret:
            return secret
        if self.instance.pk and self.instance.client_secret:
            return self.instance.client_secret
        raise forms.ValidationError("The OAuth app's client secret is required.")
