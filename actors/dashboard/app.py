"""`thetanode dashboard`: a Dash app over the lake, in its own process. It reads the lake, asks the node's health
endpoint, and sends halt / resume through the node's control directory: it never talks to the node's actors."""

from __future__ import annotations

import hmac
import threading

import flask
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from actors.analytics.rows import when
from actors.dashboard.data import LiveBook, NodeLink
from actors.dashboard.pages import PAGES

REFRESH_MS = 1_000
"""The lake is polled this often (a version check; tables are read again only after a commit): a commit shows
within two seconds."""
TOKEN_COOKIE = "thetanode_dashboard_token"
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1f2328}
header{background:#24292f;color:#fff;padding:.6em 1.5em;display:flex;gap:1.5em;align-items:center;flex-wrap:wrap}
header a{color:#c9d1d9;text-decoration:none} header a:hover{color:#fff}
main{padding:0 1.5em 2em} .muted{color:#656d76}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:3px 10px;border-bottom:1px solid #eaeef2}
th{text-align:left;background:#f6f8fa} td{text-align:right} td:first-child{text-align:left}
.good{color:#1a7f37;font-weight:600} .bad{color:#cf222e;font-weight:600} .grid{display:flex;flex-wrap:wrap;gap:2em}
button{margin-right:.8em;padding:.4em 1.2em;font-size:1em} #halt-button{background:#cf222e;color:#fff;border:0}
"""


def _index(title: str) -> str:
    return ("<!DOCTYPE html><html><head>{%metas%}<title>" + title + "</title>{%favicon%}{%css%}<style>" + STYLE
            + "</style></head><body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body></html>")


def _require_token(server: flask.Flask, token: str) -> None:
    """Every request carries the token: `?token=` once (kept in an HTTP-only cookie), the cookie, or a bearer header."""

    @server.before_request
    def check() -> flask.Response | None:
        offered = (flask.request.args.get("token") or flask.request.cookies.get(TOKEN_COOKIE)
                   or flask.request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
        if not offered or not hmac.compare_digest(offered.encode(), token.encode()):
            return flask.Response("thetanode dashboard: a valid token is required (?token=...)\n", status=401,
                                  mimetype="text/plain")
        if "token" in flask.request.args and flask.request.method == "GET":
            response = flask.redirect(flask.request.path)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return response
        return None


def build_app(book: LiveBook, node: NodeLink, lake_uri: str, token: str = "") -> Dash:
    app = Dash(__name__, title="thetanode", update_title=None, suppress_callback_exceptions=True)
    app.index_string = _index("thetanode")
    if token:
        _require_token(app.server, token)
    nav = [dcc.Link(title, href=path, id=f"nav-{path.strip('/') or 'positions'}") for path, (title, _) in PAGES.items()]
    control = html.Div(id="control", style={"display": "none"}, children=[
        html.H2("Kill switch"),
        html.P("Goes through the node's control directory, like `thetanode halt|resume`; the node applies it within "
               f"{node.control_poll_s:g}s (or at its next start).", className="muted"),
        dcc.Input(id="control-reason", value="dashboard", placeholder="reason", style={"marginRight": ".8em"}),
        html.Button("Halt trading", id="halt-button", n_clicks=0),
        html.Button("Resume trading", id="resume-button", n_clicks=0),
        html.P(id="control-result"),
    ])
    app.layout = html.Div([
        dcc.Location(id="url"),
        dcc.Interval(id="tick", interval=REFRESH_MS),
        dcc.Store(id="rendered"),
        html.Header([html.Strong("thetanode"), *nav, html.Span(id="node-status"), html.Span(id="as-of")]),
        html.Main([html.Div(id="page"), control]),
    ])

    rendering = threading.Lock()  # one page at a time: the snapshot's frames are shared, and pandas is not thread-safe

    @app.callback(Output("page", "children"), Output("rendered", "data"), Output("as-of", "children"),
                  Input("url", "pathname"), Input("tick", "n_intervals"), State("rendered", "data"))
    def render(pathname: str | None, _tick: int | None, rendered: dict | None):  # noqa: ANN202 - Dash outputs
        path = pathname if pathname in PAGES else "/"
        with rendering:
            snapshot = book.current()
            key = {"path": path, "version": list(snapshot.version)}
            if rendered == key:
                return no_update, no_update, no_update
            as_of = f"lake {lake_uri} as of {when(snapshot.book.as_of_ns) or 'empty'}"
            return PAGES[path][1](snapshot), key, as_of

    @app.callback(Output("node-status", "children"), Output("node-status", "className"), Input("tick", "n_intervals"))
    def node_status(_tick: int | None):  # noqa: ANN202
        status = node.status()
        problems = f": {'; '.join(status.problems)}" if status.problems else ""
        return f"node {status.status}{problems}", "good" if status.status == "ok" else "bad"

    @app.callback(Output("control", "style"), Input("url", "pathname"))
    def show_control(pathname: str | None) -> dict:
        return {} if pathname == "/risk" else {"display": "none"}

    @app.callback(Output("control-result", "children"), Input("halt-button", "n_clicks"),
                  Input("resume-button", "n_clicks"), State("control-reason", "value"), prevent_initial_call=True)
    def send(_halt: int, _resume: int, reason: str | None) -> str:
        command = "halt" if ctx.triggered_id == "halt-button" else "resume"
        path = node.send(command, (reason or "").strip() or "dashboard")
        return f"{command} queued for the node ({path.name})"

    return app
