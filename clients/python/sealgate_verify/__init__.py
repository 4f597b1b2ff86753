"""Check what a Sealgate gateway is before sending it anything.

``client(base_url, reference_values=...)`` returns an httpx client (of the httpx flavour the installed ``openai``
package uses: ``httpx2`` for openai 3.x, ``httpx`` before) whose every new TLS connection is checked *after the
handshake and before any request byte is written*:

- the first connection runs ``sealgate verify-gateway URL --reference-values FILE --json`` (the same verifiers the
  broker uses: SEV-SNP, TDX, Nitro, Azure vTPM, mock), which fetches fresh evidence over its own connection and checks
  that REPORT_DATA binds its nonce and the TLS key of that connection; the transport then requires its own
  connection to present that same key (SHA-256 of the SubjectPublicKeyInfo), and pins it;
- every later connection must present the pinned key: a changed key mid-session is refused (``TLSKeyChanged``),
  even if it would verify — start a new client to accept a new gateway instance;
- after ``max_age`` seconds the next new connection is verified again (fresh evidence), still against the pin.

Usage with the official client::

    from openai import OpenAI
    import sealgate_verify
    http = sealgate_verify.client("https://gw.example:8443", reference_values="rv.json")
    ai = OpenAI(base_url="https://gw.example:8443/v1", api_key=KEY, http_client=http)
"""
from ._transport import (  # noqa: F401
    GatewayNotVerified,
    TLSKeyChanged,
    VerifiedGateway,
    Verifier,
    client,
    spki_sha256,
    transport,
)

__all__ = ["client", "transport", "Verifier", "VerifiedGateway", "GatewayNotVerified", "TLSKeyChanged", "spki_sha256"]
__version__ = "0.1.0"
