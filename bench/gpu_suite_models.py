"""The GPU suite's models: minimal SDXL-like UNet and Flux-like DiT with switchable PLADIS attention."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from gpu_suite_cases import ALPHA, SCALE, sdpa

from pladis_core.cross_attention import pladis_attention
from pladis_core.joint_attention import pladis_joint_attention


class PatchableCrossAttention(nn.Module):
    """Cross-attention (heads of 64 channels); ``pladis`` switches SDPA for PLADIS attention."""

    pladis = False

    def __init__(self, channels, context_dim, head_dim=64):
        super().__init__()
        self.heads = channels // head_dim
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(context_dim, channels, bias=False)
        self.to_v = nn.Linear(context_dim, channels, bias=False)
        self.to_out = nn.Linear(channels, channels)

    def forward(self, x, context):
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        if PatchableCrossAttention.pladis:
            repeats = torch.ones(x.shape[0], device=x.device)
            out = pladis_attention(q, k, v, self.heads, ALPHA, SCALE, key_repeats=repeats)
        else:
            out = sdpa(q, k, v, self.heads)
        return self.to_out(out)


class SelfAttention(nn.Module):
    def __init__(self, channels, head_dim=64):
        super().__init__()
        self.heads = channels // head_dim
        self.qkv = nn.Linear(channels, 3 * channels, bias=False)
        self.to_out = nn.Linear(channels, channels)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return self.to_out(sdpa(q, k, v, self.heads))


class TransformerBlock(nn.Module):
    """SD's BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward (4×)."""

    def __init__(self, channels, context_dim):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(channels) for _ in range(3))
        self.attn1 = SelfAttention(channels)
        self.attn2 = PatchableCrossAttention(channels, context_dim)
        self.ff_in = nn.Linear(channels, 8 * channels)
        self.ff_out = nn.Linear(4 * channels, channels)

    def forward(self, x, context):
        x = x + self.attn1(self.norms[0](x))
        x = x + self.attn2(self.norms[1](x), context)
        hidden, gate = self.ff_in(self.norms[2](x)).chunk(2, dim=-1)
        return x + self.ff_out(hidden * F.gelu(gate))


class SpatialTransformer(nn.Module):
    def __init__(self, channels, depth, context_dim):
        super().__init__()
        self.norm = nn.GroupNorm(32, channels)
        self.proj_in = nn.Linear(channels, channels)
        self.blocks = nn.ModuleList(TransformerBlock(channels, context_dim) for _ in range(depth))
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, context):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x).flatten(2).transpose(1, 2))
        for block in self.blocks:
            y = block(y, context)
        return x + self.proj_out(y).transpose(1, 2).reshape(b, c, h, w)


class ResBlock(nn.Module):
    def __init__(self, channels_in, channels_out, embed_dim):
        super().__init__()
        self.in_layers = nn.Sequential(
            nn.GroupNorm(32, channels_in), nn.SiLU(), nn.Conv2d(channels_in, channels_out, 3, padding=1)
        )
        self.embed = nn.Linear(embed_dim, channels_out)
        self.out_layers = nn.Sequential(
            nn.GroupNorm(32, channels_out), nn.SiLU(), nn.Conv2d(channels_out, channels_out, 3, padding=1)
        )
        self.skip = nn.Identity() if channels_in == channels_out else nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x, embed):
        h = self.in_layers(x) + self.embed(F.silu(embed))[:, :, None, None]
        return self.skip(x) + self.out_layers(h)


class UNetLike(nn.Module):
    """SDXL's UNet layout: 3 levels, 2 res blocks down / 3 up, transformer depth per level, middle block."""

    def __init__(self, channels=320, mult=(1, 2, 4), depths=(0, 2, 10), context_dim=2048, adm_dim=2816):
        super().__init__()
        embed_dim = 4 * channels
        self.channels = channels
        self.time_embed = nn.Sequential(nn.Linear(channels, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))
        self.label_embed = nn.Sequential(nn.Linear(adm_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))
        self.conv_in = nn.Conv2d(4, channels, 3, padding=1)
        self.down, skips, ch = nn.ModuleList(), [channels], channels
        for level, (m, depth) in enumerate(zip(mult, depths, strict=True)):
            for _ in range(2):
                self.down.append(self._stage(ch, channels * m, depth, embed_dim, context_dim))
                ch = channels * m
                skips.append(ch)
            if level < len(mult) - 1:
                self.down.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                skips.append(ch)
        self.middle = nn.ModuleList(
            [ResBlock(ch, ch, embed_dim), SpatialTransformer(ch, depths[-1], context_dim), ResBlock(ch, ch, embed_dim)]
        )
        self.up = nn.ModuleList()
        for level in reversed(range(len(mult))):
            for i in range(3):
                self.up.append(
                    self._stage(ch + skips.pop(), channels * mult[level], depths[level], embed_dim, context_dim)
                )
                ch = channels * mult[level]
                if level > 0 and i == 2:
                    self.up.append(nn.Upsample(scale_factor=2.0, mode="nearest"))
                    self.up.append(nn.Conv2d(ch, ch, 3, padding=1))
        self.out = nn.Sequential(nn.GroupNorm(32, ch), nn.SiLU(), nn.Conv2d(ch, 4, 3, padding=1))

    @staticmethod
    def _stage(channels_in, channels_out, depth, embed_dim, context_dim):
        layers = [ResBlock(channels_in, channels_out, embed_dim)]
        if depth:
            layers.append(SpatialTransformer(channels_out, depth, context_dim))
        return nn.ModuleList(layers)

    def _run(self, layer, x, embed, context):
        if isinstance(layer, nn.ModuleList):
            for sub in layer:
                x = self._run(sub, x, embed, context)
            return x
        if isinstance(layer, ResBlock):
            return layer(x, embed)
        if isinstance(layer, SpatialTransformer):
            return layer(x, context)
        return layer(x)

    def forward(self, x, timesteps, context, label):
        half = self.channels // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=x.device) / half)
        t = timesteps[:, None].float() * freqs[None]
        embed = self.time_embed(torch.cat([t.cos(), t.sin()], dim=-1).to(x.dtype)) + self.label_embed(label)
        h, skips = self.conv_in(x), []
        skips.append(h)
        for layer in self.down:
            h = self._run(layer, h, embed, context)
            skips.append(h)
        h = self._run(self.middle, h, embed, context)
        for layer in self.up:
            if isinstance(layer, nn.ModuleList):
                h = torch.cat([h, skips.pop()], dim=1)
            h = self._run(layer, h, embed, context)
        return self.out(h)


class JointAttention:
    pladis = False
    text_tokens = 0


def joint_attention(q, k, v):
    if JointAttention.pladis:
        text = slice(0, JointAttention.text_tokens)
        image = slice(JointAttention.text_tokens, q.shape[2])
        return pladis_joint_attention(q, k, v, text, image, ALPHA, SCALE)
    return F.scaled_dot_product_attention(q, k, v)


class DoubleBlock(nn.Module):
    """Flux double-stream block: per-stream modulation, qkv and MLP; one joint attention over both."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.mod = nn.Linear(hidden, 12 * hidden)
        self.img_qkv, self.txt_qkv = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, 3 * hidden)
        self.img_proj, self.txt_proj = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.img_mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU("tanh"), nn.Linear(4 * hidden, hidden))
        self.txt_mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU("tanh"), nn.Linear(4 * hidden, hidden))

    def forward(self, img, txt, vec):
        m = self.mod(F.silu(vec))[:, None].chunk(12, dim=-1)
        n_txt = txt.shape[1]
        img_in = F.layer_norm(img, img.shape[-1:]) * (1 + m[1]) + m[0]
        txt_in = F.layer_norm(txt, txt.shape[-1:]) * (1 + m[7]) + m[6]
        qkv = torch.cat([self.txt_qkv(txt_in), self.img_qkv(img_in)], dim=1)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
        q, k = F.rms_norm(q, q.shape[-1:]), F.rms_norm(k, k.shape[-1:])
        attn = joint_attention(q, k, v).transpose(1, 2).flatten(2)
        img = img + m[2] * self.img_proj(attn[:, n_txt:])
        txt = txt + m[8] * self.txt_proj(attn[:, :n_txt])
        img = img + m[5] * self.img_mlp(F.layer_norm(img, img.shape[-1:]) * (1 + m[4]) + m[3])
        txt = txt + m[11] * self.txt_mlp(F.layer_norm(txt, txt.shape[-1:]) * (1 + m[10]) + m[9])
        return img, txt


class SingleBlock(nn.Module):
    """Flux single-stream block: fused qkv + MLP input, one joint attention, fused output projection."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.hidden = heads, hidden
        self.mod = nn.Linear(hidden, 3 * hidden)
        self.linear1 = nn.Linear(hidden, 7 * hidden)
        self.linear2 = nn.Linear(5 * hidden, hidden)

    def forward(self, x, vec):
        shift, scale, gate = self.mod(F.silu(vec))[:, None].chunk(3, dim=-1)
        qkv, mlp = self.linear1(F.layer_norm(x, x.shape[-1:]) * (1 + scale) + shift).split(
            [3 * self.hidden, 4 * self.hidden], -1
        )
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
        q, k = F.rms_norm(q, q.shape[-1:]), F.rms_norm(k, k.shape[-1:])
        attn = joint_attention(q, k, v).transpose(1, 2).flatten(2)
        return x + gate * self.linear2(torch.cat([attn, F.gelu(mlp, approximate="tanh")], dim=-1))


class DiTLike(nn.Module):
    def __init__(self, hidden=3072, heads=24, double=2, single=4, in_channels=64, text_dim=4096):
        super().__init__()
        self.img_in, self.txt_in = nn.Linear(in_channels, hidden), nn.Linear(text_dim, hidden)
        self.vec_in = nn.Sequential(nn.Linear(256, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.double_blocks = nn.ModuleList(DoubleBlock(hidden, heads) for _ in range(double))
        self.single_blocks = nn.ModuleList(SingleBlock(hidden, heads) for _ in range(single))
        self.out = nn.Linear(hidden, in_channels)

    def forward(self, img, txt, vec):
        img, txt, vec = self.img_in(img), self.txt_in(txt), self.vec_in(vec)
        for block in self.double_blocks:
            img, txt = block(img, txt, vec)
        x = torch.cat([txt, img], dim=1)
        for block in self.single_blocks:
            x = block(x, vec)
        return self.out(x[:, txt.shape[1] :])
