"""How many QR frames the kiosk's decoder reads, and how fast, beside zxing-cpp and OpenCV's two detectors alone.

One run, one generated set (kiosk/testset.py: 720p frames of a phone showing a signed token, clean,
mildly and badly perturbed), every decoder on every frame from the same BGR array, timed with
``time.perf_counter`` including the grey conversion. Also times frames with no QR code at all, which
is what the kiosk sees most of the day. Prints a table and writes bench/results/qr_decode.json.

    .venv/bin/python bench/qr_decode.py [--frames 60] [--seed 4] [--out bench/results/qr_decode.json]
"""

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import cv2
import numpy as np
import typer
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import Options, Report, Row  # noqa: E402
from kiosk.decode import QrReader, ReaderStats, read_opencv, read_zxing, to_gray  # noqa: E402
from kiosk.testset import DEFAULT_SEED, Severity, empty_frame, generate  # noqa: E402

console = Console()
EMPTY_FRAMES = 10
KIOSK = "kiosk decoder"

Decoder = Callable[[NDArray[np.uint8]], list[str]]


def decoders(kiosk: QrReader) -> dict[str, Decoder]:
    """Each contender, fed the BGR frame as a camera gives it."""
    aruco, classic = cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()
    return {
        KIOSK: kiosk.read,
        "zxing-cpp": lambda frame: read_zxing(to_gray(frame)),
        "QRCodeDetector": lambda frame: read_opencv(classic, to_gray(frame)),
        "QRCodeDetectorAruco": lambda frame: read_opencv(aruco, to_gray(frame)),
    }


def timed(decode: Decoder, frame: NDArray[np.uint8]) -> tuple[list[str], float]:
    started = time.perf_counter()
    texts = decode(frame)
    return texts, (time.perf_counter() - started) * 1000


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def measure(frames: int = 60, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Read the generated set with each decoder, side by side; the results as written to JSON."""
    console.print(f"generating {frames} frames (seed {seed}) ...")
    samples = generate(frames, seed=seed)
    empties = [empty_frame(seed + n) for n in range(EMPTY_FRAMES)]
    kiosk = QrReader()
    contenders = decoders(kiosk)
    for decode in contenders.values():  # first calls allocate; keep them out of the figures
        decode(samples[0].image)
        decode(empties[0])
    kiosk.stats = ReaderStats()
    per_frame: list[dict[str, Any]] = []
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    idle: dict[str, list[float]] = {name: [] for name in contenders}
    for sample in samples:
        row: dict[str, Any] = {"frame": sample.name, "perturbation": sample.perturbation, "severity": sample.severity}
        for name, decode in contenders.items():
            texts, ms = timed(decode, sample.image)
            timings[name].append(ms)
            row[name] = {
                "read": sample.expected in texts,
                "misread": any(t != sample.expected for t in texts),
                "ms": ms,
            }
        per_frame.append(row)
    read_by_kiosk = {str(stage): count for stage, count in kiosk.stats.read_by.items()}
    for frame in empties:
        for name, decode in contenders.items():
            texts, ms = timed(decode, frame)
            idle[name].append(ms)
            if texts:
                console.print(f"[red]{name} read {texts} in a frame with no QR code[/]")

    totals = {severity: sum(1 for s in samples if s.severity is severity) for severity in Severity}
    summary: list[dict[str, Any]] = []
    for name in contenders:
        reads = [row for row in per_frame if row[name]["read"]]
        summary.append(
            {
                "decoder": name,
                **{f"{severity}_read": sum(1 for r in reads if r["severity"] is severity) for severity in Severity},
                "read": len(reads),
                "frames": len(samples),
                "rate": round(len(reads) / len(samples), 3),
                "misreads": sum(1 for row in per_frame if row[name]["misread"]),
                "ms_median": round(statistics.median(timings[name]), 2),
                "ms_p95": percentile(timings[name], 95),
                "no_qr_ms_median": round(statistics.median(idle[name]), 2),
            }
        )

    conditions = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "opencv_threads": cv2.getNumThreads(),
        "python": platform.python_version(),
        "versions": {package: version(package) for package in ("opencv-python-headless", "zxing-cpp", "numpy")},
        "frames": len(samples),
        "seed": seed,
        "frames_by_severity": {str(severity): count for severity, count in totals.items()},
        "no_qr_frames": len(empties),
    }
    results = {"conditions": conditions, "decoders": summary, "kiosk_read_by_stage": read_by_kiosk}
    results["frames"] = per_frame
    return results


def print_table(results: dict[str, Any]) -> None:
    """The side-by-side table, and what the kiosk's decoder read and missed."""
    conditions, summary = results["conditions"], results["decoders"]
    totals = conditions["frames_by_severity"]
    frames, seed = conditions["frames"], conditions["seed"]
    table = Table(title=f"QR decoding, {frames} generated 720p frames (seed {seed}), one run")
    headers = [f"{severity} /{totals[str(severity)]}" for severity in Severity]
    for column in ["decoder", *headers, "read", "rate", "misread", "ms median", "ms p95", "ms no QR"]:
        table.add_column(column, justify="left" if column == "decoder" else "right")
    for entry in summary:
        table.add_row(
            entry["decoder"],
            *(str(entry[f"{severity}_read"]) for severity in Severity),
            f"{entry['read']}/{entry['frames']}",
            f"{entry['rate']:.0%}",
            str(entry["misreads"]),
            f"{entry['ms_median']:.1f}",
            f"{entry['ms_p95']:.1f}",
            f"{entry['no_qr_ms_median']:.1f}",
        )
    console.print(table)
    console.print(f"{KIOSK}, frames read by stage: {results['kiosk_read_by_stage']}")
    missed = [row["frame"] for row in results["frames"] if not row[KIOSK]["read"]]
    console.print(f"not read by the {KIOSK}: {', '.join(missed) or 'none'}")


NAME = "qr_decode"


def run(options: Options, _results: Path) -> Report:
    """For the suite: the kiosk decoder's rate and time per frame, zxing-cpp alone beside it."""
    frames = 8 if options.quick else 60
    results = measure(frames, DEFAULT_SEED)
    entries = {entry["decoder"]: entry for entry in results["decoders"]}
    rows = []
    for name in (KIOSK, "zxing-cpp"):
        entry = entries[name]
        rows.append(
            Row(
                NAME,
                f"{name}: {entry['frames']} generated 720p frames (seed {DEFAULT_SEED}; clean, mild, hard), "
                f"{EMPTY_FRAMES} without a code; OpenCV with {cv2.getNumThreads()} threads",
                f"read {entry['read']}/{entry['frames']} ({entry['rate']:.0%}), {entry['misreads']} misread; "
                f"{entry['ms_median']:.1f} ms median, {entry['ms_p95']:.0f} ms p95 a frame; "
                f"{entry['no_qr_ms_median']:.1f} ms on a frame without a code",
            )
        )
    return Report(NAME, rows, results)


def main(
    frames: Annotated[int, typer.Option(help="Frames in the generated set")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the generated set")] = DEFAULT_SEED,
    out: Annotated[Path, typer.Option(help="JSON results")] = ROOT / "bench" / "results" / "qr_decode.json",
) -> None:
    """Read the generated set with each decoder, side by side."""
    results = measure(frames, seed)
    print_table(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
