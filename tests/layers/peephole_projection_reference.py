"""NumPy references for the peephole LSTM and the projection LSTM, from the papers.

Written from the equations of Gers, Schraudolph & Schmidhuber (2002) (peephole
weights on the cell state: `c_{t-1}` for the input and forget gates, `c_t` for
the output gate) and of Sak, Senior & Beaufays (2014) (`h_t = W_hr m_t`, the
projected cell output), one gate at a time, independently of the layers' code.
Weights are given per gate (`i`, `f`, `g`, `o`); `keras_weights` packs them in
our layout, `torch_weights_to_gates` unpacks `torch.nn.LSTM(proj_size=...)`'s.
"""

import numpy as np

GATES = ("i", "f", "g", "o")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def random_gates(rng, features, units, output_size, peephole, projection, scale=0.5):
    """Per-gate weights: `W[g] (features, units)`, `U[g] (output_size, units)`, `b[g] (units,)`,
    peephole vectors `p[g] (units,)` for `i, f, o`, projection `(units, output_size)`."""

    def draw(*shape):
        return rng.normal(0.0, scale, size=shape).astype(np.float64)

    return {
        "W": {g: draw(features, units) for g in GATES},
        "U": {g: draw(output_size, units) for g in GATES},
        "b": {g: draw(units) for g in GATES},
        "p": {g: draw(units) for g in "ifo"} if peephole else None,
        "projection": draw(units, output_size) if projection else None,
    }


def keras_weights(gates):
    """Our weight list: kernel, recurrent_kernel, bias, [projection_kernel], [peepholes i, f, o]."""
    weights = [
        np.concatenate([gates["W"][g] for g in GATES], axis=1),
        np.concatenate([gates["U"][g] for g in GATES], axis=1),
        np.concatenate([gates["b"][g] for g in GATES]),
    ]
    if gates["projection"] is not None:
        weights.append(gates["projection"])
    if gates["p"] is not None:
        weights += [gates["p"][g] for g in "ifo"]
    return [w.astype(np.float32) for w in weights]


def torch_weights_to_gates(module):
    """Per-gate weights of a one-layer `torch.nn.LSTM` (gate rows i, f, g, o; two biases)."""
    named = {name: p.detach().double().numpy() for name, p in module.named_parameters()}
    units = named["weight_ih_l0"].shape[0] // 4

    def rows(matrix, k):
        return matrix[k * units : (k + 1) * units]

    return {
        "W": {g: rows(named["weight_ih_l0"], k).T for k, g in enumerate(GATES)},
        "U": {g: rows(named["weight_hh_l0"], k).T for k, g in enumerate(GATES)},
        "b": {
            g: rows(named["bias_ih_l0"], k) + rows(named["bias_hh_l0"], k)
            for k, g in enumerate(GATES)
        },
        "p": None,
        "projection": named["weight_hr_l0"].T if "weight_hr_l0" in named else None,
    }


def run(gates, x, h0=None, c0=None, lengths=None):
    """The recurrence over `x (batch, timesteps, features)`, in float64.

    Rows with `lengths[b]` stop updating after that many steps (a masked step
    keeps the state and repeats the previous output, as Keras does).

    Returns:
        `(outputs (batch, timesteps, output_size), h_T, c_T)`.
    """
    batch, timesteps, _ = x.shape
    units = gates["b"]["i"].shape[0]
    output_size = gates["U"]["i"].shape[0]
    h = np.zeros((batch, output_size)) if h0 is None else np.asarray(h0, np.float64)
    c = np.zeros((batch, units)) if c0 is None else np.asarray(c0, np.float64)
    peep = gates["p"] or {g: np.zeros(units) for g in "ifo"}
    outputs = np.zeros((batch, timesteps, output_size))
    previous_output = np.zeros((batch, output_size))
    for t in range(timesteps):
        x_t = x[:, t].astype(np.float64)
        pre = {g: x_t @ gates["W"][g] + h @ gates["U"][g] + gates["b"][g] for g in GATES}
        i = sigmoid(pre["i"] + peep["i"] * c)
        f = sigmoid(pre["f"] + peep["f"] * c)
        c_new = f * c + i * np.tanh(pre["g"])
        o = sigmoid(pre["o"] + peep["o"] * c_new)
        m = o * np.tanh(c_new)
        h_new = m if gates["projection"] is None else m @ gates["projection"]
        active = np.ones(batch, bool) if lengths is None else t < np.asarray(lengths)
        h = np.where(active[:, None], h_new, h)
        c = np.where(active[:, None], c_new, c)
        previous_output = np.where(active[:, None], h_new, previous_output)
        outputs[:, t] = previous_output
    return outputs, h, c
