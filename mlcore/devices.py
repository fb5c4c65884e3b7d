"""Run-time device and precision choice: CUDA + bf16 when present; CPU + bf16 only when the
CPU has native bf16 support (AVX512-BF16/AMX; emulated bf16 is slower than fp32); else fp32.

``int8`` (CPU inference only) quantizes the encoder's linear layers dynamically: weights to
int8 once at load time, activations per batch. Pre-annotation uses it on CPUs without bf16
(:func:`inference_precision`); it is never used for training."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    bf16: bool
    int8: bool = False

    @property
    def name(self) -> str:
        if self.int8:
            return f"{self.device.type}/int8"
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
    """``device``: auto|cpu|cuda; ``precision``: auto|fp32|bf16|int8 (bf16 forces autocast)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if precision == "int8":
        if dev.type != "cpu":
            raise ValueError("int8 is CPU inference only; use bf16 or fp32 on " + dev.type)
        return Runtime(dev, False, int8=True)
    if precision == "fp32":
        return Runtime(dev, False)
    if precision == "bf16":
        return Runtime(dev, True)
    if dev.type == "cuda":
        return Runtime(dev, torch.cuda.is_bf16_supported())
    return Runtime(dev, cpu_has_native_bf16())


def inference_precision(precision: str = "auto", device: str = "auto") -> str:
    """The precision for pre-annotation. ``auto``: the training choice on CUDA and on a CPU
    with native bf16 (bf16 there is as fast as int8 and costs no F1); int8 on any other CPU,
    where it is 2-3x faster than fp32 for about a point of F1 (docs/mlcore.md, Speed)."""
    if precision != "auto":
        return precision
    on_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    return "auto" if on_cuda or cpu_has_native_bf16() else "int8"
