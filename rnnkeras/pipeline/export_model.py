"""`rnnkeras export-model`: export any saved model file, outside the pipeline.

`rnnkeras export` is the pipeline's export stage (paths from `params.yaml`);
`export-model` takes a `.keras` file and options on the command line:

```shell
rnnkeras export-model models/model.keras --data data/validated \\
    --quantize none float16 dynamic int8 --right-padded --out exports/model
```

It writes `<out>/saved_model/<version>/`, `<out>/model_<quantize>.tflite`
and, with `--data`, the report `<out>/export.json` (+ `.md`), whose table
it prints. `<out>` defaults to `exports/<model file name>`. It refuses to
write into an output of the DVC pipeline it lies in (`export/` is the export
stage's): DVC would then see the stage as modified and `dvc checkout` would
refuse to restore it. `--force` writes there anyway.

The file may come from any Keras backend: the command loads it under TensorFlow,
which the export traces with (`KERAS_BACKEND=jax rnnkeras export-model m.keras`
works too).
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

DESCRIPTION = """Exports a .keras model outside the pipeline (`rnnkeras export` is the pipeline's
stage). Writes <out>/saved_model/<version>/ and <out>/model_<quantize>.tflite and, with
--data, checks every file against the Keras model in <out>/export.json (+ .md).
Refuses to write into an output of the project's DVC pipeline (such as export/)
unless --force is given. The model may have been saved under any Keras backend:
it is loaded and exported under TensorFlow, whatever KERAS_BACKEND says.

example:
  rnnkeras export-model models/model.keras --data data/validated \\
      --quantize none float16 dynamic int8 --right-padded --out exports/model
"""


def add_command(subparsers) -> None:
    """Registers `export-model` on the `rnnkeras` command."""
    parser = subparsers.add_parser(
        "export-model",
        help="export a .keras model to a SavedModel and builtins-only TFLite files, with a parity report",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="the .keras model file")
    parser.add_argument(
        "--out",
        default=None,
        help="output folder (default: exports/<model file name without suffix>)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write even into an output of the project's DVC pipeline (DVC then sees it modified)",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="held-out data: a folder with test.npz (report) and train.npz (int8 "
        "calibration), or one .npz with x (and y) used for both",
    )
    parser.add_argument(
        "--sequence-length",
        type=int,
        default=None,
        help="time steps (needed for an open time axis)",
    )
    parser.add_argument("--batch-size", type=int, default=1, help="fixed TFLite batch (default: 1)")
    parser.add_argument(
        "--quantize",
        nargs="+",
        default=["none"],
        choices=["none", "float16", "dynamic", "int8"],
        help="TFLite files to write (default: none = float32)",
    )
    parser.add_argument(
        "--form",
        default="auto",
        choices=["auto", "fused", "while", "unrolled"],
        help="see export_tflite",
    )
    parser.add_argument(
        "--right-padded",
        action="store_true",
        help="masked inputs are padded at the end, so masked LSTMs can be fused",
    )
    parser.add_argument("--no-saved-model", action="store_true", help="skip the SavedModel")
    parser.set_defaults(run=run)


def _load_data(data: str | None) -> tuple[dict | None, dict | None]:
    if data is None:
        return None, None
    path = Path(data)
    if path.is_dir():
        from rnnkeras.pipeline.data import load_arrays

        heldout = load_arrays(path, "test")
        calibration = load_arrays(path, "train") if (path / "train.npz").is_file() else heldout
        return heldout, calibration
    if path.suffix != ".npz" or not path.is_file():
        raise ValueError(
            f"export-model expects --data to be a folder with test.npz or an .npz file. Received: --data={data}"
        )
    with np.load(path) as arrays:
        loaded = {name: arrays[name] for name in arrays.files}
    if "x" not in loaded:
        raise ValueError(
            f"export-model expects an array named x in {path}. Received: arrays={sorted(loaded)}"
        )
    return loaded, loaded


def _written_paths(args: argparse.Namespace, out: Path) -> list[Path]:
    names = ["float32" if mode == "none" else mode for mode in args.quantize]
    paths = [out / f"model_{name}.tflite" for name in names]
    if not args.no_saved_model:
        paths.append(out / "saved_model")
    if args.data is not None:
        paths += [out / "export.json", out / "export.md"]
    return paths


def output_folder(args: argparse.Namespace) -> Path:
    """`--out` (or its default), checked against the outputs of the DVC pipeline it lies in.

    Raises:
        ValueError: If writing there would change a pipeline output and
            `--force` was not given.
    """
    from rnnkeras.pipeline.dvc_outputs import overlapping_outputs

    out = Path(args.out) if args.out is not None else Path("exports") / Path(args.model).stem
    overlapping = overlapping_outputs(_written_paths(args, out))
    if overlapping and not args.force:
        raise ValueError(
            f"export-model would write into {', '.join(overlapping)}, an output of the "
            "project's DVC pipeline (dvc.yaml): DVC would then see that stage as modified "
            "and `dvc checkout` would refuse to restore it. Choose another folder (the "
            "default is exports/<model name>), or pass --force to write there anyway. "
            f"Received: --out={args.out}"
        )
    return out


def _on_tensorflow() -> bool:
    """Whether Keras runs on TensorFlow here, choosing it when Keras is not imported yet."""
    if "keras" not in sys.modules:
        # This is the command's own process, so the backend the export needs can still be
        # chosen, whatever KERAS_BACKEND or ~/.keras/keras.json say.
        os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras

    return keras.backend.backend() == "tensorflow"


def run(args: argparse.Namespace) -> int:
    """Exports `args.model` as asked; returns the exit code (1 when a threshold is missed).

    The export runs under TensorFlow: in this process when Keras is not imported yet or runs
    on TensorFlow, otherwise in a TensorFlow-backend process
    (`rnnkeras.export.tensorflow_process`).
    """
    if not _on_tensorflow():
        from rnnkeras.export.tensorflow_process import call_in_tensorflow_process

        return call_in_tensorflow_process(run, {"args": args})
    import keras

    from rnnkeras.export import export_saved_model, export_tflite, write_export_report

    model = keras.saving.load_model(args.model, compile=False)
    heldout, calibration = _load_data(args.data)
    out = output_folder(args)
    saved = None if args.no_saved_model else export_saved_model(model, out / "saved_model")
    exports = []
    for mode in args.quantize:
        name = "float32" if mode == "none" else mode
        export = export_tflite(
            model,
            out / f"model_{name}.tflite",
            sequence_length=args.sequence_length,
            batch_size=args.batch_size,
            quantize=mode,
            representative_data=None if calibration is None else calibration["x"],
            form=args.form,
            right_padded=args.right_padded,
        )
        exports.append(export)
        forms = ", ".join(f"{path}: {form.form}" for path, form in export.forms.items())
        print(f"{export.path}: {export.size_bytes / 1024:.1f} KB; {forms}")
    if saved is not None:
        print(f"{saved.path}: SavedModel version {saved.version}")
    if heldout is None:
        return 0
    report = write_export_report(
        model,
        out / "export.json",
        heldout["x"],
        heldout.get("y"),
        saved_model=saved,
        tflite=exports,
        strict=False,
    )
    print((out / "export.md").read_text())
    return 0 if report["passed"] else 1
