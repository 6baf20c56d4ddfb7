"""NumPy references for the layer-normalized cells, written from TensorFlow Addons' equations.

`tfa.rnn.LayerNormLSTMCell` (Ba, Kiros & Hinton, 2016, as TFA placed it):
    z = LN_k(x W) + LN_r(h U) + b;  i, f, g, o = split(z)
    c' = LN_c(σ(f) c + σ(i) tanh(g));  h' = σ(o) tanh(c')
`tfa.rnn.LayerNormSimpleRNNCell`:  h' = tanh(gamma * norm(x W + h U) + b)
Our GRU, derived the same way:  x̂ = LN_k(x W) + b, ĥ = LN_r(h U),
    z = σ(x̂_z + ĥ_z), r = σ(x̂_r + ĥ_r), n = tanh(x̂_n + r ĥ_n), h' = z h + (1 - z) n

Each `*_step` takes the weights as one list in TensorFlow Addons' order (its
cells' `get_weights()`: kernel, recurrent kernel, bias, then gamma and beta of
each normalization in creation order), which is the order our layers document.
Nothing here calls Keras; loop over time with `rnn_reference.run_loop`.
"""

import numpy as np

# TFA's weight names, in its cells' `weights` order (its own tests assert them).
TFA_LSTM_WEIGHTS = [
    "kernel",
    "recurrent_kernel",
    "bias",
    "kernel_norm/gamma",
    "kernel_norm/beta",
    "recurrent_norm/gamma",
    "recurrent_norm/beta",
    "state_norm/gamma",
    "state_norm/beta",
]
TFA_SIMPLE_RNN_WEIGHTS = ["kernel", "recurrent_kernel", "bias", "layernorm/gamma"]


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def layer_norm(v, gamma, beta, epsilon):
    """Standardize over the last axis (biased variance, epsilon under the root), scale, shift."""
    mean = v.mean(axis=-1, keepdims=True)
    variance = ((v - mean) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (v - mean) / np.sqrt(variance + epsilon) + beta


def lstm_step(weights, epsilon=1e-3):
    kernel, recurrent, bias, k_gamma, k_beta, r_gamma, r_beta, c_gamma, c_beta = weights

    def step(x_t, states):
        h, c = states
        z = (
            layer_norm(x_t @ kernel, k_gamma, k_beta, epsilon)
            + layer_norm(h @ recurrent, r_gamma, r_beta, epsilon)
            + bias
        )
        i, f, g, o = np.split(z, 4, axis=-1)
        c = layer_norm(sigmoid(f) * c + sigmoid(i) * np.tanh(g), c_gamma, c_beta, epsilon)
        h = sigmoid(o) * np.tanh(c)
        return h, [h, c]

    return step


def gru_step(weights, epsilon=1e-3):
    kernel, recurrent, bias, k_gamma, k_beta, r_gamma, r_beta = weights

    def step(x_t, states):
        (h,) = states
        x_update, x_reset, x_candidate = np.split(
            layer_norm(x_t @ kernel, k_gamma, k_beta, epsilon) + bias, 3, axis=-1
        )
        h_update, h_reset, h_candidate = np.split(
            layer_norm(h @ recurrent, r_gamma, r_beta, epsilon), 3, axis=-1
        )
        update = sigmoid(x_update + h_update)
        reset = sigmoid(x_reset + h_reset)
        candidate = np.tanh(x_candidate + reset * h_candidate)
        h = update * h + (1.0 - update) * candidate
        return h, [h]

    return step


def simple_rnn_step(weights, epsilon=1e-5):
    kernel, recurrent, bias, gamma = weights

    def step(x_t, states):
        h = np.tanh(layer_norm(x_t @ kernel + states[0] @ recurrent, gamma, 0.0, epsilon) + bias)
        return h, [h]

    return step


STEPS = {"lstm": lstm_step, "gru": gru_step, "simple_rnn": simple_rnn_step}
STATE_COUNT = {"lstm": 2, "gru": 1, "simple_rnn": 1}
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def weight_shapes(cell: str, features: int, units: int) -> list:
    """Shapes of the documented weight list of `cell` (`"lstm"`, `"gru"`, `"simple_rnn"`)."""
    width = GATES[cell] * units
    shapes = [(features, width), (units, width), (width,)]
    if cell == "simple_rnn":
        return [*shapes, (units,)]
    shapes += [(width,)] * 4
    return [*shapes, (units,), (units,)] if cell == "lstm" else shapes


def random_weights(cell: str, rng, features: int, units: int) -> list:
    """Random weights in the documented order: gains near one, shifts and the rest near zero."""
    shapes = weight_shapes(cell, features, units)
    weights = [rng.normal(0.0, 0.5, size=shape) for shape in shapes[:3]]
    # After the bias the list alternates gamma, beta (the Elman cell has one gamma).
    weights += [
        (1.0 if index % 2 == 0 else 0.0) + rng.normal(0.0, 0.3, size=shape)
        for index, shape in enumerate(shapes[3:])
    ]
    return [w.astype(np.float32) for w in weights]
