"""Every exercise check says 'Not yet' to a wrong or missing answer and 'Correct' to a right one."""

import math

import keras
import pytest

from helpers import exercises


def freeze_nothing(model):
    pass


def freeze_all_but_last(model):
    for layer in model.layers[:-1]:
        layer.trainable = False


def unfreeze_last_wrongly(model, n):
    for layer in model.layers[-n:]:
        layer.trainable = True


def unfreeze_last(model, n):
    model.trainable = True
    for layer in model.layers[: len(model.layers) - n]:
        layer.trainable = False


def unfreeze_everything(model):
    model.trainable = True


def unfreeze_keep_bn(model):
    from helpers.models import unfreeze_keep_batchnorm_frozen

    unfreeze_keep_batchnorm_frozen(model)


MOVES = {(True, True): True, (True, False): False, (False, True): False, (False, False): False}
_inputs = keras.Input((4, 4, 3))
BASE = keras.Model(_inputs, keras.layers.Conv2D(8, 1)(_inputs))

CASES = [
    (exercises.check_frozen_batchnorm_counts, ((4, 2, 2),), ((4, 0, 4),)),
    (exercises.check_freeze_all_but_last, (freeze_nothing,), (freeze_all_but_last,)),
    (exercises.check_unfreeze_last, (unfreeze_last_wrongly,), (unfreeze_last,)),
    (exercises.check_nested_trainable_count, (6,), (0,)),
    (exercises.check_batchnorm_moves, ({**MOVES, (False, True): True},), (MOVES,)),
    (exercises.check_unfreeze_keep_bn, (unfreeze_everything,), (unfreeze_keep_bn,)),
    (exercises.check_head_params, (8, BASE), (9, BASE)),
    (exercises.check_accept_finetune, (lambda before, after: after > before,), (lambda b, a: a >= b,)),
    (exercises.check_pipeline_order, (["decode_resize", "shuffle", "batch", "augment", "cache", "prefetch"],),
     (["decode_resize", "cache", "shuffle", "batch", "augment", "prefetch"],)),
    (exercises.check_usable_count, (15,), (10,)),
    (exercises.check_break_even, (1, 10.0, 0.5, 3.0), (math.ceil(10 / 2.5), 10.0, 0.5, 3.0)),
]


@pytest.mark.parametrize("check, wrong, right", CASES, ids=[case[0].__name__ for case in CASES])
def test_check_answers_hint_then_confirmation(check, wrong, right, capsys):
    assert check(*((...,) + wrong[1:])) is False
    assert "replace the `...`" in capsys.readouterr().out
    assert check(*(([...],) + wrong[1:])) is False
    assert "replace the `...`" in capsys.readouterr().out
    assert check(*wrong) is False
    assert capsys.readouterr().out.startswith("Not yet: ")
    assert check(*right) is True
    assert capsys.readouterr().out.startswith("Correct: ")
