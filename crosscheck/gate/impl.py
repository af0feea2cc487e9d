"""The implementation under test: any importable module that follows the contract."""
import importlib

DEFAULT_IMPL = "reference.functional"


def load_impl(name: str):
    """Import the implementation under test: any module that follows the contract."""
    return importlib.import_module(name)
