"""The verifying network backend under an httpx transport (see the package docstring)."""
from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def _flavour(name: Optional[str] = None):
    """The (httpx, httpcore) modules to build on: `name` if given, else the flavour openai uses, else httpx."""
    candidates = [name] if name else []
    if not name:
        try:
            import openai  # noqa: F401

            base = importlib.import_module("openai._base_client")
            candidates.append(base.httpx.__name__)
        except Exception:  # noqa: BLE001 - openai absent or laid out differently
            pass
        candidates += ["httpx", "httpx2"]
    for candidate in candidates:
        try:
            httpx = importlib.import_module(candidate)
            core = importlib.import_module(candidate.replace("httpx", "httpcore"))
            return httpx, core
        except ImportError:
            continue
    raise ImportError("sealgate_verify needs httpx (pip install httpx) or httpx2")


def spki_sha256(der_certificate: bytes) -> str:
    """Hex SHA-256 of a DER certificate's SubjectPublicKeyInfo: what the gateway's evidence binds."""
    key = x509.load_der_x509_certificate(der_certificate).public_key()
    return hashlib.sha256(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


@dataclass
class VerifiedGateway:
    """What `sealgate verify-gateway` reported for the pinned key."""

    url: str
    tls_pubkey_sha256: str
    report: dict = field(default_factory=dict)
    verified_at: float = 0.0


_ERRORS: dict = {}


def _errors(core):
    """The package's two errors for one httpcore flavour (created once, so `except` clauses match)."""
    if core.__name__ in _ERRORS:
        return _ERRORS[core.__name__]

    class GatewayNotVerified(core.ConnectError):
        """The gateway's evidence did not verify, or did not bind this connection's TLS key. Nothing was sent."""

    class TLSKeyChanged(core.ConnectError):
        """A new connection presented another TLS key than the one verified and pinned. Nothing was sent."""

    _ERRORS[core.__name__] = (GatewayNotVerified, TLSKeyChanged)
    return _ERRORS[core.__name__]


class Verifier:
    """Runs `sealgate verify-gateway` and holds the pin. Thread-safe; one per client."""

    def __init__(self, url: str, reference_values: str, ca: Optional[str] = None, sealgate: str = "sealgate",
                 max_age: float = 3600.0, timeout: float = 30.0, errors=None):
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("the gateway URL must be https://HOST:PORT: the evidence binds the TLS key")
        self.url = f"https://{parts.hostname}:{parts.port or 443}"
        self.reference_values, self.ca, self.max_age, self.timeout = reference_values, ca, max_age, timeout
        self.sealgate = shutil.which(sealgate) or sealgate
        self.pinned: Optional[VerifiedGateway] = None
        self._lock = threading.Lock()
        self._not_verified, self._changed = errors or _errors(_flavour()[1])

    def _run(self) -> dict:
        command = [self.sealgate, "verify-gateway", self.url, "--reference-values", self.reference_values, "--json"]
        if self.ca:
            command += ["--ca", self.ca]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise self._not_verified(f"sealgate verify-gateway could not run: {error}") from None
        try:
            report = json.loads(done.stdout)
        except ValueError:
            raise self._not_verified(f"sealgate verify-gateway failed: {done.stderr.strip()[:300]}") from None
        if done.returncode != 0 or not report.get("verified"):
            raise self._not_verified("gateway not verified: " + "; ".join(report.get("failures") or ["unknown failure"]))
        return report

    def check(self, key_sha256: str) -> VerifiedGateway:
        """Accepts a connection presenting `key_sha256`, or raises (the connection is then closed unused)."""
        with self._lock:
            pinned = self.pinned
            if pinned and pinned.tls_pubkey_sha256 != key_sha256:
                raise self._changed(
                    f"the gateway's TLS key changed mid-session ({pinned.tls_pubkey_sha256[:16]}… pinned, {key_sha256[:16]}… presented)")
            if pinned and time.monotonic() - pinned.verified_at < self.max_age:
                return pinned
            report = self._run()
            attested = report.get("tls_pubkey_sha256", "")
            if attested != key_sha256:
                raise self._not_verified(
                    f"the verified evidence binds TLS key {attested[:16]}…, this connection presents {key_sha256[:16]}…")
            self.pinned = VerifiedGateway(self.url, key_sha256, report, time.monotonic())
            return self.pinned


def _backend_classes(core):
    base = importlib.import_module(core.__name__ + "._backends.base")
    sync = importlib.import_module(core.__name__ + "._backends.sync")

    class CheckedStream(base.NetworkStream):
        def __init__(self, stream, verifier: Verifier):
            self._stream, self._verifier = stream, verifier

        def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
            return self._stream.read(max_bytes, timeout)

        def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
            self._stream.write(buffer, timeout)

        def close(self) -> None:
            self._stream.close()

        def get_extra_info(self, info: str) -> Any:
            return self._stream.get_extra_info(info)

        def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: Optional[str] = None, timeout: Optional[float] = None):
            tls = self._stream.start_tls(ssl_context, server_hostname, timeout)
            try:
                der = tls.get_extra_info("ssl_object").getpeercert(True)
                if not der:
                    raise self._verifier._not_verified("the gateway presented no certificate")
                self._verifier.check(spki_sha256(der))
            except BaseException:
                tls.close()
                raise
            return tls

    class CheckingBackend(base.NetworkBackend):
        def __init__(self, verifier: Verifier):
            self._inner, self._verifier = sync.SyncBackend(), verifier

        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            return CheckedStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options), self._verifier)

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            raise self._verifier._not_verified("a Unix socket carries no TLS key to verify")

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return CheckingBackend


def transport(url: str, reference_values: str, *, ca: Optional[str] = None, sealgate: str = "sealgate", max_age: float = 3600.0,
              httpx_module: Optional[str] = None, **pool_options):
    """An httpx transport whose connections are checked as the package docstring says. The TLS chain is checked
    against `ca` when given (e.g. the broker's workload CA, `ca.pem`); without it the attestation binding alone
    vouches for the key, so host names are not checked either."""
    httpx, core = _flavour(httpx_module)
    verifier = Verifier(url, reference_values, ca=ca, sealgate=sealgate, max_age=max_age, errors=_errors(core))
    if ca:
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = False  # the workload certificate names what its enrolment allows; the key is what counts
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    result = httpx.HTTPTransport(verify=context)
    result._pool = core.ConnectionPool(ssl_context=context, network_backend=_backend_classes(core)(verifier), **pool_options)
    result.verifier = verifier
    result.GatewayNotVerified, result.TLSKeyChanged = verifier._not_verified, verifier._changed
    return result


def client(url: str, reference_values: str, *, ca: Optional[str] = None, sealgate: str = "sealgate", max_age: float = 3600.0,
           httpx_module: Optional[str] = None, **client_options):
    """An httpx `Client` (openai's `DefaultHttpxClient` when openai is installed) over a verifying `transport`."""
    httpx, _ = _flavour(httpx_module)
    checked = transport(url, reference_values, ca=ca, sealgate=sealgate, max_age=max_age, httpx_module=httpx.__name__)
    factory = httpx.Client
    try:
        import openai

        if openai.DefaultHttpxClient.__mro__[1] is httpx.Client:
            factory = openai.DefaultHttpxClient
    except Exception:  # noqa: BLE001 - openai is optional
        pass
    return factory(transport=checked, **client_options)


# Module-level names for `except sealgate_verify.GatewayNotVerified` with the default flavour.
try:
    GatewayNotVerified, TLSKeyChanged = _errors(_flavour()[1])
except ImportError:  # pragma: no cover - no httpx installed
    class GatewayNotVerified(Exception):
        pass

    class TLSKeyChanged(Exception):
        pass
