"""Loading `.keras` files that hold rnnkeras layers, in one call."""


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a `.keras` file that uses rnnkeras layers (`keras.saving.load_model` after registering them).

    Keras finds a third-party class named in a `.keras` file only once the package
    that registers it has been imported: `keras.saving.load_model` alone, in a
    process that never ran `import rnnkeras`, fails with a long generic
    `TypeError` ("Could not locate class 'LSTM'..."). This function registers
    rnnkeras' layers first, so it works in any process.

    Args:
        filepath: Path of the `.keras` file.
        custom_objects: Further custom classes or functions the file needs, as
            for `keras.saving.load_model`.
        compile: Whether to compile the model after loading.
        safe_mode: Keras' safe mode (no lambda deserialization). Default `True`.

    Returns:
        The `keras.Model`.

    Example:

    ```python
    import rnnkeras

    model = rnnkeras.load_model("models/model.keras")
    ```
    """
    import keras

    import rnnkeras.layers  # noqa: F401  (registers the classes with Keras)

    return keras.saving.load_model(
        filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
    )
