"""Container images: a pure model, pure transforms, and one module per place an image lives."""
