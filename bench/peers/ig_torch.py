"""PyTorch CPU peer for `npm run bench -- ig`: knowledge-neuron integrated gradients as Captum's
LayerIntegratedGradients and the knowledge-neuron code of Dai et al. compute them, on our weights.

For one example and one (module, layer): the module's activation a (1, L, W) is taken from a forward
pass at batch 1; the m scaled copies alpha_k a (zero baseline, our quadrature nodes and weights) form
one batch (chunks of `internal_batch` rows, Captum's internal_batch_size); a forward hook replaces the
module's output by them while the whole model runs forward from the embeddings at that batch (the
tokens repeated, as Captum expands its inputs); torch.autograd.grad of sum_k f_k (f = the classifier's
probability of the true class) gives each copy's gradient; the attribution is a x sum_k w_k grad_k,
summed over token positions (every position scaled jointly, as ours by default). One difference in
the peer's favour: the batch-1 activations of all modules come from one forward pass per example,
where Captum runs one per (module, layer) call.

Usage: python3 bench/peers/ig_torch.py SPEC.json
SPEC names the weights (safetensors: our parameter names plus head.*), the shape, tokens, label,
alphas, weights, internal_batch, repeats and optionally `out` (a file for the attributions as float32,
in our flat layout: module-major, then layer, then neuron). Prints one JSON line: median seconds and
CPU seconds per example (after one warm-up example), the neuron count and how the process ran.
"""
import json
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn

from esm_torch import Esm
from peer_env import full_strength, read_safetensors

MODULES = ("query", "key", "value", "attn_out", "ffn_in", "ffn_out")
LINEARS = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.out_proj", "fc1": "fc1", "fc2": "fc2"}


class Classifier(nn.Module):
    """ESM-2 with model/head.ts's head: mean over residues (no <cls>/<eos>), dense, tanh, out, softmax."""

    def __init__(self, layers, d, h, classes):
        super().__init__()
        self.esm = Esm(layers, d, h)
        self.dense, self.out = nn.Linear(d, d), nn.Linear(d, classes)

    def forward(self, tokens):
        pooled = self.esm.encode(tokens)[:, 1:-1].mean(dim=1)
        return torch.softmax(self.out(torch.tanh(self.dense(pooled))), dim=-1)


def load(spec):
    """The classifier with our exported weights, frozen (IG differentiates activations only)."""
    w = read_safetensors(spec["weights"])
    model = Classifier(spec["layers"], spec["dim"], spec["heads"], spec["classes"])
    esm = model.esm
    state = {"esm.embed.weight": w["embed_tokens.weight"], "esm.ln.weight": w["emb_layer_norm_after.weight"],
             "esm.ln.bias": w["emb_layer_norm_after.bias"], "dense.weight": w["head.dense.weight"],
             "dense.bias": w["head.dense.bias"], "out.weight": w["head.out.weight"], "out.bias": w["head.out.bias"]}
    for i in range(spec["layers"]):
        pre = f"layers.{i}"
        for mine, theirs in LINEARS.items():
            for p in ("weight", "bias"):
                state[f"esm.layers.{i}.{mine}.{p}"] = w[f"{pre}.{theirs}.{p}"]
        for mine, theirs in (("ln1", "self_attn_layer_norm"), ("ln2", "final_layer_norm")):
            for p in ("weight", "bias"):
                state[f"esm.layers.{i}.{mine}.{p}"] = w[f"{pre}.{theirs}.{p}"]
        inv = w.get(f"{pre}.self_attn.rot_emb.inv_freq")
        if inv is not None:
            if i > 0 and not torch.equal(inv, esm.inv_freq):
                raise ValueError("layers with different rotary inv_freq are not supported by this peer")
            esm.inv_freq.copy_(inv)
    missing, _ = model.load_state_dict(state, strict=False)
    left = [n for n in missing if not n.startswith(("esm.dense", "esm.lm_ln", "esm.bias", "esm.inv_freq"))]  # LM head: unused
    if left:
        raise ValueError(f"weights missing for {left}")
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def hook_point(model, module, layer):
    """The nn.Module whose output is (module, layer)'s neurons."""
    l = model.esm.layers[layer]
    return {"query": l.q, "key": l.k, "value": l.v, "attn_out": l.o, "ffn_in": l.act, "ffn_out": l.fc2}[module]


def activations(model, tokens):
    """Every (module, layer)'s output (1, L, W) from one forward pass at batch 1."""
    acts, handles = {}, []
    for module in MODULES:
        for layer in range(len(model.esm.layers)):
            def keep(_m, _i, out, key=(module, layer)):
                acts[key] = out.detach()
            handles.append(hook_point(model, module, layer).register_forward_hook(keep))
    with torch.no_grad():
        model(tokens)
    for h in handles:
        h.remove()
    return acts


def layer_ig(model, tokens, label, point, a, alphas, weights, internal_batch):
    """IG of one (module, layer) with a zero baseline: (W) attributions summed over positions."""
    total = torch.zeros_like(a[0])  # (L, W): sum_k w_k grad_k
    for lo in range(0, len(alphas), internal_batch):
        al = alphas[lo:lo + internal_batch]
        scaled = (al[:, None, None] * a).requires_grad_(True)  # (M, L, W)
        handle = point.register_forward_hook(lambda _m, _i, _o: scaled)
        try:
            probs = model(tokens.expand(len(al), -1))  # (M, C): the whole model at batch M
        finally:
            handle.remove()
        (grad,) = torch.autograd.grad(probs[:, label].sum(), scaled)
        total += (grad * weights[lo:lo + internal_batch, None, None]).sum(dim=0)
    return (a[0] * total).sum(dim=0)


def example(model, spec, tokens, alphas, weights):
    """Flat attributions of every neuron for the example (our layout)."""
    acts = activations(model, tokens)
    rows = []
    for module in MODULES:
        for layer in range(spec["layers"]):
            point = hook_point(model, module, layer)
            rows.append(layer_ig(model, tokens, spec["label"], point, acts[(module, layer)], alphas, weights, spec["internal_batch"]))
    return torch.cat(rows)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    info = full_strength()
    model = load(spec)
    tokens = torch.tensor(spec["tokens"], dtype=torch.long)[None]
    alphas = torch.tensor(spec["alphas"], dtype=torch.float32)
    weights = torch.tensor(spec["weights_q"], dtype=torch.float32)
    scores = example(model, spec, tokens, alphas, weights)  # warm-up, and the scores the bench checks
    if spec.get("out"):
        with open(spec["out"], "wb") as f:
            f.write(struct.pack(f"<{scores.numel()}f", *scores.tolist()))
    times, cpus = [], []
    for _ in range(spec["repeats"]):
        t0, c0 = time.perf_counter(), time.process_time()
        example(model, spec, tokens, alphas, weights)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(json.dumps({"seconds": statistics.median(times) if times else None, "cpu": statistics.median(cpus) if cpus else None,
                      "neurons": scores.numel(), "internal_batch": spec["internal_batch"], "info": info}))


if __name__ == "__main__":
    main()
