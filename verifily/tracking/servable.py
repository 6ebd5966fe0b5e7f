"""The pyfunc wrapper that makes a run's model/model.joblib servable from MLflow's registry."""

from __future__ import annotations

from mlflow.pyfunc.model import PythonModel


class JoblibModel(PythonModel):
    """Loads the joblib model a trainer returned and calls its `predict(inputs: list[str])`
    with the `input` column (or a plain list of inputs)."""

    def load_context(self, context) -> None:
        import joblib

        self.model = joblib.load(context.artifacts["model"])

    def predict(self, context, model_input, params=None):
        if hasattr(model_input, "columns"):
            inputs = [str(v) for v in model_input["input"].tolist()]
        else:
            inputs = [str(v) for v in model_input]
        return list(self.model.predict(inputs))
