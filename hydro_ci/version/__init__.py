"""Versioning: the next semantic version of a model, its tag set, and reserving it exactly once.

``policy`` reads the settings, ``bump`` and ``tags`` are pure math, ``sources`` lists released
versions (git tags, registry tags), ``contracts`` finds the contract of another version (folder,
file, git ref, image label), ``decision`` puts them together with the contract diff, and
``reserve`` makes sure no version is handed out twice.
"""
