"""The progress of xent.train: the CLI's bar on a terminal, tqdm elsewhere (a notebook)."""

from __future__ import annotations

import sys
from typing import Any, Callable

from . import _xent


class Progress:
    """What xent.train shows while it trains, chosen once per run.

    terminal: the engine draws the CLI's bar on stderr itself. Otherwise ``step`` updates a
    tqdm bar when tqdm is installed, and ``evaluation`` prints a line per evaluation when not.
    """

    def __init__(self, enabled: bool, total: int):
        self.terminal = enabled and _xent.stderr_is_terminal() and sys.stderr.isatty()
        self._bar: Any = None
        self._lines = False
        if enabled and not self.terminal:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self._lines = True
            else:
                self._bar = tqdm(total=total, unit="step")

    def step_hook(self) -> Callable[[int], None] | None:
        if self._bar is None:
            return None
        bar = self._bar

        def update(step: int) -> None:
            bar.update(step - bar.n)

        return update

    def evaluation(self, step: int, rows: list[dict[str, float]]) -> None:
        first = rows[0]
        text = f"r2_a {first['r2_a']:.4f}  acc {first['acc']:.4f}  loss {first['loss']:.4f}"
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)
        elif self._lines:
            print(f"step {step}: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
