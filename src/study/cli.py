"""The `study` command: list the projects found under projects/, run one locally, benchmark it."""

from __future__ import annotations

import signal
import socket
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from study.environments import compile_lock, lock_of, lock_sources
from study.errors import StudyError
from study.paths import REPO_ROOT, cache_dir
from study.projects import Project, discover, find_project

app = typer.Typer(help="AI Inference Study: run and measure the course projects.", no_args_is_help=True)
console = Console()


def _project(name: str) -> Project:
    try:
        return find_project(name)
    except KeyError:
        names = ", ".join(p.name for p in discover())
        raise typer.BadParameter(f"unknown project {name!r}; one of: {names}") from None


# --8<-- [start:port-is-free]
def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now. Bind as the server will, with
    SO_REUSEADDR: a plain bind also fails for the minute after a run that served requests, while
    its closed connections linger in TIME-WAIT and nothing listens (uvicorn binds fine then)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


# --8<-- [end:port-is-free]


@app.command("list")
def list_projects() -> None:
    """The projects found under projects/ (a folder NN-name with a local/ recipe) and what each teaches."""
    table = Table(title="AI Inference Study projects")
    for column in ("#", "project", "title", "teaches"):
        table.add_column(column)
    for project in discover():
        table.add_row(project.number, project.name, project.title, project.teaches)
    console.print(table)


@app.command()
def up(
    project: Annotated[str, typer.Argument(help="Project name, e.g. image-classification.")],
    port: Annotated[int, typer.Option(help="Port for the API.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface for the API.")] = "127.0.0.1",
) -> None:
    """Run a project in local mode: its real backends as child processes, then its API."""
    chosen = _project(project)
    if not port_is_free(host, port):
        console.print(f"[red]error:[/] port {port} on {host} is in use; pass another with --port.")
        raise typer.Exit(1)
    running_stack = chosen.recipe("stack").running_stack

    run_dir = cache_dir() / "run" / chosen.name
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Python leaves SIGINT ignored when it starts with it ignored (a job put in the background by a
    # script): "Ctrl-C stops everything" must hold however the command was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with ExitStack() as running:  # leaving it stops the API, then its backends
            with Progress(
                SpinnerColumn(finished_text="[green]✓[/]"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                steps: list[TaskID] = []

                def report(message: str) -> None:
                    if steps:
                        progress.update(steps[-1], total=1, completed=1)
                    steps.append(progress.add_task(message, total=None))

                stack = running.enter_context(running_stack(run_dir, port=port, host=host, report=report))
                progress.update(steps[-1], total=1, completed=1)
            lines = {**stack.endpoints(), "try it": chosen.try_it.format(url=stack.url), "logs": str(run_dir / "logs")}
            console.print(f"\n[bold green]{chosen.name} is up[/]")
            for name, value in lines.items():
                console.print(f"  {name:<15} {value}")
            console.print("Ctrl-C stops everything.")
            try:
                stop.wait()
            except KeyboardInterrupt:
                pass
            # A second Ctrl-C (or the one a wrapper such as `uv run` forwards) must not cut the
            # shutdown short: the servers are stopped in order below.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            console.print("stopping ...")
        console.print("stopped.")
    except KeyboardInterrupt:
        console.print("interrupted during start-up; everything it had started is stopped.")
        raise typer.Exit(130) from None
    except StudyError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@app.command()
def lock() -> None:
    """Compile every environment's lock file (NAME.in -> NAME.txt, pyproject.toml -> requirements.txt),
    pinning each package with its dependencies. Run it after changing a pin; commit the result."""
    try:
        for source in lock_sources():
            console.print(f"locked {lock_of(compile_lock(source)).relative_to(REPO_ROOT)}")
    except StudyError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@app.command()
def bench(
    project: Annotated[str, typer.Argument(help="Project name, e.g. image-classification.")],
    out: Annotated[Path | None, typer.Option(help="Folder for the JSON and chart (default: the docs).")] = None,
    scale: Annotated[float, typer.Option(help="Multiply the request counts (0.1 for a smoke run).")] = 1.0,
    only: Annotated[str | None, typer.Option(help="Run one part of a benchmark that has parts (its PARTS).")] = None,
    gpu: Annotated[
        bool, typer.Option(help="On a GPU host, against the compose stack scripts/gpu-bench.sh started.")
    ] = False,
) -> None:
    """Run a project's benchmark; write JSON, a chart and a table for its docs page."""
    if gpu:
        if only:
            console.print("[red]error:[/] --gpu runs the GPU benchmark whole; it has no parts")
            raise typer.Exit(2)
        try:
            benchmark = _project(project).recipe("bench_gpu")
        except ModuleNotFoundError:
            console.print(f"[red]error:[/] {project} has no GPU benchmark (projects 01 and 02 have one)")
            raise typer.Exit(2) from None
    else:
        benchmark = _project(project).recipe("bench")
        parts = getattr(benchmark, "PARTS", ())
        if only and only not in parts:
            console.print(
                f"[red]error:[/] {project}'s benchmark has "
                + (f"the parts {', '.join(parts)}" if parts else "no parts")
            )
            raise typer.Exit(2)
    try:
        if gpu:
            result = benchmark.run_gpu(out, scale=scale, report=console.log)
        else:
            result = benchmark.run(out, scale=scale, report=console.log, **({"only": only} if only else {}))
    except StudyError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"wrote {', '.join(str(p) for p in result)}")


@app.command()
def drill(
    project: Annotated[str, typer.Argument(help="Project name, e.g. ocr.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder for the timeline JSON and chart (default: the docs).")
    ] = None,
) -> None:
    """Run a project's fault drill: inject faults into its local stack and time its alerts."""
    found = _project(project)
    if not (found.recipe_dir / "drill.py").is_file():
        console.print(f"[red]error:[/] {project} has no fault drill (only projects with a local/drill.py do)")
        raise typer.Exit(2)
    try:
        result = found.recipe("drill").run(out, report=console.log)
    except (StudyError, TimeoutError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"wrote {', '.join(str(p) for p in result)}")


if __name__ == "__main__":
    app()
