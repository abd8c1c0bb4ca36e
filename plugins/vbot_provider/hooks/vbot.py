"""VBotHook: VBot's REST API over an Airflow connection of type ``vbot``.

The connection holds the base URL (host), ``vbot_id`` and ``group_code`` (extras), and either a
static access token (password, no login) or a username and password for ``POST /token``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import requests
import tenacity
from airflow.providers.http.hooks.http import HttpHook
from requests import Session
from urllib3.exceptions import ConnectTimeoutError

from vbot_provider.conn_fields import extras_problems
from vbot_provider.exceptions import (
    VBotAmbiguousError,
    VBotError,
    VBotPermanentError,
    VBotTransientError,
)
from vbotflow.privacy.masking import mask_phones_in_text
from vbotflow.vbot.api import (
    CREATE_CAMPAIGN_PATH,
    ERROR_GENERIC,
    ERROR_INVALID_PARAMETERS,
    HISTORY_PATH,
    TOKEN_PATH,
    build_create_body,
    canonical_json,
    parse_create_response,
)

DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 2.0
DEFAULT_BACKOFF_MAX_SECONDS = 60.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_TOKEN_MARGIN_SECONDS = 60.0
RETRYABLE_HTTP_STATUSES = frozenset({408, 429})


def backoff_delay(retry_number: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: a delay in [d/2, d], d = min(cap, base * 2**retry_number)."""
    ceiling = min(cap, base * (2**retry_number))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


@dataclass
class _Token:
    access_token: str
    refresh_token: str | None
    expires_at: float  # time.monotonic()

    def __repr__(self) -> str:  # never print a secret, even in a debugger or a traceback
        return f"_Token(expires_at={self.expires_at:.0f})"


@dataclass
class SendProgress:
    """Whether the body of one create may have reached VBot: set as the POST starts, cleared again
    when VBot's answer (or how the request failed) shows that nothing was created.

    The outbox reads it when something other than an answer ends the call (Ctrl-C, a shutdown,
    Airflow's execution timeout): only then does it matter whether the body was already on its way.
    """

    body_may_have_left: bool = False


@dataclass(frozen=True)
class _Settings:
    vbot_id: str
    group_code: str
    login: str | None
    password: str | None
    max_retries: int
    backoff_seconds: float
    backoff_max_seconds: float
    connect_timeout_seconds: float
    timeout_seconds: float
    token_margin_seconds: float

    def __repr__(self) -> str:
        return f"_Settings(vbot_id={self.vbot_id!r}, group_code={self.group_code!r}, login={self.login!r})"


class VBotHook(HttpHook):
    """Talks to VBot: token grant and campaign creation, with bounded retries of transient errors."""

    conn_name_attr = "vbot_conn_id"
    default_conn_name = "vbot_default"
    conn_type = "vbot"
    hook_name = "VBot"

    # Tokens outlive one hook instance: several tasks in one worker share them until they expire.
    _token_cache: ClassVar[dict[tuple[str, str, str], _Token]] = {}
    _token_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        vbot_conn_id: str = default_conn_name,
        *,
        max_retries: int | None = None,
        backoff_seconds: float | None = None,
        backoff_max_seconds: float | None = None,
        timeout_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(method="POST", http_conn_id=vbot_conn_id)
        self.vbot_conn_id = vbot_conn_id
        self._overrides = {
            "max_retries": max_retries,
            "backoff_seconds": backoff_seconds,
            "backoff_max_seconds": backoff_max_seconds,
            "timeout_seconds": timeout_seconds,
        }
        self._sleep = sleep
        self._session: Session | None = None

    # -- connection -------------------------------------------------------------------------------

    @cached_property
    def settings(self) -> _Settings:
        conn = self.get_connection(self.vbot_conn_id)
        extra = conn.extra_dejson

        def option(name: str, default: float) -> float:
            value = self._overrides.get(name)
            if value is None:
                value = extra.get(name)
            return default if value in (None, "") else float(value)

        return _Settings(
            vbot_id=str(extra.get("vbot_id") or ""),
            group_code=str(extra.get("group_code") or ""),
            login=conn.login or None,
            password=conn.password or None,
            max_retries=int(option("max_retries", DEFAULT_MAX_RETRIES)),
            backoff_seconds=option("backoff_seconds", DEFAULT_BACKOFF_SECONDS),
            backoff_max_seconds=option("backoff_max_seconds", DEFAULT_BACKOFF_MAX_SECONDS),
            connect_timeout_seconds=option("connect_timeout_seconds", DEFAULT_CONNECT_TIMEOUT_SECONDS),
            timeout_seconds=option("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
            token_margin_seconds=option("renew_margin_seconds", DEFAULT_TOKEN_MARGIN_SECONDS),
        )

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
                 ) -> Session:
        """HttpHook's session (base URL, keep-alive adapter, proxies/verify extras) minus what VBot must
        never see: basic auth from login/password and the connection's extras sent as headers.
        VBot takes a bearer token, added per request."""
        if self._session is None:
            session = super().get_conn()
            session.auth = None
            session.headers = requests.utils.default_headers()
            session.headers["Accept"] = "application/json"
            self._session = session
        if headers:
            self._session.headers.update(headers)
        return self._session

    # -- campaigns --------------------------------------------------------------------------------

    def build_create_body(self, template_id: int, name: str, contacts: Sequence[Mapping[str, object]], *,
                          group_code: str | None = None) -> dict[str, Any]:
        """The exact wire body for ``create_campaign``: vbotId (and groupCode unless given) from the connection."""
        settings = self.settings
        group_code = group_code or settings.group_code
        if not settings.vbot_id or not group_code:
            raise VBotPermanentError(
                f"connection {self.vbot_conn_id!r} needs extras 'vbot_id' and 'group_code'"
            )
        return build_create_body(vbot_id=settings.vbot_id, group_code=group_code,
                                 template_id=template_id, name=name, contacts=contacts)

    def create_campaign(self, template_id: int, name: str, contacts: Sequence[Mapping[str, object]]) -> int:
        """Create and start a campaign from a template; returns VBot's campaign id.

        Each contact maps VBot keys to values (``phone``, ``name``, ``numberCall``, custom fields).
        Transient errors are retried here; permanent and ambiguous ones are raised at once.
        """
        return self.send_create_body(self.build_create_body(template_id, name, contacts))

    def send_create_body(self, body: Mapping[str, Any], progress: SendProgress | None = None) -> int:
        """POST a body made by ``build_create_body``; returns the campaign id.

        ``progress`` tells the caller, if the call ends without an answer, whether the body may have
        reached VBot (see ``SendProgress``).
        """
        progress = progress if progress is not None else SendProgress()
        self.log.info("Creating VBot campaign %r from template %s with %d contacts",
                      body.get("name"), body.get("campaignId"), len(body.get("phones", [])))
        campaign_id = self._with_retries(lambda: self._post_create(body, progress))
        self.log.info("VBot created campaign %s (%r)", campaign_id, body.get("name"))
        return campaign_id

    def _post_create(self, body: Mapping[str, Any], progress: SendProgress) -> int:
        # A new try starts clean: the one before it ended in an error that says nothing was created.
        progress.body_may_have_left = False
        try:
            return self._post_create_once(body, progress)
        except (VBotTransientError, VBotPermanentError):
            progress.body_may_have_left = False  # VBot said no, or the body never left
            raise

    def _post_create_once(self, body: Mapping[str, Any], progress: SendProgress) -> int:
        response = self._send("POST", CREATE_CAMPAIGN_PATH, data=canonical_json(body),
                              headers={"Content-Type": "application/json"}, authorized=True,
                              body_is_replay_safe=False, progress=progress)
        payload = _json_or_none(response)
        result = parse_create_response(payload)
        detail = _describe(response, result.message if payload is not None else response.text)
        if result.error_code == ERROR_INVALID_PARAMETERS:
            raise VBotPermanentError(f"VBot rejected the campaign (error 201, invalid parameters): {detail}",
                                     error_code=result.error_code, http_status=response.status_code)
        if response.status_code >= 400:
            raise _http_error(response, detail, result.error_code)
        if result.ok:
            return int(result.campaign_id)  # type: ignore[arg-type]
        if result.claims_success_without_id or payload is None:
            raise VBotAmbiguousError(
                f"VBot answered HTTP {response.status_code} without a usable campaign id; the campaign "
                f"may exist: {detail}", error_code=result.error_code, http_status=response.status_code)
        if result.error_code == ERROR_GENERIC:
            raise VBotTransientError(f"VBot failed to create the campaign (error 400): {detail}",
                                     error_code=result.error_code, http_status=response.status_code)
        raise VBotPermanentError(f"VBot refused the campaign: {detail}", error_code=result.error_code,
                                 http_status=response.status_code)

    def get_call_history(self, *, phone: str = "", page: int = 1, size: int = 100) -> dict[str, Any]:
        """One page of ``GET /api/crm/historycall/getAll`` (call history records, vbot-api.md 2a and 3).

        A read: every failure is retried as transient, a timeout included.
        """
        return self._with_retries(lambda: self._history_page(phone=phone, page=page, size=size))

    def _history_page(self, *, phone: str, page: int, size: int) -> dict[str, Any]:
        """One try at one page of call history."""
        settings = self.settings
        params = {"vbot_id": settings.vbot_id, "project_code": settings.group_code, "phone": phone,
                  "page": page, "size": size}
        response = self._send("GET", HISTORY_PATH, params=params, authorized=True, body_is_replay_safe=True)
        payload = _json_or_none(response)
        if response.status_code >= 400:
            raise _http_error(response, _describe(response, response.text), None)
        if isinstance(payload, dict) and str(payload.get("status", "1")) != "1":
            detail = _describe(response, str(payload.get("msg")))
            raise VBotPermanentError(f"VBot refused the history query: {detail}",
                                     error_code=payload.get("error"), http_status=response.status_code)
        if not isinstance(payload, dict) or not isinstance(payload.get("data", []), list):
            raise VBotTransientError(f"VBot history answer is not a page of records (HTTP {response.status_code})")
        return payload

    # -- the Test button ----------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """What Airflow's Test button runs: the extras, the token, and one authorized read.

        Asks for a token (a password grant when a username is set) and reads one call-history
        record of the account: nothing is created, nothing is sent to anyone. The answer names
        what is wrong in plain words and never carries the token or the password.
        """
        conn = self.get_connection(self.vbot_conn_id)
        secrets = [s for s in (conn.password,) if s]
        base = _public_url(conn.host or "")
        problems = ([] if conn.host else ["the Base URL (host) is empty"]) + extras_problems(conn.extra_dejson)
        if not (conn.password or conn.login):
            problems.append("there is neither an access token (password) nor a username and password")
        if problems:
            return False, "The VBot connection is incomplete: " + "; ".join(problems) + "."
        credential = f"the username {conn.login!r} and its password" if conn.login else "the access token"
        accepted = "were accepted" if conn.login else "was accepted"
        step = "token"
        try:
            self.get_conn()  # sets the base URL the token cache is keyed by
            self.forget_token()  # test what is in the form now, not a token cached from before
            self.access_token()
            step = "history"
            self._history_page(phone="", page=1, size=1)
        except VBotError as err:
            return False, _redact(_explain_test_failure(err, step, base, credential), secrets)
        except requests.exceptions.RequestException as err:  # a host requests cannot even turn into a URL
            return False, _redact(f"The Base URL {base!r} is not a usable URL ({type(err).__name__}).", secrets)
        finally:
            self.forget_token()
        settings = self.settings
        return True, (f"Connected to VBot at {base}: {credential} {accepted}, and the call history of VBot ID "
                      f"{settings.vbot_id} (group {settings.group_code}) can be read. Nothing was sent.")

    # -- auth -------------------------------------------------------------------------------------

    def _token_key(self) -> tuple[str, str, str]:
        return (self.vbot_conn_id, self.url_from_endpoint(""), self.settings.login or "")

    def access_token(self) -> str:
        """A bearer token: the static one, or one from the token grant, cached until near expiry."""
        settings = self.settings
        if not settings.login:
            if not settings.password:
                raise VBotPermanentError(
                    f"connection {self.vbot_conn_id!r} has neither an access token (password) "
                    "nor a username and password for the token grant")
            return settings.password
        with self._token_lock:
            cached = self._token_cache.get(self._token_key())
            if cached and time.monotonic() < cached.expires_at - settings.token_margin_seconds:
                return cached.access_token
            token = None
            if cached and cached.refresh_token:
                try:
                    token = self._grant({"grant_type": "refresh_token", "refresh_token": cached.refresh_token})
                except VBotError as err:
                    self.log.warning("Refreshing the VBot token failed (%s); using the password grant", err)
            if token is None:
                token = self._grant({"grant_type": "password", "username": settings.login,
                                     "password": settings.password or ""})
            self._token_cache[self._token_key()] = token
            return token.access_token

    def forget_token(self) -> None:
        """Drop the cached token, e.g. after VBot answered 401 to it."""
        with self._token_lock:
            self._token_cache.pop(self._token_key(), None)

    def _grant(self, form: dict[str, str]) -> _Token:
        response = self._send("POST", TOKEN_PATH, data=form, authorized=False, body_is_replay_safe=True)
        payload = _json_or_none(response)
        if response.status_code >= 400 or not isinstance(payload, dict) or not payload.get("access_token"):
            # The body of a refused grant can echo the form: never put it in the message.
            detail = f"HTTP {response.status_code}"
            if isinstance(payload, dict) and payload.get("error"):
                detail += f", error {str(payload['error'])[:80]!r}"
            if response.status_code >= 500 or response.status_code in RETRYABLE_HTTP_STATUSES:
                raise VBotTransientError(f"VBot token endpoint failed ({detail})", http_status=response.status_code)
            raise VBotPermanentError(f"VBot refused the {form['grant_type']} grant ({detail})",
                                     http_status=response.status_code)
        expires_in = float(payload.get("expires_in") or 3600)
        self.log.info("Obtained a VBot access token by %s grant (expires in %.0f s)", form["grant_type"], expires_in)
        return _Token(str(payload["access_token"]), payload.get("refresh_token"), time.monotonic() + expires_in)

    # -- transport --------------------------------------------------------------------------------

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        """Retry transient errors only; permanent and ambiguous ones go straight to the caller."""
        settings = self.settings

        def announce(state: tenacity.RetryCallState) -> None:
            self.log.warning("VBot transient error (%s); retry %d of %d in %.2f s", state.outcome.exception(),
                             state.attempt_number, settings.max_retries, state.upcoming_sleep)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(VBotTransientError),
            stop=tenacity.stop_after_attempt(settings.max_retries + 1),
            wait=lambda state: backoff_delay(state.attempt_number - 1, settings.backoff_seconds,
                                             settings.backoff_max_seconds),
            sleep=self._sleep,
            before_sleep=announce,
            reraise=True,
        )
        return retrying(call)

    def _send(self, method: str, path: str, *, data: bytes | dict[str, str] | None = None,
              params: dict[str, object] | None = None, headers: dict[str, str] | None = None,
              authorized: bool, body_is_replay_safe: bool, progress: SendProgress | None = None,
              _reauthorised: bool = False) -> requests.Response:
        request_headers = dict(headers or {})
        if authorized:
            request_headers["Authorization"] = f"Bearer {self.access_token()}"
        try:
            session = self.get_conn()
            request = requests.Request(method, self.url_from_endpoint(path), data=data, params=params,
                                       headers=request_headers)
            prepared = session.prepare_request(request)
        except (requests.exceptions.RequestException, ValueError) as err:
            # The URL cannot be built from the connection: nothing was or could be sent.
            raise VBotPermanentError(f"invalid VBot URL for {path} ({type(err).__name__}); check the "
                                     "connection's host") from err
        timeout = (self.settings.connect_timeout_seconds, self.settings.timeout_seconds)
        if progress is not None:
            progress.body_may_have_left = True
        try:
            response = session.send(prepared, timeout=timeout, allow_redirects=False)
        except requests.exceptions.RequestException as err:
            raise _transport_error(err, path, body_is_replay_safe) from err
        if response.status_code == 401 and authorized and self.settings.login and not _reauthorised:
            # A cached token VBot no longer accepts (revoked, clock skew): a 401 means nothing was
            # created, so one fresh grant and one more try are safe.
            self.log.warning("VBot answered 401 to a cached token; requesting a new one")
            if progress is not None:
                progress.body_may_have_left = False
            self.forget_token()
            return self._send(method, path, data=data, params=params, headers=headers, authorized=True,
                              body_is_replay_safe=body_is_replay_safe, progress=progress, _reauthorised=True)
        return response


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _describe(response: requests.Response, message: str) -> str:
    text = mask_phones_in_text(" ".join(str(message).split()))[:300]
    return f"HTTP {response.status_code}, {text!r}"


def _http_error(response: requests.Response, detail: str, error_code: int | None) -> VBotError:
    status = response.status_code
    if status >= 500 or status in RETRYABLE_HTTP_STATUSES:
        return VBotTransientError(f"VBot failed: {detail}", error_code=error_code, http_status=status)
    hint = "; check the access token of the vbot connection" if status in (401, 403) else ""
    return VBotPermanentError(f"VBot refused the request: {detail}{hint}", error_code=error_code,
                              http_status=status)


def _transport_error(err: requests.exceptions.RequestException, path: str, replay_safe: bool) -> VBotError:
    """Sort a transport failure by whether VBot could have received the body."""
    never_sent = isinstance(err, requests.exceptions.ConnectTimeout) or (
        isinstance(err, requests.exceptions.ConnectionError)
        and err.args
        and isinstance(getattr(err.args[0], "reason", None), ConnectTimeoutError)  # incl. refused
    )
    name = type(err).__name__
    if isinstance(err, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema
                  | requests.exceptions.InvalidSchema):
        return VBotPermanentError(f"invalid VBot URL for {path} ({name}); check the connection's host")
    if never_sent or replay_safe:
        return VBotTransientError(f"could not reach VBot for {path} ({name})")
    return VBotAmbiguousError(
        f"no answer from VBot for {path} after the body was sent ({name}); the campaign may exist")


def _public_url(host: str) -> str:
    """The base URL without any user:password@ part (a URL may carry credentials)."""
    parts = urlsplit(host)
    if parts.username is None and parts.password is None:
        return host
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _redact(message: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        message = message.replace(secret, "***")
    return message


def _explain_test_failure(err: VBotError, step: str, base: str, credential: str) -> str:
    """A Test button answer: what failed (``step``: the token, or the call-history read), and what to check."""
    status = err.http_status
    if isinstance(err, VBotTransientError) and status is None:
        return (f"VBot at {base} is unreachable or did not answer in time ({err}). "
                "Check the Base URL and that this machine can reach it.")
    if status == 404:
        return (f"VBot at {base} answered HTTP 404 to {TOKEN_PATH if step == 'token' else HISTORY_PATH}: the "
                "Base URL does not look like VBot's API (e.g. https://api.vbot.vn).")
    refused = isinstance(err, VBotPermanentError)
    if refused and (step == "token" or status in (401, 403)):
        return f"VBot at {base} refused {credential} (HTTP {status}). Check the credentials of this connection."
    if refused and step == "history":
        return (f"VBot at {base} accepted {credential} but refused to read the call history: {err}. "
                "Check the VBot ID and the group code.")
    return f"VBot at {base} did not answer as expected: {err}."
