"""The text section's config dataclasses by schema sub-section (workflow/schemas/text.schema.yaml).

``corpora.*`` is every entry of ``text.corpora``; its ``vocab`` and ``cooccur`` sub-sections
belong to the later stages. Source-location keys (``local_mirror``, ``gensim_data``, ``url``,
``sha256``) and ``cooccur.weightings`` have no field: the workflow resolves them into input files,
``--sha256`` and the rules' weighting wildcard.
"""

from pipeline.text.cooccur import CooccurConfig
from pipeline.text.corpus import CorpusConfig
from pipeline.text.vocab import VocabConfig

CONFIG_SECTIONS: dict[str, type] = {
    "corpora.*": CorpusConfig,
    "corpora.*.vocab": VocabConfig,
    "corpora.*.cooccur": CooccurConfig,
}
