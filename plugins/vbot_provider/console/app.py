"""The console's FastAPI app: HTML pages and their JSON twins, mounted on Airflow's API server.

Every route, static files included, resolves the user through Airflow's auth manager first
(``GetUserDep``: 401 without a token) and checks rights on the campaign DAGs (``access.py``: 403).
The one write, resolving a campaign run, takes JSON only: a form on another site cannot post
JSON without a CORS preflight this app never answers, so the UI's cookie cannot be borrowed.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

import jinja2
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from vbot_provider.console import chart, erasure, paths, present, store, views
from vbot_provider.console.access import RECONCILE_DAG_ID, Access
from vbotflow.campaigns import outbox
from vbotflow.campaigns.config import dag_id_for
from vbotflow.campaigns.rejects import rejects_csv

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
# No inline script or style, nothing from elsewhere; framed only by Airflow's own UI (same origin).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


async def current_access(user: GetUserDep) -> Access:
    return Access(user)


AccessDep = Annotated[Access, Depends(current_access)]


def ui_base(request: Request) -> str:
    """Airflow's UI root as seen by this request: the mount's root path without the console's part."""
    return str(request.scope.get("root_path", "")).removesuffix(paths.MOUNT)


def console_base(request: Request) -> str:
    return ui_base(request) + paths.MOUNT


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(vn_time=present.vietnam_time, count=present.format_count, rate=present.format_rate,
                       vnd=present.format_vnd, duration=present.format_duration)
    env.globals.update(trend_svg=chart.trend_svg, mix_svg=chart.mix_svg, outcome_colours=chart.OUTCOME_COLOURS)
    return env


def render(request: Request, access: Access, template: str, page: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    html = _templates().get_template(template).render(
        page=page, user=access.name if access else None, console=console_base(request), ui=ui_base(request),
        **context)
    return HTMLResponse(html, status_code=status_code)


class ResolveBody(BaseModel):
    """A person's verdict on an in-flight campaign run, as the CLI takes it."""

    run_key: str = Field(min_length=1, max_length=200)
    verdict: Literal["created", "not_created"]
    vbot_campaign_id: int | None = None

    @model_validator(mode="after")
    def _id_goes_with_created(self) -> ResolveBody:
        if self.verdict == "created" and self.vbot_campaign_id is None:
            raise ValueError("a run resolved as created needs the VBot campaign id found in VBot's portal")
        if self.verdict == "not_created" and self.vbot_campaign_id is not None:
            raise ValueError("a run resolved as not created has no VBot campaign id")
        return self


class EraseBody(BaseModel):
    """Whose data to erase: a phone number (any spelling) or a CRM contact id, as the CLI takes it."""

    phone: str | None = Field(None, max_length=64)
    crm_contact_id: str | None = Field(None, max_length=100)
    config: str | None = Field(None, max_length=100)
    dry_run: bool = True


def _json_only(request: Request) -> None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="send the request as application/json")


def create_app() -> FastAPI:
    app = FastAPI(title="VBot campaign console", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Pages answer people with a page (and a way to log in); the API answers JSON.
        api = request.url.path.startswith(f"{console_base(request)}/api/")
        if api or "text/html" not in request.headers.get("accept", ""):
            return await http_exception_handler(request, exc)
        html = _templates().get_template("error.html.j2").render(
            status_code=exc.status_code, detail=exc.detail, console=console_base(request), ui=ui_base(request),
            login=f"{ui_base(request)}/auth/login?next={quote(request.url.path)}", page="error", user=None)
        return HTMLResponse(html, status_code=exc.status_code)

    @app.get("/", include_in_schema=False)
    def index(request: Request, access: AccessDep) -> RedirectResponse:
        return RedirectResponse(f"{console_base(request)}/campaigns", status_code=status.HTTP_303_SEE_OTHER)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, access: AccessDep) -> FileResponse:
        if name not in STATIC:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such file")
        return FileResponse(HERE / "static" / name, media_type=STATIC[name])

    # --- campaigns ---------------------------------------------------------------------------

    @app.get("/campaigns", response_class=HTMLResponse)
    def campaigns_page(request: Request, access: AccessDep, date: str | None = None, config: str | None = None,
                       state: str | None = None) -> HTMLResponse:
        view = views.campaigns(store.engine(), access, ui_base(request), date, config, state)
        return render(request, access, "campaigns.html.j2", "campaigns", view=view,
                      states=outbox.IN_FLIGHT_STATES, all_states=views.CAMPAIGN_RUN_STATES)

    @app.get("/api/campaigns")
    def campaigns_api(request: Request, access: AccessDep, date: str | None = None, config: str | None = None,
                      state: str | None = None) -> dict[str, Any]:
        view = views.campaigns(store.engine(), access, ui_base(request), date, config, state)
        return present.json_ready({"date": view.day, "config": view.config, "state": view.state,
                                   "campaign_runs": view.runs, "total_entries": len(view.runs)})

    # --- rejects -----------------------------------------------------------------------------

    @app.get("/rejects", response_class=HTMLResponse)
    def rejects_page(request: Request, access: AccessDep, date: str | None = None, config: str | None = None,
                     reason: str | None = None) -> HTMLResponse:
        view = views.rejects(store.engine(), access, date, config, reason)
        return render(request, access, "rejects.html.j2", "rejects", view=view, shown=views.REJECTS_SHOWN)

    @app.get("/api/rejects")
    def rejects_api(access: AccessDep, date: str | None = None, config: str | None = None,
                    reason: str | None = None) -> dict[str, Any]:
        view = views.rejects(store.engine(), access, date, config, reason, limit=None)
        return present.json_ready({"date": view.day, "config": view.config, "reason": view.reason,
                                   "counts": view.counts, "rejected": view.rows, "total_entries": len(view.rows)})

    @app.get("/api/rejects.csv")
    def rejects_download(access: AccessDep, date: str | None = None, config: str | None = None,
                         reason: str | None = None) -> Response:
        view = views.rejects(store.engine(), access, date, config, reason, limit=None)
        name = "_".join(p for p in ("rejects", str(view.day or "none"), config or "all", view.reason or "") if p)
        return Response(rejects_csv(view.rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{_safe_filename(name)}.csv"'})

    # --- ambiguous runs ------------------------------------------------------------------------

    @app.get("/ambiguous", response_class=HTMLResponse)
    def ambiguous_page(request: Request, access: AccessDep) -> HTMLResponse:
        view = views.ambiguous(store.engine(), access, ui_base(request))
        return render(request, access, "ambiguous.html.j2", "ambiguous", view=view)

    @app.get("/api/ambiguous")
    def ambiguous_api(request: Request, access: AccessDep) -> dict[str, Any]:
        view = views.ambiguous(store.engine(), access, ui_base(request))
        return present.json_ready({"campaign_runs": view.runs, "total_entries": len(view.runs),
                                   "recently_resolved": view.resolved})

    @app.get("/api/audit")
    def audit_api(access: AccessDep, run_key: str) -> dict[str, Any]:
        engine = store.engine()
        config = outbox.config_of_run_key(run_key)
        access.require("GET", dag_id_for(config), f"read the runs of DAG {dag_id_for(config)}")
        resolves = outbox.resolve_history(engine, [run_key])
        return present.json_ready({"run_key": run_key, "resolves": resolves, "total_entries": len(resolves)})

    @app.post("/api/resolve", dependencies=[Depends(_json_only)])
    def resolve_api(request: Request, access: AccessDep, body: ResolveBody) -> JSONResponse:
        engine = store.engine()
        row = outbox.get_run(engine, body.run_key)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no campaign run {body.run_key!r}")
        dag_id = dag_id_for(row["config_name"])
        access.require("PUT", dag_id, f"resolve runs of DAG {dag_id} (it needs edit rights on its runs)")
        try:
            outbox.resolve(engine, body.run_key, created_id=body.vbot_campaign_id, resolved_by=access.name,
                           via="console")
        except outbox.UnknownRunError as err:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(err)) from err
        except outbox.BadCampaignIdError as err:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(err)) from err
        except outbox.ResolveError as err:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(err)) from err
        log.info("Campaign run %s resolved as %s by %s in the console", body.run_key,
                 body.verdict.replace("_", " "), access.name)
        [latest, *_] = outbox.resolve_history(engine, [body.run_key], limit=1)
        [run] = views.run_views(engine, [outbox.get_run(engine, body.run_key) or row], ui_base(request), access)
        return JSONResponse(present.json_ready({"campaign_run": run, "resolve": latest}))

    # --- personal data ---------------------------------------------------------------------------

    @app.get("/privacy", response_class=HTMLResponse)
    def privacy_page(request: Request, access: AccessDep) -> HTMLResponse:
        return render(request, access, "privacy.html.j2", "privacy", may_erase=access.may_erase())

    @app.post("/api/erase", dependencies=[Depends(_json_only)])
    def erase_api(access: AccessDep, body: EraseBody) -> dict[str, Any]:
        # The number or id travels in the body, never in a URL: request lines reach access logs.
        if not access.may_erase():
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"{access.name} may not erase personal data (it needs edit rights on "
                                       "Airflow's configuration: role op or admin)")
        result = erasure.run(store.engine(), body.phone, body.crm_contact_id, body.config,
                             dry_run=body.dry_run, performed_by=f"{access.name} (console)")
        log.info("Erasure %s by %s in the console: %s", "dry run" if body.dry_run else "done", access.name,
                 result["summary"])
        return result

    # --- outcomes ------------------------------------------------------------------------------

    @app.get("/outcomes", response_class=HTMLResponse)
    def outcomes_page(request: Request, access: AccessDep, config: str | None = None,
                      date_from: Annotated[str | None, Query(alias="from")] = None,
                      date_to: Annotated[str | None, Query(alias="to")] = None) -> HTMLResponse:
        view = views.outcomes(store.engine(), access, ui_base(request), date_from, date_to, config)
        return render(request, access, "outcomes.html.j2", "outcomes", view=view)

    @app.get("/api/outcomes")
    def outcomes_api(request: Request, access: AccessDep, config: str | None = None,
                     date_from: Annotated[str | None, Query(alias="from")] = None,
                     date_to: Annotated[str | None, Query(alias="to")] = None) -> dict[str, Any]:
        view = views.outcomes(store.engine(), access, ui_base(request), date_from, date_to, config)
        return present.json_ready({"from": view.date_from, "to": view.date_to, "config": view.config,
                                   "totals": view.totals, "mix": view.mix, "trend": view.trend,
                                   "report": view.report})

    @app.get("/reports/{span}/{name}")
    def report_file(span: str, name: str, access: AccessDep) -> FileResponse:
        access.require("GET", RECONCILE_DAG_ID, f"read the reports of DAG {RECONCILE_DAG_ID}")
        return FileResponse(views.report_file(span, name), media_type=views.REPORT_FILES[name])

    return app


def _safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]
