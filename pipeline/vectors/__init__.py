"""Word vectors: simpler GloVe, GloVe and gensim baselines, and the evaluations of post 7.

Modules, one concept each:

- ``cooccurrence``: the co-occurrence table as tensors, PMI targets, weights, mini-batches.
- ``adagrad``: row-wise Adagrad, standard (accumulate, then step) or GloVe's "lagged" variant.
- ``simpler_glove``: the author's model (one table, no biases, PMI target).
- ``glove``: the GloVe baseline (two tables, two biases, log X target) and its ill-posedness.
- ``training``: the one loop both torch models share (devices, shuffling, NaN/Inf guard).
- ``cellwise``: the compiled CPU engine, one Adagrad update per cell as the C codes do (numba).
- ``strata``: the DSGD schedule that runs ``cellwise`` on several threads with the same result.
- ``gensim_models``: Word2Vec skip-gram / CBOW and FastText on the same token shards.
- ``keyed``: the exchange format, a frequency-sorted ``KeyedVectors`` with counts.
- ``evaluation``: analogy and similarity files, parsed strictly, scored the way gensim does.
- ``analysis``: norms against importance, stop-word norms, keywords, Pearson "similar words".
- ``sentiment``: sentence vectors (sums of word vectors) for sentiment classification.
- ``figures``: matplotlib figures for the report.
- ``io``: every file this domain reads or writes.
"""
