"""A progress bar on stderr for the commands that load many customers: `tillcrm crm demo-data`
and a till's first `tillcrm sync --once`. One bar for both, so an installer reads the same
count, rate and time left whichever one runs; stdout keeps the command's result lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["customer_progress"]


class _RateColumn(ProgressColumn):
    """Customers a second since the bar began (a load writes in chunks: rich's own speed,
    over the last few updates, has nothing to say after the first chunk)."""

    def render(self, task: Task) -> Text:
        """`12,345 customers/s`, or nothing before the first customers."""
        seconds = task.finished_time or task.elapsed
        rate = f"{task.completed / seconds:,.0f} customers/s" if seconds and task.completed else ""
        return Text(rate, style="progress.data.speed")


@contextmanager
def customer_progress(
    description: str, total: int | None = None
) -> Iterator[Callable[[int, int], None]]:
    """A bar that `update(done, total)` moves. With `total` it shows at once and its clock
    runs from now; without, it shows from the first update (a pull learns its total from the
    first page). It stays on stderr when the block ends."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = None if total is None else progress.add_task(description, total=total)

        def update(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = progress.add_task(description, total=total)
            progress.update(task, completed=done, total=total)

        yield update
