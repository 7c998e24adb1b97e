"""Stand-in for ``comfy_api.latest.io`` with v0.3.64's signatures (the subset both supported versions share)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any


class Input:
    io_type = "*"

    def __init__(
        self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None, extra_dict=None
    ):
        self.id = id
        self.display_name = display_name
        self.optional = optional
        self.tooltip = tooltip
        self.lazy = lazy
        self.extra_dict = extra_dict or {}


class Output:
    io_type = "*"

    def __init__(self, id: str = None, display_name: str = None, tooltip: str = None, is_output_list=False):
        self.id = id
        self.display_name = display_name
        self.tooltip = tooltip
        self.is_output_list = is_output_list


class _FloatInput(Input):
    io_type = "FLOAT"

    def __init__(
        self,
        id: str,
        display_name: str = None,
        optional=False,
        tooltip: str = None,
        lazy: bool = None,
        default: float = None,
        min: float = None,
        max: float = None,
        step: float = None,
        round: float = None,
        display_mode=None,
        socketless: bool = None,
        force_input: bool = None,
    ):
        super().__init__(id, display_name, optional, tooltip, lazy)
        self.default, self.min, self.max, self.step, self.round = default, min, max, step, round


class _ComboInput(Input):
    io_type = "COMBO"

    def __init__(
        self,
        id: str,
        options: list[str] = None,
        display_name: str = None,
        optional=False,
        tooltip: str = None,
        lazy: bool = None,
        default: str = None,
        control_after_generate=None,
        upload=None,
        image_folder=None,
        remote=None,
        socketless: bool = None,
    ):
        super().__init__(id, display_name, optional, tooltip, lazy)
        self.options, self.default = list(options or []), default


class _StringInput(Input):
    io_type = "STRING"

    def __init__(
        self,
        id: str,
        display_name: str = None,
        optional=False,
        tooltip: str = None,
        lazy: bool = None,
        multiline=False,
        placeholder: str = None,
        default: str = None,
        dynamic_prompts: bool = None,
        socketless: bool = None,
        force_input: bool = None,
    ):
        super().__init__(id, display_name, optional, tooltip, lazy)
        self.multiline, self.placeholder, self.default = multiline, placeholder, default


class _BooleanInput(Input):
    io_type = "BOOLEAN"

    def __init__(
        self,
        id: str,
        display_name: str = None,
        optional=False,
        tooltip: str = None,
        lazy: bool = None,
        default: bool = None,
        label_on: str = None,
        label_off: str = None,
        socketless: bool = None,
        force_input: bool = None,
    ):
        super().__init__(id, display_name, optional, tooltip, lazy)
        self.default = default


class _ModelInput(Input):
    io_type = "MODEL"


class _ModelOutput(Output):
    io_type = "MODEL"


class Float:
    Input = _FloatInput


class Combo:
    Input = _ComboInput


class String:
    Input = _StringInput


class Boolean:
    Input = _BooleanInput


class Model:
    Input = _ModelInput
    Output = _ModelOutput


def _socket(io_type: str) -> type:
    """A plain socket type (no widget): its Input and Output carry only the io_type."""
    return type(io_type, (), {"io_type": io_type, "Input": type("Input", (Input,), {"io_type": io_type}),
                              "Output": type("Output", (Output,), {"io_type": io_type})})  # fmt: skip


Clip, Latent, Image, Mask = (_socket(name) for name in ("CLIP", "LATENT", "IMAGE", "MASK"))


def Custom(io_type: str) -> type:  # noqa: N802 (ComfyUI's name)
    return _socket(io_type)


@dataclass
class Schema:
    node_id: str
    display_name: str = None
    category: str = "sd"
    inputs: list = None
    outputs: list = None
    hidden: list = None
    description: str = ""
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_api_node: bool = False
    not_idempotent: bool = False
    enable_expand: bool = False

    def validate(self) -> None:
        input_ids = [i.id for i in self.inputs or []]
        output_ids = [o.id for o in self.outputs or [] if o.id is not None]
        duplicated = [i for i, n in Counter(input_ids + output_ids).items() if n > 1]
        if duplicated:
            raise ValueError(f"Ids must be unique between inputs and outputs, but {duplicated} are not.")


class ComfyNode:
    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs) -> NodeOutput:
        raise NotImplementedError


class NodeOutput:
    def __init__(self, *args: Any, ui: dict = None, expand: dict = None, block_execution: str = None):
        self.args = args
        self.ui = ui

    @property
    def result(self):
        return self.args if len(self.args) > 0 else None
