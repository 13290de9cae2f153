"""Check that a built Lambda layer will load on arm64 (Graviton) with Python 3.12.

Usage: python scripts/check_layer_arch.py .aws-sam/build/CommonLayer

The layer is built on whatever machine runs `sam build` (often x86_64), so a wheel resolved for the
wrong platform or Python would only fail at import time in Lambda. This fails the build instead:
every compiled extension must be an aarch64 ELF built for CPython 3.12 (or the stable ABI), there
must be at least one (pydantic_core's, so a pure-Python fallback cannot pass silently), and the
unzipped size must fit Lambda's 250 MB limit.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EM_AARCH64 = 0xB7
ELF_MAGIC = b"\x7fELF"
# Lambda's limit for a function's code plus all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT_MB = 250.0
REQUIRED_EXTENSION = "pydantic_core"
# "_cbson.cpython-312-aarch64-linux-gnu.so" -> "312"; abi3 extensions carry no version tag.
CPYTHON_TAG = re.compile(r"\.cpython-(\d+)")
MAX_PROBLEMS_SHOWN = 20


@dataclass
class LayerReport:
    shared_objects: list[Path] = field(default_factory=list)
    aarch64_count: int = 0
    size_bytes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def size_mb(self) -> float:
        return self.size_bytes / (1024 * 1024)


def elf_machine(path: Path) -> int | None:
    """The ELF e_machine of a file, or None when it is not an ELF file."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != ELF_MAGIC:
        return None
    # e_ident[EI_DATA] (byte 5) says how the rest of the header is encoded: 1 little, 2 big endian.
    byteorder: Literal["little", "big"] = "little" if header[5] == 1 else "big"
    return int.from_bytes(header[18:20], byteorder)


def is_shared_object(path: Path) -> bool:
    # Matches "x.so" and versioned system libraries such as "libfoo.so.1" vendored by some wheels.
    return path.suffix == ".so" or ".so." in path.name


def inspect_layer(layer_dir: Path, python_tag: str = "312") -> LayerReport:
    report = LayerReport()
    if not (layer_dir / "python").is_dir():
        # Lambda puts /opt/python on sys.path; packages anywhere else in the layer are invisible.
        report.problems.append(f"{layer_dir}/python is missing: Lambda would not find the packages")
    for path in sorted(layer_dir.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        report.size_bytes += path.stat().st_size
        if not is_shared_object(path):
            continue
        report.shared_objects.append(path)
        relative = path.relative_to(layer_dir)
        machine = elf_machine(path)
        if machine is None:
            report.problems.append(f"{relative}: not an ELF file")
        elif machine != EM_AARCH64:
            report.problems.append(f"{relative}: e_machine 0x{machine:X}, expected aarch64 (0xB7)")
        else:
            report.aarch64_count += 1
        tag = CPYTHON_TAG.search(path.name)
        if tag and tag.group(1) != python_tag:
            report.problems.append(f"{relative}: built for CPython {tag.group(1)}, expected {python_tag}")
    if not report.shared_objects:
        report.problems.append("no compiled extensions found: the layer was not built from binary wheels")
    elif not any(REQUIRED_EXTENSION in part for so in report.shared_objects for part in so.parts):
        report.problems.append(f"no {REQUIRED_EXTENSION} extension found")
    if report.size_mb > LAMBDA_UNZIPPED_LIMIT_MB:
        report.problems.append(
            f"{report.size_mb:.1f} MB unzipped exceeds Lambda's {LAMBDA_UNZIPPED_LIMIT_MB:.0f} MB limit"
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layer_dir", type=Path, help="built layer, e.g. .aws-sam/build/CommonLayer")
    parser.add_argument("--python-tag", default="312", help="CPython version the extensions must target")
    args = parser.parse_args(argv)

    if not args.layer_dir.is_dir():
        print(f"error: {args.layer_dir} is not a directory (run `sam build` first)", file=sys.stderr)
        return 2
    report = inspect_layer(args.layer_dir, args.python_tag)
    print(
        f"{args.layer_dir}: {len(report.shared_objects)} .so files "
        f"({report.aarch64_count} aarch64), {report.size_mb:.1f} MB unzipped"
    )
    for problem in report.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"FAIL {problem}", file=sys.stderr)
    if len(report.problems) > MAX_PROBLEMS_SHOWN:
        print(f"FAIL ... and {len(report.problems) - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)
    if not report.problems:
        print("OK: every compiled extension is aarch64 / CPython " + args.python_tag)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
