"""Run-time device and precision choice: CUDA + bf16 when present; CPU + bf16 only when the
CPU has native bf16 support (AVX512-BF16/AMX; emulated bf16 is slower than fp32); else fp32."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    bf16: bool

    @property
    def name(self) -> str:
        return f"{self.device.type}/{'bf16' if self.bf16 else 'fp32'}"

    def autocast(self):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)


def cpu_has_native_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def choose_runtime(device: str = "auto", precision: str = "auto") -> Runtime:
    """``device``: auto|cpu|cuda; ``precision``: auto|fp32|bf16 (bf16 forces autocast)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if precision == "fp32":
        return Runtime(dev, False)
    if precision == "bf16":
        return Runtime(dev, True)
    if dev.type == "cuda":
        return Runtime(dev, torch.cuda.is_bf16_supported())
    return Runtime(dev, cpu_has_native_bf16())
