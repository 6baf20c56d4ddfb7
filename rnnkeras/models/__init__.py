"""Architectures built from `rnnkeras.layers`: the classic RNN shapes as ordinary Keras models.

- many-to-one: `sequence_classifier`, `sequence_regressor`;
- many-to-many synchronized: `sequence_tagger`;
- one-to-many: `sequence_generator`;
- many-to-many delayed (encoder–decoder): `seq2seq`, with Luong or Bahdanau
  attention (`attention_weights_model` for plotting);
- next-token prediction: `language_model`;
- `inference`: one-step decoders for generation; `decoding`: greedy, beam
  search and sampling over any one-step decoder; `greedy_saved_model`: a
  SavedModel that runs the whole greedy decode in its graph (TensorFlow).

>>> import numpy as np
>>> from rnnkeras.models import sequence_tagger
>>> tuple(sequence_tagger(3, features=2, units=4)(np.ones((1, 5, 2), "float32")).shape)
(1, 5, 3)
"""

from rnnkeras.models.generator import sequence_generator
from rnnkeras.models.language_model import language_model
from rnnkeras.models.many_to_one import sequence_classifier, sequence_regressor
from rnnkeras.models.recurrent_stack import recurrent_stack
from rnnkeras.models.seq2seq import attention_weights_model, seq2seq
from rnnkeras.models.tagger import sequence_tagger

__all__ = [
    "attention_weights_model",
    "language_model",
    "recurrent_stack",
    "seq2seq",
    "sequence_classifier",
    "sequence_generator",
    "sequence_regressor",
    "sequence_tagger",
]
