"""Badge printers: print visitor badges on command, report paper and ribbon, fail when they cannot print."""

from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from devices.kinds import DeviceKind
from devices.payloads import CommandBase, Level, PrintBadge, PrintJobFinished, PrintJobStatus
from devices.site import DeviceSpec
from firmware_sim.device import Device, Reading
from firmware_sim.faults import Fault

ROLL_LABELS = 500
RIBBON_PRINTS = 1_000
LOW_SHARE = 0.1
"""A consumable is ``low`` below this share of a full one."""
KEEP_JOBS = 100


def level(left: int, full: int) -> Level:
    """How a consumable's remaining count reads on the status report."""
    if left <= 0:
        return Level.OUT
    return Level.LOW if left < full * LOW_SHARE else Level.OK


class BadgePrinter(Device):
    """A label printer at reception."""

    kind = DeviceKind.BADGE_PRINTER
    default_interval_s = 60.0

    def __init__(self, spec: DeviceSpec, **options: Any) -> None:
        super().__init__(spec, **options)
        self.labels_left = ROLL_LABELS - self.rng.randint(0, ROLL_LABELS // 2)
        self.ribbon_left = RIBBON_PRINTS - self.rng.randint(0, RIBBON_PRINTS // 2)
        self.prints_total = self.rng.randint(0, 5_000)
        self.printed: deque[PrintBadge] = deque(maxlen=KEEP_JOBS)
        """The last badges printed, newest last."""

    def load_paper(self) -> None:
        """Put in a full roll of labels."""
        self.labels_left = ROLL_LABELS
        self.report_now()

    def load_ribbon(self) -> None:
        """Put in a new ribbon."""
        self.ribbon_left = RIBBON_PRINTS
        self.report_now()

    def _command_handlers(self) -> Mapping[type[CommandBase], Callable[[Any], None]]:
        return {**super()._command_handlers(), PrintBadge: self._print}

    def _print(self, command: PrintBadge) -> None:
        error = self._cannot_print()
        if error is None:
            self.labels_left -= 1
            self.ribbon_left -= 1
            self.prints_total += 1
            self.printed.append(command)
        finished = PrintJobFinished(
            **self._envelope(self.clock.now()),
            event="print_job_finished",
            job_id=command.job_id,
            status=PrintJobStatus.FAILED if error else PrintJobStatus.PRINTED,
            error=error,
        )
        self._send_event(finished)
        self.report_now()

    def _cannot_print(self) -> str | None:
        if Fault.JAM in self.faults:
            return "paper jam"
        if self.labels_left <= 0:
            return "out of paper"
        if self.ribbon_left <= 0:
            return "out of ribbon"
        return None

    def measure(self, at: datetime, elapsed_s: float) -> Reading:
        return {
            "paper": level(self.labels_left, ROLL_LABELS),
            "ribbon": level(self.ribbon_left, RIBBON_PRINTS),
            "jammed": Fault.JAM in self.faults,
            "prints_total": self.prints_total,
        }

    def _fault_changed(self, fault: Fault, *, active: bool) -> None:
        if fault is Fault.PAPER_OUT:
            self.labels_left = 0 if active else ROLL_LABELS
        elif fault is Fault.RIBBON_OUT:
            self.ribbon_left = 0 if active else RIBBON_PRINTS
