#!/usr/bin/python3
"""Writes the model zoo beyond torchvision's CNNs: small, randomly initialised
(seeded) PyTorch models of the kinds web apps run, exported to ONNX as real
exporters write them, into OUT (default build/zoo):

  bert.onnx     BERT-like encoder: int64 input_ids and attention_mask, token
                and position embeddings, 2 layers of multi-head attention
                (the mask added to the scores), GELU written with Erf,
                LayerNormalization; outputs last_hidden_state and a tanh pooler.
  gpt2.onnx     GPT-2-like decoder with a KV cache: int64 input_ids plus the
                past keys and values of each layer; causal mask from Range
                and comparisons, GPT-2's tanh GELU, Softmax over the last
                axis; outputs logits and the present keys and values.
  detector.onnx a YOLO/OCR-style detector: Conv + BatchNorm + LeakyRelu
                blocks, a Max with a skip path, nearest Upsample, Concat,
                Sigmoid heads.
  speech.onnx   a speech-embedding model: Conv1d front end, a bidirectional
                GRU, mean over time, Linear and L2 normalization.

The tests compare Kiln with onnxruntime-node on them (tests/js/onnx_zoo.test.mjs);
bench/run_zoo.mjs times both. Run with Debian's python3-torch:
    /usr/bin/python3 scripts/make_zoo_models.py [OUT]
"""
import math
import os
import sys

import torch
import torch.nn as nn

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "zoo")
VOCAB, HIDDEN, HEADS, LAYERS = 1000, 128, 4, 2


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(HIDDEN, HIDDEN) for _ in range(4))

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, HEADS, HIDDEN // HEADS).transpose(1, 2)

    def forward(self, x, bias, past=None):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HIDDEN // HEADS) + bias
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        b, h, s, d = ctx.shape
        return self.o(ctx.transpose(1, 2).reshape(b, s, h * d)), (k, v)


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn, self.ln1, self.ln2 = Attention(), nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN)
        self.ff = nn.Sequential(nn.Linear(HIDDEN, 4 * HIDDEN), nn.GELU(), nn.Linear(4 * HIDDEN, HIDDEN))

    def forward(self, x, bias):
        x = self.ln1(x + self.attn(x, bias)[0])
        return self.ln2(x + self.ff(x))


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(64, HIDDEN)
        self.ln = nn.LayerNorm(HIDDEN)
        self.layers = nn.ModuleList(BertLayer() for _ in range(LAYERS))
        self.pool = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.ln(self.tok(input_ids) + self.pos(positions))
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x, torch.tanh(self.pool(x[:, 0]))


def gelu_new(x):  # GPT-2's tanh approximation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Gpt2Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2, self.attn = nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN), Attention()
        self.fc, self.proj = nn.Linear(HIDDEN, 4 * HIDDEN), nn.Linear(4 * HIDDEN, HIDDEN)

    def forward(self, x, bias, past):
        a, present = self.attn(self.ln1(x), bias, past)
        x = x + a
        return x + self.proj(gelu_new(self.fc(self.ln2(x)))), present


class Gpt2(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(128, HIDDEN)
        self.blocks = nn.ModuleList(Gpt2Block() for _ in range(LAYERS))
        self.ln = nn.LayerNorm(HIDDEN)

    def forward(self, input_ids, *past):
        past_len, seq = past[0].shape[2], input_ids.shape[1]
        positions = torch.arange(past_len, past_len + seq, device=input_ids.device).unsqueeze(0)
        x = self.tok(input_ids) + self.pos(positions)
        # Query i (at position past_len + i) sees keys 0 .. past_len + i.
        keys = torch.arange(past_len + seq, device=input_ids.device)[None, :]
        queries = torch.arange(past_len, past_len + seq, device=input_ids.device)[:, None]
        bias = torch.where(keys <= queries, torch.tensor(0.0), torch.tensor(-1e9))
        presents = []
        for i, block in enumerate(self.blocks):
            x, (k, v) = block(x, bias, (past[2 * i], past[2 * i + 1]))
            presents += [k, v]
        return (torch.matmul(self.ln(x), self.tok.weight.t()), *presents)


class Detector(nn.Module):
    def __init__(self):
        super().__init__()

        def block(cin, cout, stride=1):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.1))

        self.stem, self.down1, self.down2 = block(3, 16, 2), block(16, 32, 2), block(32, 64, 2)
        self.skip = nn.Conv2d(64, 64, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.merge = block(96, 32)
        self.boxes, self.scores = nn.Conv2d(32, 4, 1), nn.Conv2d(32, 1, 1)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)

    def forward(self, x):
        a = self.down1(self.stem(x))
        b = self.down2(a)
        b = torch.max(b, self.skip(b))
        y = self.merge(torch.cat([a, self.up(b)], dim=1))
        return torch.sigmoid(self.scores(y)), self.boxes(y)


class Speech(nn.Module):
    def __init__(self):
        super().__init__()
        self.front = nn.Sequential(nn.Conv1d(40, 64, 5, padding=2), nn.ReLU(), nn.Conv1d(64, 64, 3, stride=2, padding=1), nn.ReLU())
        self.gru = nn.GRU(64, 48, batch_first=True, bidirectional=True)
        self.out = nn.Linear(96, 32)

    def forward(self, features):  # [batch, 40 mel bands, frames]
        h = self.front(features).transpose(1, 2)
        h, _ = self.gru(h)
        e = self.out(h.mean(dim=1))
        return e / torch.sqrt((e * e).sum(dim=1, keepdim=True) + 1e-6)


def export(net, args, name, inputs, outputs, dynamic):
    net.eval()
    path = os.path.join(OUT, name + ".onnx")
    with torch.no_grad():
        torch.onnx.export(net, args, path, input_names=inputs, output_names=outputs, opset_version=14, dynamic_axes=dynamic)
    print("wrote", path)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    ids, mask = torch.randint(0, VOCAB, (2, 16)), torch.ones(2, 16, dtype=torch.int64)
    export(Bert(), (ids, mask), "bert", ["input_ids", "attention_mask"], ["last_hidden_state", "pooler_output"],
           {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
            "last_hidden_state": {0: "batch", 1: "seq"}, "pooler_output": {0: "batch"}})
    past_names = [f"past_{kind}_{i}" for i in range(LAYERS) for kind in ("key", "value")]
    present_names = [f"present_{kind}_{i}" for i in range(LAYERS) for kind in ("key", "value")]
    past = tuple(torch.randn(1, HEADS, 5, HIDDEN // HEADS) for _ in past_names)
    export(Gpt2(), (torch.randint(0, VOCAB, (1, 3)), *past), "gpt2", ["input_ids", *past_names], ["logits", *present_names],
           {"input_ids": {0: "batch", 1: "seq"}, **{n: {0: "batch", 2: "past"} for n in past_names},
            "logits": {0: "batch", 1: "seq"}, **{n: {0: "batch", 2: "total"} for n in present_names}})
    export(Detector(), (torch.randn(1, 3, 96, 128),), "detector", ["image"], ["scores", "boxes"],
           {"image": {0: "batch", 2: "height", 3: "width"}})
    export(Speech(), (torch.randn(1, 40, 100),), "speech", ["features"], ["embedding"], {"features": {0: "batch", 2: "frames"}})


if __name__ == "__main__":
    main()
