"""Forms of the namespace pages.

As on the account pages (``accounts/views/forms.py``), they only render fields and parse types
(numbers, the certificate-filter lines, an uploaded file); every rule about what a value may be
lives in ``namespaces.validation``, so a refused value is shown with the service's own message.
"""

from __future__ import annotations

from typing import Any

from django import forms

from namespaces.validation import FILTER_FIELDS, SEARCH_ATTRIBUTE_LIMITS

FILTER_HELP = (
    "One filter per line, fields separated by ';', e.g. common_name=*.example.com; organization=Acme."
    f" Fields: {', '.join(FILTER_FIELDS)}."
)


def _number(label: str) -> forms.IntegerField:
    # Any whole number passes the form: the service says what range is allowed.
    return forms.IntegerField(label=label, required=False)


class NamespaceSettingsForm(forms.Form):
    """The settings a Namespace Admin changes (the create form adds the name)."""

    retention_days = _number("Retention (days, 1–90)")
    api_key_auth = forms.BooleanField(label="Allow API-key connections", required=False)
    ca_bundle_pem = forms.CharField(
        label="Accepted client CA certificates (PEM, for mTLS)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="Paste CA certificates, or upload a file below; leave both empty for no mTLS.",
    )
    ca_bundle_file = forms.FileField(label="…or upload a CA bundle file", required=False)
    cert_filters = forms.CharField(
        label="Certificate filters",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=FILTER_HELP,
    )
    codec_endpoint = forms.CharField(label="Codec server endpoint", required=False)
    codec_pass_access_token = forms.BooleanField(label="Pass the user's access token", required=False)
    codec_include_cross_origin_credentials = forms.BooleanField(
        label="Include cross-origin credentials", required=False
    )
    deletion_protection = forms.BooleanField(label="Deletion protection", required=False)

    def clean_ca_bundle_file(self) -> str:
        upload = self.cleaned_data.get("ca_bundle_file")
        if not upload:
            return ""
        data = upload.read(64 * 1024 + 1)  # more than the 32 KB limit: the service names the size
        try:
            return str(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise forms.ValidationError("the uploaded CA bundle is not PEM text") from None

    def clean_cert_filters(self) -> list[dict[str, str]]:
        filters: list[dict[str, str]] = []
        for number, line in enumerate(str(self.cleaned_data.get("cert_filters", "")).splitlines(), start=1):
            if not line.strip():
                continue
            item: dict[str, str] = {}
            for part in line.split(";"):
                if not part.strip():
                    continue
                key, sep, value = part.partition("=")
                if not sep:
                    raise forms.ValidationError(f"filter line {number}: write field=value, not {part.strip()!r}")
                item[key.strip()] = value.strip()
            filters.append(item)
        return filters

    def ca_bundle(self) -> str:
        """The uploaded file if there is one, else the pasted text."""
        return self.cleaned_data.get("ca_bundle_file") or self.cleaned_data.get("ca_bundle_pem", "")


class CreateNamespaceForm(NamespaceSettingsForm):
    name = forms.CharField(
        label="Name",
        required=False,
        help_text="2–39 characters: lowercase letters, digits and '-', starting with a letter. It cannot change.",
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.order_fields(["name"])
        self.fields["retention_days"].initial = 30
        self.fields["api_key_auth"].initial = True


class SearchAttributeForm(forms.Form):
    name = forms.CharField(label="Search attribute name", required=False)
    type = forms.CharField(label="Type", required=False, widget=forms.Select())

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["type"].widget.choices = [(label, label) for label in SEARCH_ATTRIBUTE_LIMITS]


class DeleteNamespaceForm(forms.Form):
    confirm = forms.CharField(label="Type the namespace name to confirm", required=False)


class AccessForm(forms.Form):
    """Grant or change one principal's permission ("none" revokes it)."""

    principal = forms.CharField(label="User or service account", required=False, widget=forms.Select())
    permission = forms.CharField(label="Permission", required=False, widget=forms.Select())

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["permission"].widget.choices = [("read", "Read"), ("write", "Write"), ("admin", "Admin")]

    def offer(self, principals: list[tuple[str, str]]) -> None:
        """The users and service accounts the grant select lists (those without access yet)."""
        self.fields["principal"].widget.choices = principals
