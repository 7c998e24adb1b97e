"""What the family cases share: the prompts' sizes, a case from a model and its prompt, the usual token layouts."""

from __future__ import annotations

import dataclasses
import functools
import importlib

import comfy.model_base
import torch
from harness import CONTEXT_DIM, NEGATIVE_TEXT, TEXT, Case, gen


def case(model_config, model_class, latent, cond, expect, parts, **options) -> Case:
    """The case of a model whose positive prompt is ``cond(1, TEXT)`` and negative one ``cond(2, NEGATIVE_TEXT)``
    (the prompt's seed, its token count)."""
    return Case(model_config, model_class, latent, cond(1, TEXT), cond(2, NEGATIVE_TEXT), expect, parts, **options)


def plain_prompt(seed, n):
    """n random tokens of the text encoder's width, no other conditioning."""
    return [[torch.randn(1, n, CONTEXT_DIM, generator=gen(seed)), {}]]


def has(module, *names):
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    return all(hasattr(mod, n) for n in names)


def fields_of(cls):
    return {f.name for f in dataclasses.fields(cls)}


def joint_expect(before_text=0, extra_text=0, image=16, before_image=0):
    """[before_text | extra text and the prompt's tokens | before_image | image] joint calls."""

    def expect(n_query, n_key, n_text):
        text_end = before_text + extra_text + n_text
        start = text_end + before_image
        if n_query != n_key or n_query < start + image:
            return None
        return slice(before_text, text_end), slice(start, start + image)

    return expect


def cross_expect(image):
    """A text cross-attention: all keys are the prompt's tokens, every query row (at least the latent's) changes."""

    def expect(n_query, n_key, n_text):
        if n_key != n_text or n_query < image:
            return None
        return slice(0, n_key), slice(0, n_query)

    return expect


def image_first_expect(image, between=0):
    """[image | between (reference latents) | the prompt's tokens] joint calls: the image rows change."""

    def expect(n_query, n_key, n_text):
        start = image + between
        if n_query != n_key or n_query != start + n_text:
            return None
        return slice(start, start + n_text), slice(0, image)

    return expect


def requires(*names):
    """A family this ComfyUI may not have: the case is None where comfy.model_base lacks any of ``names``."""

    def guarded(make):
        @functools.wraps(make)
        def make_if_present(*args, **kwargs):
            if not all(hasattr(comfy.model_base, name) for name in names):
                return None
            return make(*args, **kwargs)

        return make_if_present

    return guarded
