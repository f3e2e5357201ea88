# Text domain: corpus -> token-id shards -> vocabulary -> co-occurrence counts (see pipeline/text/).
