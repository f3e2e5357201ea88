"""Which dataclass each sub-section of the ``vectors`` config builds (the schema's defaults must
equal the dataclass defaults: tests/test_config_defaults.py). The top-level keys (corpus,
methods, seed, threads, word2vec_text) are the workflow's: they pick targets and arguments."""

from __future__ import annotations

from pipeline.vectors.analysis import ExamplesConfig, NormsConfig
from pipeline.vectors.evaluation import EvaluateConfig
from pipeline.vectors.gensim_models import GensimConfig
from pipeline.vectors.glove import GloveConfig, IllPosednessConfig
from pipeline.vectors.pmi import PmiAdditivityConfig
from pipeline.vectors.sentiment import SentimentConfig
from pipeline.vectors.simpler_glove import AdagradComparisonConfig, SimplerGloveConfig

CONFIG_SECTIONS: dict[str, type] = {
    "simpler_glove": SimplerGloveConfig,
    "glove": GloveConfig,
    "gensim": GensimConfig,
    "evaluate": EvaluateConfig,
    "norms": NormsConfig,
    "ill_posedness": IllPosednessConfig,
    "examples": ExamplesConfig,
    "pmi_additivity": PmiAdditivityConfig,
    "adagrad_comparison": AdagradComparisonConfig,
    "sentiment": SentimentConfig,
}
