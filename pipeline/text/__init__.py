"""Text domain: corpus → token-id shards → vocabulary → co-occurrence counts.

Stages (one CLI verb and one Snakemake rule each):

- :mod:`pipeline.text.corpus`: read a source (MediaWiki XML, text8, plain, WikiExtractor, TSV),
  tokenise (:mod:`pipeline.text.tokenize`) and stream documents into N token-id shards.
- :mod:`pipeline.text.vocab`: the vocabulary cut (min_count, max_size), frequency order.
- :mod:`pipeline.text.cooccur`: windowed co-occurrence counts per shard, merged into one sparse table.
- :mod:`pipeline.text.stats`: corpus and co-occurrence statistics and the Zipf figure for the report.
"""
