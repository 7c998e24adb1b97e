"""Stand-ins of the DiTs PLADIS reaches by object patches (PixArt, HunyuanDiT, ERNIE-Image): their attention
modules' interfaces (the projections the pack's twins read) and a model that chains a few blocks of one of them."""

import torch
import torch.nn.functional as F
from comfy_standins import JointBaseModelStandIn, ObjectPatchingModelPatcher
from torch import nn

DIM, HEADS = 32, 4


def heads(t):
    return t.view(t.shape[0], t.shape[1], HEADS, -1).transpose(1, 2)


def tokens(t):
    return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], -1)


class CrossAttentionStandIn(nn.Module):
    """PixArt's cross-attention interface: q_linear, kv_linear, proj; the batch's text flattened to one row."""

    def __init__(self):
        super().__init__()
        self.num_heads, self.head_dim = HEADS, DIM // HEADS
        self.q_linear, self.kv_linear, self.proj = nn.Linear(DIM, DIM), nn.Linear(DIM, 2 * DIM), nn.Linear(DIM, DIM)
        self.proj_drop = nn.Identity()

    def forward(self, x, cond, mask=None):
        k, v = self.kv_linear(cond).view(x.shape[0], -1, 2, DIM).unbind(2)
        return self.proj(tokens(F.scaled_dot_product_attention(heads(self.q_linear(x)), heads(k), heads(v))))


class HunyuanCrossAttentionStandIn(nn.Module):
    """HunyuanDiT's cross-attention interface: q_proj, kv_proj, q/k norms, out_proj; returns a 1-tuple."""

    def __init__(self):
        super().__init__()
        self.num_heads, self.head_dim = HEADS, DIM // HEADS
        self.q_proj, self.kv_proj, self.out_proj = nn.Linear(DIM, DIM), nn.Linear(DIM, 2 * DIM), nn.Linear(DIM, DIM)
        self.q_norm, self.k_norm = nn.LayerNorm(DIM // HEADS), nn.LayerNorm(DIM // HEADS)
        self.proj_drop = nn.Identity()

    def project(self, x, y):
        b = x.shape[0]
        q = self.q_norm(self.q_proj(x).view(b, -1, HEADS, DIM // HEADS)).transpose(1, 2)
        k, v = self.kv_proj(y).view(b, -1, 2, HEADS, DIM // HEADS).unbind(2)
        return q, self.k_norm(k).transpose(1, 2), v.transpose(1, 2)

    def forward(self, x, y, freqs_cis_img=None):
        return (self.out_proj(tokens(F.scaled_dot_product_attention(*self.project(x, y)))),)


class SelfAttentionStandIn(nn.Module):
    """ERNIE-Image's single-stream attention interface: to_q/to_k/to_v, RMS-like q/k norms, to_out[0]."""

    def __init__(self):
        super().__init__()
        self.heads, self.head_dim = HEADS, DIM // HEADS
        self.to_q, self.to_k, self.to_v = (nn.Linear(DIM, DIM, bias=False) for _ in range(3))
        self.norm_q, self.norm_k = nn.LayerNorm(DIM // HEADS), nn.LayerNorm(DIM // HEADS)
        self.to_out = nn.ModuleList([nn.Linear(DIM, DIM, bias=False)])

    def project(self, x):
        b, n, _ = x.shape
        q = self.norm_q(self.to_q(x).view(b, n, HEADS, -1)).transpose(1, 2)
        k = self.norm_k(self.to_k(x).view(b, n, HEADS, -1)).transpose(1, 2)
        return q, k, heads(self.to_v(x))

    def forward(self, x, attention_mask=None, image_rotary_emb=None):
        return self.to_out[0](tokens(F.scaled_dot_product_attention(*self.project(x))))


class Block(nn.Module):
    def __init__(self, name, module):
        super().__init__()
        setattr(self, name, module)


class DiTStandIn(nn.Module):
    """[blocks] each adding its attention's output: PixArt (cross, flattened text), HunyuanDiT (cross),
    ERNIE-Image (single stream [image ‖ text])."""

    def __init__(self, kind, depth=2):
        super().__init__()
        self.kind = kind
        self.img_in, self.txt_in = nn.Linear(4, DIM), nn.Linear(24, DIM)
        module = {"pixart": CrossAttentionStandIn, "hunyuan": HunyuanCrossAttentionStandIn}.get(kind)
        if kind == "ernie":
            self.layers = nn.ModuleList(Block("self_attention", SelfAttentionStandIn()) for _ in range(depth))
        else:
            name = "cross_attn" if kind == "pixart" else "attn2"
            self.blocks = nn.ModuleList(Block(name, module()) for _ in range(depth))

    def forward(self, x, context, transformer_options, **kwargs):
        image = self.img_in(x.flatten(2).transpose(1, 2))
        text = self.txt_in(context)
        if self.kind == "ernie":
            h = torch.cat([image, text], dim=1)
            for layer in self.layers:
                h = h + layer.self_attention(h)
            return h
        for block in self.blocks:
            if self.kind == "pixart":
                image = image + block.cross_attn(image, text.reshape(1, -1, DIM))
            else:
                image = image + block.attn2(image, text)[0]
        return image


NAMES = {"pixart": "PixArtMS", "hunyuan": "HunYuanDiT", "ernie": "ErnieImageModel"}


def make(kind, depth=2, seed=0):
    torch.manual_seed(seed)
    model = DiTStandIn(kind, depth)
    model.__class__ = type(NAMES[kind], (DiTStandIn,), {})
    return ObjectPatchingModelPatcher(JointBaseModelStandIn(model))
