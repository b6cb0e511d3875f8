"""The host toolchain's named choices, as plain data so that the command line offers them (as
Typer enums, :mod:`edge_lstm.options`) without importing ``converters`` or TensorFlow."""

FORMS = ("lean", "fused_reset", "fused", "loop", "unrolled")  # graph forms: converters.export
PREFERENCES = ("speed", "size")  # how convert picks a form and the recommended model
SCHEDULES = ("cosine", "plateau", "constant")  # learning-rate schedules: converters.train
