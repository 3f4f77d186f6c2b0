"""Each stage's recipe is written once: the notebooks' settings and final models agree with mnist_lab.recipes."""

import ast
from pathlib import Path

import keras
import numpy as np
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from mnist_lab import models, recipes
from mnist_lab.tooling import lessons, runner

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {p.name[:2]: p for p in lessons.notebooks(ROOT / "notebooks")}
RECIPES = {recipe.name: recipe for recipe in recipes.STAGES}

# notebook -> (recipe, {Parameters name: the recipe's setting}) for every recipe a notebook uses
SETTINGS = {
    "02": [("logistic regression", {"EPOCHS": "epochs", "BATCH_SIZE": "batch_size", "SEED": "seed"})],
    "03": [("dense 256-64, Adam", {"ADAM_EPOCHS": "epochs", "BATCH_SIZE": "batch_size", "SEED": "seed"})],
    "04": [("dense 200-60, lr decay", {"EPOCHS": "epochs", "BATCH_SIZE": "batch_size", "SEED": "seed",
                                       "INITIAL_LEARNING_RATE": "learning_rate", "DECAY": "decay"})],
    "05": [("dense 200-100-60, dropout", {"EPOCHS": "epochs", "BATCH_SIZE": "batch_size", "SEED": "seed",
                                          "INITIAL_LEARNING_RATE": "learning_rate", "DECAY": "decay",
                                          "DROPOUT": "dropout"})],
    "06": [("conv/pool pairs + dense", {"EPOCHS": "epochs", "BATCH_SIZE": "batch_size", "SEED": "seed"})],
    "07": [("strided convnet", {"EPOCHS": "epochs", "BATCH_SIZE": "batch_size", "SEED": "seed",
                                "INITIAL_LEARNING_RATE": "learning_rate", "DECAY": "decay"}),
           ("strided convnet + dropout", {"EPOCHS": "epochs", "BATCH_SIZE": "batch_size", "SEED": "seed",
                                          "INITIAL_LEARNING_RATE": "learning_rate", "DECAY": "decay",
                                          "DROPOUT": "dropout"})],
    "08": [("batch-norm convnet", {"EPOCHS": "epochs", "BATCH_SIZE": "batch_size", "SEED": "seed",
                                   "INITIAL_LEARNING_RATE": "learning_rate", "DECAY": "decay",
                                   "DROPOUT": "dropout"})],
    "09": [("augmented deeper BN convnet", {"EPOCHS": "epochs", "BATCH_SIZE": "batch_size",
                                            "SPLIT_SEED": "seed", "FIRST_SEED": "seed",
                                            "INITIAL_LEARNING_RATE": "learning_rate", "DECAY": "decay",
                                            "DROPOUT": "dropout", "BN_MOMENTUM": "momentum"})],
    "10": [("batch-norm convnet", {"BATCH_PER_REPLICA": "batch_size",
                                   "INITIAL_LEARNING_RATE": "learning_rate", "DECAY": "decay",
                                   "DROPOUT": "dropout"})],
}

# notebook -> (recipe, the variable holding the notebook's model of it, the names its construction needs)
MODELS = {
    "02": [("logistic regression", "model", ())],
    "04": [("dense 200-60, lr decay", "model", ())],
    "05": [("dense 200-100-60, dropout", "model", ())],
    "06": [("conv/pool pairs + dense", "model", ("conv_pool_pairs",))],
    "07": [("strided convnet", "model", ()), ("strided convnet + dropout", "model_dropout", ("fresh",))],
    "08": [("batch-norm convnet", "model", ())],
    "09": [("augmented deeper BN convnet", "model",
            ("AUGMENT_WITH", "build_model"))],
    "10": [("batch-norm convnet", "model", ())],
}


def setting(recipe, name):
    """A recipe's setting: one of its fields, or an argument of its model builder."""
    return getattr(recipe, name) if name in recipe.__dataclass_fields__ else recipe.model_args[name]


def test_every_recipe_is_checked_against_a_notebook():
    assert {name for uses in SETTINGS.values() for name, _ in uses} == set(RECIPES)
    assert {recipe.notebook for recipe in recipes.STAGES} <= set(SETTINGS)


@pytest.mark.parametrize("number", sorted(SETTINGS))
def test_notebook_parameters_follow_their_recipe(number):
    parameters = runner.parameter_values(runner.read(NOTEBOOKS[number]))
    for name, names in SETTINGS[number]:
        recipe = RECIPES[name]
        found = {parameter: parameters.get(parameter) for parameter in names}
        wanted = {parameter: setting(recipe, field) for parameter, field in names.items()}
        assert found == wanted, f"notebook {number}'s Parameters disagree with the recipe {name!r}"


def notebook_namespace(nb, wanted) -> dict:
    """Run, in order, only the statements of ``nb`` that define the names ``wanted`` (no training)."""
    namespace = {"keras": keras, "layers": keras.layers, "models": models, "np": np,
                 **runner.parameter_values(nb)}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(TransformerManager().transform_cell(cell.source))  # shell lines become Python
        statements = [node for top in tree.body for node in ([top] if not isinstance(top, ast.With) else top.body)]
        for node in statements:
            defines = ({node.name} if isinstance(node, ast.FunctionDef) else
                       {t.id for t in node.targets if isinstance(t, ast.Name)} if isinstance(node, ast.Assign)
                       else set())
            if defines & set(wanted):
                exec(compile(ast.Module([node], type_ignores=[]), "<notebook>", "exec"), namespace)
    return namespace


def layer_signature(model) -> list:
    """Each layer's type, settings (without its name) and weight count, nested models flattened."""
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.Sequential):
            rows += layer_signature(layer)
            continue
        config = {k: v for k, v in layer.get_config().items() if k not in ("name", "trainable", "dtype", "seed")}
        rows.append((type(layer).__name__, config, layer.count_params()))
    return rows


@pytest.mark.parametrize("number", sorted(MODELS))
def test_notebook_models_are_their_recipe(number):
    nb = runner.read(NOTEBOOKS[number])
    wanted = {variable for _, variable, _ in MODELS[number]} | {n for *_, needs in MODELS[number] for n in needs}
    namespace = notebook_namespace(nb, wanted)
    for name, variable, _ in MODELS[number]:
        recipe, model = RECIPES[name], namespace[variable]
        extra = {"dataset": namespace["DATASET"]} if recipe.per_dataset else {}
        expected = recipe.model(input_shape=model.input_shape[1:], **extra)
        assert model.count_params() == expected.count_params(), f"notebook {number}'s {variable} is not {name!r}"
        assert layer_signature(model) == layer_signature(expected), f"notebook {number}'s {variable} is not {name!r}"


def test_recipe_settings_reach_the_optimizer_and_schedule():
    for recipe in recipes.STAGES:
        optimizer = recipe.make_optimizer()
        assert type(optimizer).__name__.lower() == recipe.optimizer
        assert float(optimizer.learning_rate.numpy()) == pytest.approx(recipe.learning_rate)
        schedules = [c.schedule for c in recipe.callbacks()]
        assert len(schedules) == (recipe.decay is not None)
        if schedules:
            assert schedules[0](1) == pytest.approx(recipe.learning_rate * recipe.decay)


def test_final_recipe_is_the_last_stage_of_a_notebook():
    assert recipes.final_recipe("07").name == "strided convnet + dropout"
    with pytest.raises(ValueError, match="no stage comes from notebook '10'"):
        recipes.final_recipe("10")


def test_notebook_3_counts_the_weights_of_its_recipe():
    # notebook 3 picks its final network at run time; its recipe is the candidate whose weights it counts
    source = "\n".join(cell.source for cell in runner.read(NOTEBOOKS["03"]).cells)
    weights = RECIPES["dense 256-64, Adam"].model(input_shape=(784,)).count_params()
    assert f"weights == {weights:_}" in source
