"""Device choice: CUDA, then Apple MPS, then CPU; ``GENREPAIR_DEVICE`` or an argument overrides."""

from __future__ import annotations

import os

import torch


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """The device to run on: ``preferred``, else ``GENREPAIR_DEVICE``, else the best available ("auto").

    A named device that cannot be used raises ValueError instead of silently running somewhere else.
    """
    try:
        return _pick(preferred if preferred not in (None, "") else os.environ.get("GENREPAIR_DEVICE") or "auto")
    except ValueError as e:
        if preferred in (None, "") and os.environ.get("GENREPAIR_DEVICE"):
            raise ValueError(f"GENREPAIR_DEVICE: {e}") from None
        raise


def _pick(choice) -> torch.device:
    if isinstance(choice, bool):  # True is 1 to torch.device: cuda:1
        raise ValueError(f"unsupported device {choice!r}; use auto, cpu, cuda, cuda:N or mps")
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        dev = torch.device(choice)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"unsupported device {choice!r}; use auto, cpu, cuda, cuda:N or mps") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {choice!r} requested but CUDA is not available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {choice!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif dev.type == "mps" and not _mps_available():
        raise ValueError(f"device {choice!r} requested but MPS is not available")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {choice!r}; use auto, cpu, cuda, cuda:N or mps")
    return dev


def is_out_of_memory(e: BaseException) -> bool:
    """True for running out of memory on any device: Python's MemoryError, ``torch.OutOfMemoryError`` (CUDA;
    not a MemoryError subclass) and the plain RuntimeError that the CPU and MPS allocators raise."""
    if isinstance(e, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(e).lower()
    return isinstance(e, RuntimeError) and ("out of memory" in text or "can't allocate" in text)
