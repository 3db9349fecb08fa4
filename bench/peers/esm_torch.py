"""PyTorch CPU peer for `npm run bench -- esm` and `-- train`: an ESM-2-architecture model
(pre-LayerNorm, rotary, exact GELU, LM head; random weights) timed on the same batch shape.
ig_torch.py reuses the model (with weights exported from ours) for the integrated-gradients peer.

Usage: python3 bench/peers/esm_torch.py {forward|train} LAYERS DIM HEADS BATCH LENGTH REPEATS
Runs at full strength (peer_env.py: every core, native BLAS kernels) and prints one JSON line:
tokens/s and tokens per CPU-second of this process (medians of REPEATS timed runs after one
warm-up; the second shows how much of the rate a loaded machine took away) and how it ran.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from peer_env import full_strength


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Layer(nn.Module):
    """fair-esm's TransformerLayer. Neuron modules (hook points, as model/esm.ts names them): q (query,
    before the Dh^-0.5 scaling), k (key), v (value), o (attn_out), act (ffn_in, after the GELU), fc2 (ffn_out)."""

    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.act = nn.GELU()

    def forward(self, x, cos, sin, key_pad):
        b, l, d = x.shape
        dh = d // self.h
        y = self.ln1(x)
        q, k, v = self.q(y) * dh ** -0.5, self.k(y), self.v(y)
        b = max(q.shape[0], k.shape[0], v.shape[0])  # a hook may replace one module by a wider batch
        split = lambda t: t.expand(b, l, d).reshape(b, l, self.h, dh).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        s = q @ k.transpose(-1, -2)
        if key_pad is not None:
            s = s.masked_fill(key_pad[:, None, None, :], float("-inf"))
        a = torch.softmax(s, dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, l, d))
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


class Esm(nn.Module):
    """ESM-2: embeddings (x 0.88, token dropout's inference rescale), layers, emb_layer_norm_after, LM head."""

    def __init__(self, layers, d, h, vocab=33):
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=1)
        self.layers = nn.ModuleList(Layer(d, h) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.dense, self.lm_ln = nn.Linear(d, d), nn.LayerNorm(d)
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.dh = d // h
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, self.dh, 2).float() / self.dh)))

    def encode(self, tokens):
        """Final hidden state (B, L, D) after emb_layer_norm_after."""
        l = tokens.shape[1]
        f = torch.einsum("i,j->ij", torch.arange(l).float(), self.inv_freq)
        emb = torch.cat((f, f), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        key_pad = tokens.eq(1)
        key_pad = key_pad if bool(key_pad.any()) else None
        x = self.embed(tokens) * 0.88
        for layer in self.layers:
            x = layer(x, cos, sin, key_pad)
        return self.ln(x)

    def forward(self, tokens):
        x = self.lm_ln(F.gelu(self.dense(self.encode(tokens))))
        return x @ self.embed.weight.t() + self.bias


def main():
    mode, layers, d, h, b, l, repeats = sys.argv[1], *map(int, sys.argv[2:8])
    info = full_strength()
    torch.manual_seed(0)
    model = Esm(layers, d, h)
    tokens = torch.randint(4, 24, (b, l))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        if mode == "forward":
            with torch.no_grad():
                model(tokens)
        else:
            logits = model(tokens)
            loss = F.cross_entropy(logits.view(-1, 33), tokens.view(-1))
            loss.backward()
            opt.step()
            opt.zero_grad()

    step()
    times, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(json.dumps({"rate": b * l / statistics.median(times), "per_cpu": b * l / statistics.median(cpus), "info": info}))


if __name__ == "__main__":
    main()
