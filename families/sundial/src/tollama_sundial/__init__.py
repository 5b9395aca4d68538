"""tollama family ``sundial``: Sundial (thuml) through the model code vendored in sktime."""
