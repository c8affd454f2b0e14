"""The registry of models (one entry per architecture) that every model module registers in."""

from __future__ import annotations

from ...infra.registry import Entry, Registry

# Every model, by name: its factory ``(num_classes) -> nn.Module`` and metadata. ``dataset`` is the
# paper's data set for the model, ``unit_name`` what one partition unit is called, ``family`` picks
# the training recipe of a profile (:meth:`paperlib.method.profiles.Profile.recipe`), ``color`` and
# ``marker`` are the model's plot style. Register a new model beside its class::
#
#     @MODELS.register("tiny", label="TinyNet", dataset="cifar10", unit_name="block", family="tiny")
#     def tiny(num_classes: int) -> nn.Module: ...
MODELS: Registry = Registry("model", required=("dataset", "unit_name", "family"),
                            defaults={"color": None, "marker": "o"})
Architecture = Entry  # :func:`architecture` returns it: ``.name``, ``.obj`` (the factory), metadata
