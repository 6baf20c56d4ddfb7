"""The layer-normalized layers export to builtins-only TFLite and pass the parity report.

One model holds all three (one conversion, the costly part): a masked, right-padded
`StackedRNN` whose GRU is unrolled, so both loop forms are exercised. None may become
the fused `UNIDIRECTIONAL_SEQUENCE_LSTM` op: its layer norm is per gate on the sum of
both projections (`docs/cells.md`), not TensorFlow Addons' variant.
"""

import pytest

from rnnkeras import layers as rl
from rnnkeras.export import export_tflite, write_export_report
from tests.export import export_models
from tests.layers import harness


@pytest.mark.slow
def test_all_three_export_builtins_only_with_parity(tmp_path, rng):
    stack = rl.StackedRNN(
        [
            rl.LayerNormLSTM(5, name="ln_lstm"),
            rl.LayerNormGRU(5, unroll=True, name="ln_gru"),
            rl.LayerNormSimpleRNN(5, name="ln_simple_rnn"),
        ],
        name="stack",
    )
    model = export_models.classifier(stack, masked=True)
    harness.randomize(model, rng, scale=0.5)
    export = export_tflite(
        model,
        tmp_path / "layer_norm.tflite",
        sequence_length=export_models.TIMESTEPS,
        right_padded=True,
    )
    forms = {path.split("/")[-1]: layer.form for path, layer in export.forms.items()}
    assert forms == {"ln_lstm": "while", "ln_gru": "unrolled", "ln_simple_rnn": "while"}
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in export.operators
    assert "WHILE" in export.operators
    report = write_export_report(
        model,
        tmp_path / "export.json",
        export_models.padded_inputs(),
        tflite=[export],
        latency_runs=2,
    )
    entry = report["tflite"][0]
    assert entry["builtins_only"] and entry["parity"]["passed"], entry
    assert entry["parity"]["max_abs_diff"] <= 1e-5
