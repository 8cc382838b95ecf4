"""Face detection: returns one record per face (box, score, landmarks)."""


def detect(image):
    # A real model would run here; the example only shows the contract's nested outputs.
    return {"faces": []}
