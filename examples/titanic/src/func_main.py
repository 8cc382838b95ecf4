"""Titanic survival: the function Hydrosphere's python runtime calls for signature `infer`."""

import pickle

with open("/model/files/trained.model", "rb") as fh:
    MODEL = pickle.load(fh)


def infer(pclass, sex, age, fare):
    features = [[pclass, 1 if sex == "female" else 0, age, fare]]
    return {"survived": int(MODEL.predict(features)[0])}
