"""The ``tollama`` command line: a client of the HTTP API, plus ``serve`` and ``runtime``.

Exit codes: 0 success · 1 the server answered with an error · 2 bad usage, input file or
``TOLLAMA_*`` setting · 3 the server is not running · 4 the model was not found · 5 a local setup
step failed (a missing tool such as uv, a runtime install that failed, or one declined) ·
141 the output pipe was closed (``| head``). ``tollama doctor`` has its own: 0 / 1 / 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tollama.cli import render, runtimes
from tollama.cli.inputs import InputError, read_input, write_output
from tollama.cli.show import show_text
from tollama.client import ApiError, Client, ServerUnreachable
from tollama.errors import ModelNotFound, RuntimeNotInstalled, TollamaError
from tollama.runtime.environments import EnvironmentError_
from tollama.settings import Settings, access_notice, describe

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_FOUND, EXIT_SETUP = 0, 1, 2, 3, 4, 5
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


def _client(settings: Settings) -> Client:
    return Client(settings.base_url, api_key=settings.api_key)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


# -- commands -------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from tollama.app import create_app
    from tollama.registry import RegistryError

    try:
        app = create_app(settings)
    except (ValueError, RegistryError) as exc:  # a setting only the server checks (family names in GPU maps, the registry)
        sys.stderr.write(f"Error: {exc}\n")
        return EXIT_USAGE
    except (OSError, RuntimeError, TollamaError) as exc:  # the home is not writable, no Docker engine answers, …
        sys.stderr.write(f"Error: cannot start the server: {exc}\n")
        return EXIT_SETUP
    version = __import__("tollama").__version__

    class _Server(uvicorn.Server):
        """Says where it listens once bound: with ``TOLLAMA_PORT=0`` the port is the one the OS gave."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            bound = self.servers[0].sockets if self.servers else []
            port = bound[0].getsockname()[1] if bound else settings.port
            sys.stderr.write(f"tollama {version} listening on http://{settings.host}:{port} (home {settings.home})\n")
            sys.stderr.flush()

    sys.stderr.write(access_notice(settings) + "\n")
    _Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)).run()
    return EXIT_OK


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as c:
        data = c.tags()
    if args.json:
        _print_json(data)
        return EXIT_OK
    rows = [[m["name"], m["digest"][:12], render.size(m["size"]), render.ago(m["modified_at"])] for m in data["models"]]
    render.table(rows, ["NAME", "ID", "SIZE", "MODIFIED"])
    return EXIT_OK


def cmd_ps(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as c:
        data = c.ps()
    if args.json:
        _print_json(data)
        return EXIT_OK
    rows = [[m["name"], m["digest"][:12], m["family"], m["device"], render.size(m["size"]), render.until(m["expires_at"])] for m in data["models"]]
    render.table(rows, ["NAME", "ID", "FAMILY", "DEVICE", "SIZE", "UNTIL"])
    return EXIT_OK


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as c:
        data = c.show(args.model)
    if args.json:
        _print_json(data)
    elif args.modelfile:
        sys.stdout.write(data["modelfile"])
    elif args.license:
        sys.stdout.write(data["license"] + "\n")
    elif args.parameters:
        sys.stdout.write(data["parameters"] + "\n")
    else:
        sys.stdout.write(show_text(data))
    return EXIT_OK


def cmd_pull(args: argparse.Namespace, settings: Settings) -> int:
    progress = render.PullProgress()
    with _client(settings) as c:
        try:
            for event in c.pull(args.model, accept_license=args.accept_license):
                progress.event(event)
        finally:
            progress.close()
        family = c.show(args.model)["details"]["family"]
        info = c.info()
    runtimes.offer_after_pull(family, info, settings, install=args.install_runtime)
    return EXIT_OK


def cmd_runtime(args: argparse.Namespace, settings: Settings) -> int:
    from tollama.runtime.environments import family_sources, installed, remove

    if args.action == "list":
        envs = installed(settings.runtimes_dir)
        rows = [[name, "installed" if f"{name}-{settings.variant}" in envs else "-"] for name in family_sources(*settings.family_roots)]
        if args.json:
            _print_json(envs)
        else:
            render.table(rows, ["FAMILY", settings.variant.upper()])
        return EXIT_OK
    if not args.family:
        raise InputError(f"`tollama runtime {args.action}` needs a family name")
    for family in args.family:
        if args.action == "install":
            runtimes.install_runtime(family, settings)
        elif not remove(settings.runtimes_dir, family, settings.variant):  # type: ignore[arg-type]
            sys.stderr.write(f"the {family} runtime is not installed\n")
    return EXIT_OK


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        text = Path(args.file).read_text()
    except OSError as exc:
        raise InputError(f"cannot read {args.file}: {exc}") from exc
    with _client(settings) as c:
        for event in c.create(args.model, text):
            sys.stderr.write(event["status"] + "\n")
    return EXIT_OK


def cmd_rm(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as c:
        for model in args.model:
            c.delete(model)
            sys.stdout.write(f"deleted '{model}'\n")
    return EXIT_OK


def cmd_cp(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as c:
        c.copy(args.source, args.destination)
    sys.stdout.write(f"copied '{args.source}' to '{args.destination}'\n")
    return EXIT_OK


def cmd_stop(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as c:
        res = c.stop(args.model)
    if res["stopped"]:
        sys.stdout.write(f"stopped '{res['model']}'\n")
    else:
        sys.stderr.write(f"'{res['model']}' was not loaded\n")
    return EXIT_OK


def cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as c:
        data = c.info()
    if args.json:
        _print_json(data)
        return EXIT_OK
    sys.stdout.write(f"tollama {data['version']} · runtime {data['runtime']} · families {', '.join(data['families'])}\n\n")
    rows = []
    for m in data["models"]:
        caps = m["capabilities"]
        flags = "".join(ch if caps[k] else "·" for ch, k in (("M", "multivariate"), ("P", "past_covariates"), ("F", "future_covariates"), ("S", "static_covariates"), ("C", "categorical_covariates"), ("N", "missing_values")))
        rows.append([m["name"], m["family"], m["parameters"], str(caps["max_context"]), str(caps["max_horizon"]), flags, m["license"] + (" (accept)" if m["license_acceptance"] else ""), "yes" if m["installed"] else ""])
    render.table(rows, ["NAME", "FAMILY", "PARAMS", "CONTEXT", "HORIZON", "MPFSCN", "LICENSE", "INSTALLED"])
    sys.stdout.write("\nM multivariate · P past covariates · F future covariates · S static · C categorical · N missing values\n")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from tollama.cli.doctor import report, run_checks

    return report(run_checks(settings), as_json=args.json)


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    rows = [list(r) for r in describe(settings)]
    if args.json:
        _print_json([dict(zip(("name", "value", "default", "meaning"), r, strict=True)) for r in rows])
    else:
        render.table(rows, ["SETTING", "VALUE", "DEFAULT", "MEANING"])
    return EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    series, names = read_input(Path(args.input), Path(args.future) if args.future else None)
    with _client(settings) as c:
        model = args.model or _default_model(c)
        request: dict[str, Any] = {"model": model, "series": series}
        for key in ("horizon", "freq", "keep_alive"):
            if getattr(args, key) is not None:
                request[key] = getattr(args, key)
        if args.quantiles:
            try:
                request["quantiles"] = [float(q) for q in args.quantiles.split(",")]
            except ValueError:
                raise InputError(f"--quantiles {args.quantiles!r}: give comma-separated levels in (0, 1), e.g. 0.1,0.5,0.9") from None
        pulled: set[str] = set()
        installed = False
        while True:  # each missing piece is fetched at most once; a second failure is the answer
            try:
                resp = c.forecast(request)
                break
            except ApiError as exc:
                pull = exc.details.get("variant") or exc.details.get("pull")
                # A missing model, or the variant of it that this request needs (named by the gateway).
                name = str(pull or model)
                if isinstance(exc, ModelNotFound) and pull and name not in pulled:
                    pulled.add(name)
                    sys.stderr.write(f"pulling {name} …\n")
                    progress = render.PullProgress()
                    for event in c.pull(name, accept_license=args.accept_license):
                        progress.event(event)
                    progress.close()
                elif isinstance(exc, RuntimeNotInstalled) and not installed:
                    installed = True
                    runtimes.install_for_server(exc.response, settings, yes=args.yes, model=model)
                else:
                    raise
    if args.output:
        write_output(Path(args.output), resp, names)
        sys.stderr.write(f"wrote {sum(len(f['mean']) for f in resp['forecasts'])} forecast rows to {args.output}\n")
    elif args.json:
        _print_json(resp)
    elif args.plot:
        from tollama.cli import plot

        sys.stdout.write(plot.render(series, resp, color=sys.stdout.isatty()))
    else:
        render.forecast_table(resp)
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from tollama.cli.evaluate import evaluate

    with _client(settings) as c:
        return evaluate(c, args)


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from tollama.mcp import server
    except ImportError as exc:
        raise InputError(f"`tollama mcp` needs the MCP SDK: pip install 'tollama[mcp]' ({exc})") from exc
    if args.http:
        host, _, port = args.http.rpartition(":")
        server.run_http(settings.base_url, host or "127.0.0.1", int(port), read_only=args.read_only)
    else:
        server.run_stdio(settings.base_url, read_only=args.read_only)
    return EXIT_OK


def _default_model(c: Client) -> str:
    """The newest model pulled, else the baseline AutoETS (installed from the first start)."""
    pulled = [m for m in c.tags()["models"] if m["details"]["family"] != "baseline"]
    if pulled:
        return str(max(pulled, key=lambda m: m["modified_at"])["name"])
    return "auto-ets"


# -- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tollama", description="Ollama for time-series foundation models.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Any, help: str, *, json_flag: bool = False, aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help, aliases=list(aliases))
        sp.set_defaults(fn=fn)
        if json_flag:
            sp.add_argument("--json", action="store_true", help="machine-readable output")
        return sp

    add("serve", cmd_serve, "start the server (TOLLAMA_HOST, TOLLAMA_PORT, TOLLAMA_HOME; see `tollama settings`)")
    sp = add("pull", cmd_pull, "download a model from the catalogue")
    sp.add_argument("model")
    sp.add_argument("--accept-license", action="store_true", help="accept a licence that requires it (e.g. CC-BY-NC-4.0)")
    sp.add_argument("--install-runtime", action=argparse.BooleanOptionalAction, default=None, help="also install the family runtime")
    add("list", cmd_list, "list installed models", json_flag=True, aliases=("ls",))
    sp = add("show", cmd_show, "show a model's details", json_flag=True)
    sp.add_argument("model")
    sp.add_argument("--modelfile", action="store_true", help="print the TSModelfile")
    sp.add_argument("--license", action="store_true", help="print the licence")
    sp.add_argument("--parameters", action="store_true", help="print the parameters")
    sp = add("create", cmd_create, "create a model from a TSModelfile")
    sp.add_argument("model")
    sp.add_argument("-f", "--file", default="TSModelfile", help="the TSModelfile (default ./TSModelfile)")
    sp = add("rm", cmd_rm, "delete models", aliases=("delete",))
    sp.add_argument("model", nargs="+")
    sp = add("cp", cmd_cp, "copy a model under a new name", aliases=("copy",))
    sp.add_argument("source")
    sp.add_argument("destination")
    add("info", cmd_info, "the catalogue: families, capabilities, licences", json_flag=True)
    add("ps", cmd_ps, "list loaded models", json_flag=True)
    sp = add("stop", cmd_stop, "unload a model now")
    sp.add_argument("model")
    sp = add("run", cmd_run, "forecast a long-format table (CSV, Parquet, Arrow) or JSON file; pulls the model if needed", json_flag=True)
    sp.add_argument("model", nargs="?", help="default: the newest pulled model, else auto-ets")
    sp.add_argument("--input", "-i", required=True, help="a long-format table (.csv, .parquet, .arrow: id, timestamp, value columns) or JSON")
    sp.add_argument("--future", help="the horizon's known covariates: a table with the id, timestamp and covariate columns")
    sp.add_argument("--output", "-o", help="write the forecast to this file (.csv, .parquet, .arrow: a long table; .json: the response)")
    sp.add_argument("--horizon", "-H", type=int)
    sp.add_argument("--quantiles", "-q", help="comma-separated levels, e.g. 0.1,0.5,0.9")
    sp.add_argument("--freq")
    sp.add_argument("--keep-alive", dest="keep_alive")
    sp.add_argument("--accept-license", action="store_true")
    sp.add_argument("--yes", "-y", action="store_true", help="install a missing family runtime without asking")
    sp.add_argument("--plot", action="store_true", help="draw history, forecast and its band in the terminal (one panel per series, up to 4)")
    sp = add("runtime", cmd_runtime, "manage family environments (process runtime)", json_flag=True)
    sp.add_argument("action", choices=["install", "list", "remove"])
    sp.add_argument("family", nargs="*")
    sp = add("evaluate", cmd_evaluate, "backtest models on a CSV or JSON file and print the leaderboard", json_flag=True)
    sp.add_argument("--input", "-i", required=True, help="CSV (id, timestamp, value columns) or JSON")
    sp.add_argument("--models", "-m", required=True, help="comma-separated model names")
    sp.add_argument("--horizon", "-H", type=int, required=True)
    sp.add_argument("--windows", "-w", type=int, default=1)
    sp.add_argument("--step", type=int, help="points between windows (default: the horizon)")
    sp.add_argument("--metrics", help="comma-separated, the first ranks (default MASE,WQL,SMAPE)")
    sp.add_argument("--quantiles", "-q", help="comma-separated levels, e.g. 0.1,0.5,0.9")
    sp.add_argument("--freq")
    sp.add_argument("--output", "-o", help="write the per model, window and series results to this CSV")
    sp.add_argument("--plot", action="store_true", help="draw the leaderboard's first metric as bars in the terminal")
    add("doctor", cmd_doctor, "check the setup: Python, uv, disk, family runtimes, Docker, server, hub (exit 0 pass, 1 warn, 2 fail)", json_flag=True)
    sp = add("mcp", cmd_mcp, "serve tollama's tools to agents over the Model Context Protocol (stdio; --http for streamable HTTP)")
    sp.add_argument("--http", metavar="HOST:PORT", nargs="?", const="127.0.0.1:11436", help="streamable HTTP at http://HOST:PORT/mcp (default 127.0.0.1:11436)")
    sp.add_argument("--read-only", action="store_true", help="offer no tool that changes the server (pull_model)")
    add("settings", cmd_settings, "print every setting with its value, default and meaning", json_flag=True)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a malformed TOLLAMA_* setting: one line naming it, for every command
        sys.stderr.write(f"Error: {exc}\n")
        sys.exit(EXIT_USAGE)
    try:
        code = args.fn(args, settings)
        sys.stdout.flush()  # a closed pipe surfaces here, inside the handler below
    except BrokenPipeError:
        # `tollama run … | head`: the reader left; stop quietly, as a program killed by SIGPIPE does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    except ServerUnreachable as exc:
        sys.stderr.write(f"Error: {exc}\n")
        code = EXIT_UNREACHABLE
    except ApiError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        if exc.details.get("log_tail"):
            sys.stderr.write("worker log (last lines):\n" + "".join(f"  {ln}\n" for ln in str(exc.details["log_tail"]).splitlines()[-20:]))
        code = EXIT_NOT_FOUND if exc.code == "model_not_found" else EXIT_API
    except InputError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        code = EXIT_USAGE
    except (TollamaError, EnvironmentError_) as exc:  # a local step: uv missing, a runtime build failed
        sys.stderr.write(f"Error: {exc}\n")
        code = EXIT_SETUP
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
